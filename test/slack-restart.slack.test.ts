import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { SlackStandIn, type StoredMessage } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { isAlive, livePid } from '../src/lab/pids.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, blockText, buttonsOf, CHANNEL, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

const RESTART = 'remediate:restart_php_fpm';

/**
 * The Restart PHP-FPM button end to end: the lab host with the socket_permission scenario, a
 * real diagnosis, clicks signed like Slack's, and the restart really run over SSH (TERM to the
 * master through the lab's sudo rule, then the start command), exactly once.
 */
describe('restart_php_fpm from Slack: the socket_permission fix', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let standIn: SlackStandIn;
  let h: SlackHarness;
  let reply: StoredMessage;

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    standIn = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    h = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      connector: new SshConnector(),
      standIn,
      env: { MEDIC_APPROVERS: 'U0ALICE,U0BOB', MEDIC_DEDUP_WINDOW: '1ms', MEDIC_APPROVAL_TTL: '10m' },
    });
    await lab.applyScenario('socket_permission');
  });

  afterAll(async () => {
    await h?.stop();
    await standIn?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it('offers Restart PHP-FPM (and no reload) with a confirm dialog that says requests in flight are dropped', async () => {
    await h.command('diagnose web-01', 'U0ALICE');
    const root = await standIn.waitFor(() => roots(standIn)[0], 10_000, 'the report');
    reply = await standIn.waitFor(
      () => standIn.messages({ channel: CHANNEL, threadTs: root.ts }).find((m) => buttonsOf(m).some((b) => b.actionId === RESTART)),
      30_000,
      'the restart_php_fpm button',
    );
    expect(buttonsOf(reply).map((b) => b.actionId)).toEqual([RESTART]);
    const json = JSON.stringify(reply.blocks);
    expect(json).toContain('Restart PHP-FPM on web-01?');
    expect(json).toContain('requests in flight are dropped');
  });

  it('runs it exactly once for 10 concurrent approver clicks; the site recovers with a new master', async () => {
    await lab.repair('pool');
    const oldMaster = await livePid(lab.layout.fpmPidFile);
    if (oldMaster === undefined) throw new Error('php-fpm runs in socket_permission, with a pid file');
    const clicks = await Promise.all(Array.from({ length: 10 }, (_, i) => h.click(reply, RESTART, i % 2 === 0 ? 'U0ALICE' : 'U0BOB')));
    expect(clicks.map((c) => c.status)).toEqual(clicks.map(() => 200));
    const done = await standIn.waitFor(
      () => {
        const m = standIn.message(reply.channel, reply.ts);
        return m !== undefined && blockText(m).includes('Verification:') ? m : undefined;
      },
      60_000,
      'the remediation result in the message',
    );
    expect(blockText(done)).toContain('done, and the host recovered');
    expect(h.logs.audit('approval')).toHaveLength(1);
    expect(h.logs.audit('remediation')).toHaveLength(1);
    const commands = h.logs.audit('command').map((l) => String(l.msg));
    expect(commands.filter((c) => c.includes('kill -TERM'))).toHaveLength(1);
    expect(isAlive(oldMaster)).toBe(false);
    expect(await livePid(lab.layout.fpmPidFile)).not.toBe(oldMaster);
  });
});
