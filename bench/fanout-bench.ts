import { readFile } from 'node:fs/promises';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { BOT_TOKEN, blockText, roots, startSlackHarness } from '../test/helpers/slack.ts';
import type { Row } from './bench-table.ts';

export interface FanoutFigures {
  hosts: number;
  /** Slash command → the summary shows every host finished (ms); undefined if not within the deadline. */
  summaryMs?: number;
  /** Slash command → every host's own report shows its verdict (ms). */
  reportsMs?: number;
  calls: Record<string, number>;
  rateLimited: number;
}

/**
 * `/502 diagnose web` over `hosts` inventory hosts (all the lab's one real host under other
 * names, php-fpm down), the bot in this process talking to the stand-in, which enforces Slack's
 * rate limits at Slack's own pace. Counts the Web API calls by method and times when the last
 * verdict is visible: in the summary, and in every host's own report.
 */
export async function benchFanout(
  lab: Lab,
  options: { hosts?: number; deadlineMs?: number; rateLimits?: boolean } = {},
): Promise<FanoutFigures> {
  const n = options.hosts ?? 100;
  const deadline = options.deadlineMs ?? 600_000;
  const base = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
  const web01 = base.hosts['web-01'];
  if (web01 === undefined) throw new Error('the lab inventory has no web-01');
  const hosts: Inventory['hosts'] = {};
  for (let i = 1; i <= n; i++) hosts[`web-${String(i).padStart(3, '0')}`] = web01;
  const inventory: Inventory = { hosts, groups: { web: ['web-*'] } };
  const cleanup: (() => Promise<unknown>)[] = [];
  const previous = lab.current;
  try {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const standIn = await new SlackStandIn({
      botToken: BOT_TOKEN,
      ...(options.rateLimits === false ? { rateLimits: false as const } : {}),
    }).start();
    cleanup.push(() => standIn.stop());
    const h = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      connector: new SshConnector(),
      standIn,
    });
    cleanup.push(() => h.stop());
    await lab.applyScenario('php_fpm_down');
    const before = standIn.calls.length;
    const t0 = performance.now();
    await h.command('diagnose web');
    const figures: FanoutFigures = { hosts: n, calls: {}, rateLimited: 0 };
    const verdict = /^web-\d{3}: .*\(php_fpm_down\)$/;
    try {
      const summary = await standIn.waitFor(
        () => roots(standIn).find((m) => blockText(m).includes(`502 diagnosis: web (${n} hosts)`)),
        deadline,
        'the summary',
      );
      await standIn.waitFor(() => blockText(summary).includes(`${n}/${n} finished`) || undefined, deadline, 'every verdict in the summary');
      figures.summaryMs = performance.now() - t0;
      await standIn.waitFor(
        () => standIn.messages().filter((m) => verdict.test(m.text)).length >= n || undefined,
        deadline,
        "every host's report with its verdict",
      );
      figures.reportsMs = performance.now() - t0;
      // The last findings may still be on their way: count once Slack has been quiet for 3 s.
      for (let seen = -1; seen !== standIn.calls.length && performance.now() - t0 < deadline;) {
        seen = standIn.calls.length;
        await new Promise((r) => setTimeout(r, 3000));
      }
    } catch (e) {
      console.log(`fan-out bench: ${(e as Error).message.slice(0, 200)}`);
    }
    for (const c of standIn.calls.slice(before)) if (c.method.includes('.')) figures.calls[c.method] = (figures.calls[c.method] ?? 0) + 1;
    figures.rateLimited = standIn.rateLimited;
    return figures;
  } finally {
    await lab.applyScenario(previous).catch(() => undefined);
    for (const stop of cleanup.reverse()) await stop().catch(() => undefined);
  }
}

const secs = (ms: number | undefined): string => (ms === undefined ? 'not within the deadline' : `${(ms / 1000).toFixed(1)} s`);

export async function benchFanoutRows(lab: Lab): Promise<Row[]> {
  const f = await benchFanout(lab);
  const total = Object.values(f.calls).reduce((a, b) => a + b, 0);
  const byMethod = Object.entries(f.calls)
    .sort((a, b) => b[1] - a[1])
    .map(([m, c]) => `${c} ${m}`)
    .join(', ');
  return [
    {
      measure: `/502 diagnose web over ${f.hosts} hosts, Slack's limits enforced: Web API calls`,
      medic: `${total} (${byMethod}); ${f.rateLimited} x 429`,
      baseline: '10,481 before the budget (9,978 chat.getPermalink)',
      ratio: `${(total / f.hosts).toFixed(1)} per host`,
      target: `O(hosts): ${total <= 4 * f.hosts ? 'met' : 'MISSED'}`,
    },
    {
      measure: '  the same: slash command → last verdict visible in the summary',
      medic: secs(f.summaryMs),
      baseline: '',
      ratio: '',
      target: '',
    },
    {
      measure: "  the same: slash command → every host's own report (in the summary's thread) shows its verdict",
      medic: secs(f.reportsMs),
      baseline: 'about 1 message per second per channel',
      ratio: '',
      target: '',
    },
  ];
}
