import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import type { Playbook } from '../src/core/playbook/playbook-schema.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import type { StoredMessage } from '../src/dev/slack-stand-in.ts';
import { blockText, buttonsOf, CHANNEL, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

/**
 * `/502 diagnose` end to end: a signed slash command to the real Bolt app, a real BullMQ worker,
 * the real diagnosis over SSH of the lab's real nginx/php-fpm, the report posted to the Slack
 * stand-in (which refuses anything Slack would refuse).
 */
describe('/502 diagnose posts a threaded report of a real host', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let inventory: Inventory;
  let playbooks: Map<string, Playbook>;
  let h: SlackHarness;

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    const base = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    const web01 = base.hosts['web-01'];
    if (web01 === undefined) throw new Error('the lab inventory has no web-01');
    // The same lab host under a second name, so that a group fans out over two hosts.
    inventory = { hosts: { 'web-01': web01, 'web-02': web01 }, groups: { web: ['web-*'] } };
    playbooks = await loadPlaybooks();
    h = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks, connector: new SshConnector() });
    await lab.applyScenario('php_fpm_down');
  });

  afterAll(async () => {
    await h?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it('acks at once, posts the verdict on a root message and one thread reply per finding', async () => {
    const ack = await h.command('diagnose web-01');
    expect(ack.status).toBe(200);
    expect(ack.ackMs).toBeLessThan(3000);

    const root = await h.standIn.waitFor(
      () => roots(h.standIn).find((m) => blockText(m).includes('PHP-FPM is down')),
      20_000,
      'the verdict on the root message',
    );
    expect(root.updates).toBeGreaterThanOrEqual(1);
    const text = blockText(root);
    expect(text).toContain('`php_fpm_down`');
    expect(text).toContain('<@U0ALICE>');

    const replies = await h.standIn.waitFor(() => {
      const r = h.standIn.messages({ channel: CHANNEL, threadTs: root.ts });
      return r.length > 0 ? r : undefined;
    }, 10_000);
    const first = replies[0];
    if (first === undefined) throw new Error('no reply');
    expect(blockText(first)).toContain('php_fpm_down');
    expect(blockText(first)).toContain('```');
    expect(buttonsOf(first).map((b) => b.actionId)).toContain('remediate:start_php_fpm');

    // Every call the bot made was accepted by the stand-in's Slack rules.
    const rejected = h.standIn.calls.filter((c) => c.response.ok !== true);
    expect(rejected).toEqual([]);
    expect(h.standIn.calls.filter((c) => c.args.link_names !== undefined)).toEqual([]);

    // The requester was told, ephemerally, through response_url.
    expect(h.standIn.responseUrlPosts).toContainEqual(
      expect.objectContaining({ id: ack.responseUrlId, body: expect.objectContaining({ text: expect.stringContaining('web-01') }) }),
    );
  });
  it('fans a group out: one summary grouped by verdict, each report in its thread', async () => {
    const before = roots(h.standIn).length;
    await h.command('diagnose web');
    const summary = await h.standIn.waitFor(
      () =>
        roots(h.standIn)
          .slice(before)
          .find((m) => blockText(m).includes('502 diagnosis: web (2 hosts)')),
      10_000,
      'the summary',
    );
    await h.standIn.waitFor(
      () => (blockText(summary).includes('2/2 finished') ? summary : undefined),
      30_000,
      'both verdicts in the summary',
    );
    const text = blockText(summary);
    expect(text).toContain('2/2 finished:* 2 × `php_fpm_down`');
    // web-01 was diagnosed moments ago by the first test: that diagnosis is shared, not run again,
    // and linked, built from the workspace URL (no chat.getPermalink).
    const web01 = roots(h.standIn)
      .slice(0, before)
      .filter((m) => blockText(m).includes('web-01: PHP-FPM is down'))
      .at(-1);
    const link = `${h.standIn.apiUrl.replace(/\/api\/$/, '')}/archives/${CHANNEL}/p${web01?.ts.replace('.', '')}`;
    expect(text).toContain(`<${link}|web-01> _(shared)_, web-02`);
    expect(h.standIn.callsOf('chat.getPermalink')).toEqual([]);
    // No root message per host: web-02's report is in the summary's thread, root then findings.
    expect(roots(h.standIn).slice(before)).toEqual([summary]);
    // The summary can show the verdict before the host's job has started posting its report.
    const thread = await h.standIn.waitFor(
      () => {
        const t = h.standIn.messages({ channel: CHANNEL, threadTs: summary.ts });
        return t.some((m) => m.text.startsWith('web-02 finding')) ? t : undefined;
      },
      30_000,
      "web-02's report in the summary's thread",
    );
    expect(blockText(thread[0] ?? { text: '', blocks: [] })).toContain('web-02: PHP-FPM is down');
    expect(thread.length).toBeGreaterThanOrEqual(2);
    expect(thread.slice(1).filter((m) => !m.text.startsWith('web-02 finding'))).toEqual([]);
    expect(buttonsOf(thread[1] as StoredMessage).map((b) => b.actionId)).toContain('remediate:start_php_fpm');
    expect(h.standIn.calls.filter((c) => c.response.ok !== true)).toEqual([]);
  });
});
