import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import type { Lab } from '../src/lab/lab.ts';
import { freePort } from '../src/lab/free-port.ts';
import { SHOP_NAME } from '../src/lab/scenarios.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { medic } from './helpers/run-cli.ts';
import { blockText, CHANNEL, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

/**
 * The public URL that failed, end to end: `medic diagnose --url` and `/502 diagnose <host> <url>`
 * against the lab's real nginx, the URL asked of the host's own nginx by its name (curl
 * --resolve to loopback: the names are .test names no DNS knows), and hostile URLs refused
 * before anything runs.
 */
describe('the public URL behind a CDN, probed on the origin', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let h: SlackHarness;
  let scratch: string;
  let unreachableInventory: string;

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    h = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks: await loadPlaybooks(), connector: new SshConnector() });
    await lab.applyScenario('vhost_tls_upstream_down');
    // The lab's inventory with web-01 on a port where nothing listens: a command that connected would exit 3.
    scratch = await mkdtemp(join(tmpdir(), 'medic-url-'));
    unreachableInventory = join(scratch, 'inventory.yaml');
    const text = await readFile(lab.inventoryPath, 'utf8');
    await writeFile(unreachableInventory, text.replace(/^(\s+port:\s*)\d+/m, `$1${await freePort()}`));
  });

  afterAll(async () => {
    await h?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  const shopUrl = (): string => `https://${SHOP_NAME}:${lab.snapshot.shop?.tlsPort ?? 0}/checkout`;

  it('CLI --url: the origin answers 502 itself for the shop URL; the verdict says so; the JSON keeps its fields', async () => {
    const r = await medic(['diagnose', 'web-01', '--inventory', lab.inventoryPath, '--url', shopUrl(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as {
      host: string;
      verdict: { cause: string; title: string };
      findings: { cause: string; severity: string; title: string; evidence: string[]; remediations: string[]; explanation: string }[];
      durationMs: number;
      checks: { id: string; status: string }[];
      facts: { nginx: { publicUrl?: string } };
    };
    expect(Object.keys(d)).toEqual(expect.arrayContaining(['host', 'verdict', 'findings', 'durationMs']));
    expect(d.verdict.cause).toBe('proxy_upstream_down');
    expect(d.checks).toContainEqual({
      id: `origin_probe ${shopUrl()}`,
      status: 'ok',
      durationMs: expect.any(Number) as unknown,
      truncated: false,
    });
    expect(d.facts.nginx.publicUrl).toBe(shopUrl());
    const verdict = d.findings[0];
    expect(verdict?.explanation).toMatch(
      new RegExp(`^The origin itself answers 502 for ${shopUrl().replace(/[.?]/g, '\\$&')} \\(asked on this host by that name\\)`),
    );
    expect(verdict?.evidence.join('\n')).toMatch(/\(on this host\) http_code=502 /);
    expect(d.findings.map((f) => f.cause)).not.toContain('cdn_to_origin');
  });

  it('CLI --url: web-01 answers 200 on the origin, so the 52x is in front of it (cdn_to_origin, Cloudflare codes in the text)', async () => {
    const r = await medic([
      'diagnose',
      'web-01',
      '--inventory',
      lab.inventoryPath,
      '--url',
      `http://web-01:${lab.nginxPort}/`,
      '--no-color',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[warning\] cdn_to_origin: The origin answers 200 for http:\/\/web-01:\d+\/ on this host/);
    expect(r.stdout).toContain('526 certificate invalid under Full (strict)');
  });

  it.each([
    ['shell syntax', 'https://shop.example/$(touch /tmp/medic-pwned)'],
    ['a newline', 'https://shop.example/\nid'],
    ['user info', 'https://admin:secret@shop.example/'],
    ['another scheme', 'file:///etc/shadow'],
    ['an address', 'https://127.0.0.1/'],
    ['a huge URL', `https://shop.example/${'a'.repeat(5000)}`],
  ])('CLI --url with %s: usage error (exit 2) with the reason, before any connection', async (_, url) => {
    const r = await medic(['diagnose', 'web-01', '--inventory', unreachableInventory, '--url', url, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--url ".*" is refused: it .*Nothing was run\./s);
    expect(r.stdout).toBe('');
  });

  it("/502 diagnose web-01 <url>: the report in Slack says the 502 is the origin's own", async () => {
    const before = roots(h.standIn).length;
    const ack = await h.command(`diagnose web-01 ${shopUrl()}`);
    expect(ack.status).toBe(200);
    const root = await h.standIn.waitFor(
      () =>
        roots(h.standIn)
          .slice(before)
          .find((m) => blockText(m).includes('proxy_upstream_down')),
      30_000,
      'the verdict on the root message',
    );
    const replies = await h.standIn.waitFor(
      () => {
        const r = h.standIn.messages({ channel: CHANNEL, threadTs: root.ts });
        return r.some((m) => blockText(m).includes('The origin itself answers 502')) ? r : undefined;
      },
      20_000,
      'the finding that reads the origin',
    );
    expect(replies.map(blockText).join('\n')).toContain(`${SHOP_NAME}`);
    expect(h.standIn.calls.filter((c) => c.response.ok !== true)).toEqual([]);
  });

  it('/502 diagnose web-01 <hostile url>: refused in the ack, nothing queued or posted', async () => {
    const before = roots(h.standIn).length;
    const ack = await h.command('diagnose web-01 https://shop.example/`reboot`');
    expect(ack.status).toBe(200);
    expect(JSON.stringify(ack.body)).toContain('is refused as the URL to probe');
    expect(JSON.stringify(ack.body)).toContain('Nothing was run.');
    expect(roots(h.standIn).length).toBe(before);
  });
});
