import { readFile } from 'node:fs/promises';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import type { Playbook } from '../src/core/playbook/playbook-schema.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, CHANNEL, blockText, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

/**
 * A fan-out at fleet scale under Slack's rate limits, enforced by the stand-in (method tiers,
 * one message per second per channel, 429 + Retry-After). Every host is the lab's one real host
 * (nginx, php-fpm, sshd on loopback) under another name. The limits run 5x faster on both
 * sides, so the test takes seconds where Slack would take minutes; `npm run bench` runs them at
 * Slack's own pace.
 */
const SPEEDUP = 5;

const countBy = (xs: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

describe('a fan-out under Slack rate limits', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let playbooks: Map<string, Playbook>;
  let web01: Inventory['hosts'][string];
  const fleet = (n: number): Inventory => {
    const hosts: Inventory['hosts'] = {};
    for (let i = 1; i <= n; i++) hosts[`web-${String(i).padStart(3, '0')}`] = web01;
    return { hosts, groups: { web: ['web-*'] } };
  };

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    const base = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    if (base.hosts['web-01'] === undefined) throw new Error('the lab inventory has no web-01');
    web01 = base.hosts['web-01'];
    playbooks = await loadPlaybooks();
    await lab.applyScenario('php_fpm_down');
  });

  afterAll(async () => {
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it(
    '100 hosts: every verdict arrives, in one summary and 100 reports in its thread, with O(hosts) calls',
    { timeout: 300_000 },
    async () => {
      const standIn = await new SlackStandIn({ botToken: BOT_TOKEN, rateLimits: { speedup: SPEEDUP } }).start();
      let h: SlackHarness | undefined;
      try {
        h = await startSlackHarness({
          redisUrl: redis.url,
          inventory: fleet(100),
          playbooks,
          connector: new SshConnector(),
          standIn,
          slackBudget: { speedup: SPEEDUP },
          env: { MEDIC_WORKER_CONCURRENCY: '8' },
        });
        const harness = h;
        await harness.command('diagnose web');
        const summary = await standIn.waitFor(
          () => roots(standIn).find((m) => blockText(m).includes('502 diagnosis: web (100 hosts)')),
          30_000,
          'the summary',
        );
        await standIn.waitFor(
          () => (blockText(summary).includes('100/100 finished') ? summary : undefined),
          240_000,
          'all 100 verdicts in the summary',
        );
        expect(blockText(summary)).toContain('100/100 finished:* 100 × `php_fpm_down`');
        // The summary can show a verdict before that host's job starts posting its report; once
        // every report has its root, what follows is in the reporter's hands (idle()).
        const hostRoots = (n: number) =>
          standIn
            .messages({ channel: CHANNEL, threadTs: summary.ts })
            .filter((m) => /^web-\d{3}: /.test(m.text) && !m.text.includes(' finding ')).length >= n || undefined;
        await standIn.waitFor(() => hostRoots(100), 240_000, "every host's report in the thread");
        await harness.app.reporter.idle();
        await harness.app.slackBudget.idle();

        // One message in the channel; each host's report (root, then its findings) in the summary's thread.
        expect(roots(standIn)).toEqual([summary]);
        const thread = standIn.messages({ channel: CHANNEL, threadTs: summary.ts });
        const reportRoots = thread.filter((m) => /^web-\d{3}: /.test(m.text) && !m.text.includes(' finding '));
        expect(reportRoots.map((m) => m.text.slice(0, 7)).sort()).toEqual(Object.keys(fleet(100).hosts));
        expect(reportRoots.map(blockText).filter((t) => !t.includes('PHP-FPM is down'))).toEqual([]);
        const findings = thread.length - reportRoots.length;
        expect(findings).toBeGreaterThanOrEqual(100);

        // Calls by method: O(hosts), no permalink lookups, and nothing refused or rate-limited.
        const calls = countBy(standIn.calls.map((c) => c.method));
        console.log(`100-host fan-out, Slack calls by method: ${JSON.stringify(calls)}; 429s: ${standIn.rateLimited}`);
        expect(calls['chat.postMessage']).toBe(
          1 + 100 + findings + standIn.callsOf('chat.postMessage').filter((c) => c.response.error === 'ratelimited').length,
        );
        expect(calls['chat.getPermalink']).toBeUndefined();
        expect(calls['chat.update']).toBeLessThanOrEqual(101 + standIn.rateLimited);
        expect(calls['auth.test']).toBeLessThanOrEqual(2);
        // The budget keeps its bursts under Slack's, so a 429 needs calls that were paced apart to
        // reach Slack bunched (an event loop stalled 400 ms on a loaded machine, at 5x speed): a
        // few may happen, and are waited out; every other call was accepted.
        expect(standIn.rateLimited).toBeLessThanOrEqual(5);
        expect(standIn.calls.filter((c) => c.method.includes('.') && c.response.ok !== true && c.response.error !== 'ratelimited')).toEqual(
          [],
        );
        expect(standIn.calls.length - standIn.rateLimited).toBeLessThanOrEqual(4 * 100);
      } finally {
        await h?.stop();
        await standIn.stop();
      }
    },
  );

  it(
    'a 429 with Retry-After is waited out and sent again, never a failure, when Slack is stricter than the budget assumes',
    { timeout: 180_000 },
    async () => {
      // Slack at half its pace; the bot believes it may go twice as fast, and another app has just
      // used the channel's burst: Slack answers 429s, whatever the machine's speed.
      const standIn = await new SlackStandIn({ botToken: BOT_TOKEN, rateLimits: { speedup: 0.5 } }).start();
      let h: SlackHarness | undefined;
      try {
        h = await startSlackHarness({
          redisUrl: redis.url,
          inventory: fleet(4),
          playbooks,
          connector: new SshConnector(),
          standIn,
          slackBudget: { speedup: 2 },
        });
        const harness = h;
        const other = new WebClient(BOT_TOKEN, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
        for (let i = 0; i < 5; i++) await other.chat.postMessage({ channel: CHANNEL, text: `other ${i}` });
        await harness.command('diagnose web');
        const summary = await standIn.waitFor(
          () => roots(standIn).find((m) => blockText(m).includes('502 diagnosis: web (4 hosts)')),
          60_000,
          'the summary',
        );
        await standIn.waitFor(() => (blockText(summary).includes('4/4 finished') ? summary : undefined), 120_000, 'all 4 verdicts');
        await standIn.waitFor(
          () =>
            standIn
              .messages({ channel: CHANNEL, threadTs: summary.ts })
              .filter((m) => /^web-\d{3}: /.test(m.text) && !m.text.includes(' finding ')).length >= 4 || undefined,
          120_000,
          "every host's report in the thread",
        );
        await harness.app.reporter.idle();
        await harness.app.slackBudget.idle();
        expect(standIn.rateLimited).toBeGreaterThan(0);
        expect(harness.app.slackBudget.stats.rateLimited).toBe(standIn.rateLimited);
        // Every report arrived once: each host's root once in the thread, no duplicate finding.
        const thread = standIn.messages({ channel: CHANNEL, threadTs: summary.ts });
        const texts = thread.map((m) => m.text);
        expect(new Set(texts).size).toBe(texts.length);
        expect(texts.filter((t) => /^web-\d{3}: /.test(t) && !t.includes(' finding '))).toHaveLength(4);
        expect(texts.filter((t) => t.includes(' finding ')).length).toBeGreaterThanOrEqual(4);
        // Not one call failed for good: no warning about a report or summary left behind.
        expect(harness.logs.lines.filter((l) => (l.level as number) >= 40 && /could not|left unposted/.test(String(l.msg)))).toEqual([]);
        expect(harness.logs.lines).toContainEqual(expect.objectContaining({ msg: 'Slack rate limit: waiting as Slack asks' }));
      } finally {
        await h?.stop();
        await standIn.stop();
      }
    },
  );
});
