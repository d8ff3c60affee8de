import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { validateBlocks } from '../src/dev/block-kit-rules.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { blockText, CHANNEL, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

/** Raw `<…>` tokens in what was posted, other than the ones the bot writes itself. */
function foreignTokens(value: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(...(v.match(/<[^>]*>/g) ?? []));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
  };
  walk(value);
  return out.filter((t) => !/^<@U0ALICE>$|^<!date\^\d+\^[^|]*\|[^>]*>$/.test(t));
}

/**
 * A host whose logs carry `<!channel>`, a Slack link, a user mention, backtick fences and a
 * megabyte of text: the report is posted (every call accepted by the stand-in's Slack rules),
 * within Block Kit limits, and nothing in it pings, mentions or links.
 */
describe('hostile host output', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let h: SlackHarness;

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    h = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks: await loadPlaybooks(), connector: new SshConnector() });
  });

  afterAll(async () => {
    await h?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it('is posted escaped and within limits', async () => {
    // A scenario whose evidence quotes nginx's error log, where a client controls the request line.
    const outcome = await lab.applyScenario('socket_permission');
    const real = outcome.lines[0] as string;
    expect(real).toContain('request: "');
    // The very line nginx wrote, with what a client controls (the request line) made hostile.
    const hostile = (request: string) => real.replace(/request: "[^"]*"/, `request: "${request}"`);
    const lines = [
      hostile('GET /<!channel> HTTP/1.1'),
      hostile('GET /<http://evil.example/phish|Click to fix the outage> HTTP/1.1'),
      hostile('GET /<@U0123ABCD> <!here> @everyone ``` HTTP/1.1'),
      // 1 MB (10^6 bytes): just under the SSH output cap of 1 MiB, so the check reads it all.
      hostile(`GET /${'A'.repeat(1_000_000)} HTTP/1.1`),
    ];
    // Only these lines: the evidence shows the newest few, and they must be among them.
    await writeFile(lab.logPath('nginxError'), `${lines.join('\n')}\n`);

    await h.command('diagnose web-01');
    const root = await h.standIn
      .waitFor(() => roots(h.standIn).find((m) => blockText(m).includes('Socket permission denied')), 30_000, 'the verdict')
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\n${roots(h.standIn).map(blockText).join('\n---\n')}`);
      });
    const replies = await h.standIn
      .waitFor(
        () => {
          const r = h.standIn.messages({ channel: CHANNEL, threadTs: root.ts });
          return r.length > 0 && r.some((m) => blockText(m).includes('channel&gt;')) ? r : undefined;
        },
        10_000,
        'the evidence',
      )
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\n${h.standIn.messages({ channel: CHANNEL, threadTs: root.ts }).map(blockText).join('\n---\n')}`);
      });

    // Every call was accepted: nothing over a limit, nothing Slack would call invalid_blocks.
    expect(h.standIn.calls.filter((c) => c.response.ok !== true)).toEqual([]);
    for (const m of [root, ...replies]) {
      expect(validateBlocks(m.blocks)).toEqual([]);
      expect(JSON.stringify(m.blocks).length).toBeLessThan(60_000);
      expect(foreignTokens(m)).toEqual([]);
    }
    const text = replies.map(blockText).join('\n');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&lt;http://evil.example/phish|Click to fix the outage&gt;');
    expect(text).toContain('&lt;@U0123ABCD&gt;');
    expect(text).toContain('@\u2060everyone');
    expect(text).not.toContain('<!channel>');
    // The megabyte line is shown as a marked excerpt, not dropped silently and not in full.
    expect(text).toMatch(/A{500}/);
    expect(text).not.toMatch(/A{20000}/);
    expect(h.standIn.calls.filter((c) => c.args.link_names !== undefined || c.args.parse !== undefined)).toEqual([]);
  });
});
