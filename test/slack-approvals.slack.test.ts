import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { livePid } from '../src/lab/pids.ts';
import { SlackStandIn, type StoredMessage } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, blockText, buttonsOf, CHANNEL, eventually, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

const START = 'remediate:start_php_fpm';

/**
 * Approval buttons end to end: the real lab host with php-fpm stopped, a real diagnosis, real
 * clicks signed like Slack's, and the remediation really run over SSH. Approvers: U0ALICE by id,
 * the members of user group S0ONCALL (U0BOB, U0CAROL) through usergroups.users.list. Two-person
 * rule on. Each test breaks php-fpm and diagnoses web-01 itself, and counts only what it adds:
 * they pass alone and in any order.
 */
// Real diagnoses and remediations over SSH: generous bounds for a machine under load.
describe('remediation approvals', { timeout: 300_000 }, () => {
  let redis: RedisHandle;
  let lab: Lab;
  let standIn: SlackStandIn;
  let h: SlackHarness;
  let clock = 0;
  let inventory: Inventory;
  const botEnv = {
    MEDIC_APPROVERS: 'U0ALICE,S0ONCALL',
    MEDIC_TWO_PERSON_RULE: 'true',
    MEDIC_DEDUP_WINDOW: '1ms',
    MEDIC_APPROVAL_TTL: '10m',
  };

  /** The thread reply of the latest report that carries the start_php_fpm button. */
  async function diagnoseAndFindButton(user = 'U0ALICE'): Promise<StoredMessage> {
    const before = roots(standIn).length;
    await h.command('diagnose web-01', user);
    const root = await standIn.waitFor(() => roots(standIn)[before], 60_000, 'a new report');
    return standIn.waitFor(
      () => standIn.messages({ channel: CHANNEL, threadTs: root.ts }).find((m) => buttonsOf(m).some((b) => b.actionId === START)),
      120_000,
      'the start_php_fpm button',
    );
  }

  /** php-fpm stopped on web-01 (whatever an earlier test left), then a report of it requested by `user`. */
  async function brokenAndDiagnosed(user = 'U0ALICE'): Promise<StoredMessage> {
    await lab.applyScenario('php_fpm_down');
    return diagnoseAndFindButton(user);
  }

  /** The remediation's result, once it is on the message. */
  const remediated = (report: StoredMessage): Promise<StoredMessage> =>
    standIn.waitFor(
      () => {
        const m = standIn.message(report.channel, report.ts);
        return m !== undefined && blockText(m).includes('Verification:') ? m : undefined;
      },
      120_000,
      'the remediation result in the message',
    );

  const remediations = () => h.app.queues.remediate.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');

  /** The ephemeral answer Slack would show the clicker. */
  const answerTo = (responseUrlId: string | undefined) =>
    standIn
      .waitFor(() => standIn.responseUrlPosts.find((p) => p.id === responseUrlId), 5000, 'the ephemeral answer')
      .then((p) => String(p.body.text));

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    standIn = await new SlackStandIn({ botToken: BOT_TOKEN, userGroups: { S0ONCALL: ['U0BOB', 'U0CAROL'] } }).start();
    inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    h = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      connector: new SshConnector(),
      standIn,
      env: botEnv,
      now: () => new Date(Date.now() + clock),
    });
  });

  afterAll(async () => {
    await h?.stop();
    await standIn?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it('refuses, explains and audits a click by someone who is not an approver', async () => {
    const report = await brokenAndDiagnosed('U0ALICE');
    const before = await remediations();
    const click = await h.click(report, START, 'U0MALLORY');
    expect(click.status).toBe(200);
    const text = await answerTo(click.responseUrlId);
    expect(text).toContain('not allowed to approve');
    expect(text).toContain('<@U0ALICE>');
    expect(text).toContain('S0ONCALL');
    // Audited twice over: a pino line and the host's Redis stream.
    expect(h.logs.audit('refused')).toContainEqual(
      expect.objectContaining({ actor: 'U0MALLORY', msg: expect.stringContaining('not_approver') }),
    );
    const history = await h.app.redis.xrevrange(`${h.prefix}:audit:web-01`, '+', '-', 'COUNT', 50);
    expect(history.map(([, f]) => f.join(' '))).toContainEqual(expect.stringMatching(/U0MALLORY.*not_approver|not_approver.*U0MALLORY/));
    // The answer came after the click was decided: nothing was queued.
    expect(await remediations()).toEqual(before);
    expect(buttonsOf(standIn.message(report.channel, report.ts) as StoredMessage)).not.toEqual([]);
  });

  it('enforces the two-person rule: the requester cannot approve their own diagnosis', async () => {
    const report = await brokenAndDiagnosed('U0ALICE');
    const before = await remediations();
    const click = await h.click(report, START, 'U0ALICE');
    expect(await answerTo(click.responseUrlId)).toContain('Two-person rule');
    expect(await remediations()).toEqual(before);
    expect(buttonsOf(standIn.message(report.channel, report.ts) as StoredMessage)).not.toEqual([]);
  });

  it('runs exactly one remediation for 20 concurrent clicks by two approvers and a non-approver, through two bot processes, and updates the message in place', async () => {
    const report = await brokenAndDiagnosed('U0ALICE');
    const fpmLog = async (): Promise<number> =>
      ((await readFile(lab.logPath('fpmLog'), 'utf8')).match(/NOTICE: fpm is running, pid/g) ?? []).length;
    const startsBefore = await fpmLog();
    const before = await remediations();
    const approvals0 = h.logs.audit('approval').length;
    const remediations0 = h.logs.audit('remediation').length;
    const commands0 = h.logs.audit('command').length;
    // A second bot on the same Redis, as behind a load balancer: clicks land on either.
    const other = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      role: 'bot',
      standIn,
      prefix: h.prefix,
      env: botEnv,
    });
    try {
      const clickers = Array.from({ length: 20 }, (_, i) => (i % 7 === 3 ? 'U0MALLORY' : i % 2 === 0 ? 'U0BOB' : 'U0CAROL'));
      const clicks = await Promise.all(clickers.map((u, i) => (i % 2 === 0 ? h : other).click(report, START, u)));
      expect(clicks.map((c) => c.status)).toEqual(Array(20).fill(200));
      const answers = await Promise.all(clicks.map((c) => answerTo(c.responseUrlId)));
      const refused = clickers.filter((u) => u === 'U0MALLORY').length;
      expect(answers.filter((a) => a.includes('not allowed to approve'))).toHaveLength(refused);
      expect(answers.filter((a) => a.includes('Already approved by'))).toHaveLength(20 - refused - 1);
      expect(answers.filter((a) => a.includes('Approved: `start_php_fpm`'))).toHaveLength(1);
      expect([...h.logs.audit('approval').slice(approvals0), ...other.logs.audit('approval')]).toHaveLength(1);
    } finally {
      await other.stop();
    }

    const done = await remediated(report);
    const text = blockText(done);
    expect(text).toMatch(/approved by <@U0(BOB|CAROL)>/);
    expect(text).toContain('done, and the host recovered');
    expect(buttonsOf(done)).toEqual([]);
    await eventually(async () => (await remediations()).completed === (before.completed ?? 0) + 1, 10_000, 'the job completed');
    expect(await remediations()).toEqual({ ...before, completed: (before.completed ?? 0) + 1 });
    // The commands ran and are audited; the thread says how it went.
    expect(h.logs.audit('command').length - commands0).toBeGreaterThanOrEqual(1);
    expect(h.logs.audit('remediation').slice(remediations0)).toHaveLength(1);
    expect(standIn.messages({ channel: CHANNEL, threadTs: report.threadTs as string }).map(blockText)).toContainEqual(
      expect.stringContaining('`start_php_fpm` approved by'),
    );
    expect(standIn.calls.filter((c) => c.response.ok !== true)).toEqual([]);
    // Counted on the host itself: php-fpm was started once, and one master runs.
    expect((await fpmLog()) - startsBefore).toBe(1);
    expect(await livePid(lab.layout.fpmPidFile)).toBeDefined();
  });

  it('refuses a click on a button already used (from a client still showing it)', async () => {
    const report = await brokenAndDiagnosed('U0ALICE');
    const seen = structuredClone(report);
    const approve = await h.click(report, START, 'U0CAROL');
    expect(await answerTo(approve.responseUrlId)).toContain('Approved: `start_php_fpm`');
    await remediated(report);
    const before = await remediations();
    const again = await h.click(report, START, 'U0BOB', seen);
    expect(await answerTo(again.responseUrlId)).toContain('Already approved');
    expect(await remediations()).toEqual(before);
  });

  it('refuses a stale button: the host was diagnosed again since', async () => {
    const older = await brokenAndDiagnosed('U0ALICE');
    await diagnoseAndFindButton('U0ALICE');
    const before = await remediations();
    const click = await h.click(older, START, 'U0BOB');
    expect(await answerTo(click.responseUrlId)).toContain('no longer current');
    expect(h.logs.audit('refused')).toContainEqual(expect.objectContaining({ msg: expect.stringContaining('stale') }));
    expect(await remediations()).toEqual(before);
  });

  it('refuses an expired button', async () => {
    const latest = await brokenAndDiagnosed('U0ALICE');
    const before = await remediations();
    clock = 11 * 60 * 1000;
    try {
      const click = await h.click(latest, START, 'U0BOB');
      expect(await answerTo(click.responseUrlId)).toContain('expired');
    } finally {
      clock = 0;
    }
    // The answer is sent once the click is decided: nothing was queued.
    expect(await remediations()).toEqual(before);
  });
});
