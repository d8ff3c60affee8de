import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../src/dev/slack-signing.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, CHANNEL, SIGNING_SECRET, eventually, loopbackEnv } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

const MEDIC = new URL('../bin/medic.js', import.meta.url).pathname;

/** One request on a connection of its own, so that the cluster hands it to its next process. */
function once(url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Several node processes start and stop here: generous bounds for a machine under load.
describe('MEDIC_HTTP_PROCESSES: several bot processes share one port', { timeout: 300_000 }, () => {
  let redis: RedisHandle;
  let standIn: SlackStandIn;
  let dir: string;
  let inventoryPath: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [redis, standIn] = await startTogether(startRedis(), new SlackStandIn({ botToken: BOT_TOKEN }).start());
    dir = await mkdtemp(join(tmpdir(), 'medic-cluster-'));
    inventoryPath = join(dir, 'inventory.yaml');
    const host = (address: string) => ({
      address,
      user: 'oncall',
      privateKeyPath: '/nonexistent/key',
      knownHostsPath: '/nonexistent/known_hosts',
    });
    await writeFile(inventoryPath, stringify({ hosts: { 'web-01': host('10.0.0.11'), 'web-02': host('10.0.0.12') } }));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await standIn?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (more: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...loopbackEnv(redis.url, standIn),
    MEDIC_INVENTORY: inventoryPath,
    MEDIC_QUEUE_PREFIX: freshPrefix('cluster'),
    MEDIC_HTTP_PROCESSES: '2',
    LOG_LEVEL: 'info',
    ...more,
  });

  function start(e: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [MEDIC, 'bot'], { cwd: dir, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => out, exited };
  }

  const lines = (out: string): { msg?: string; pid?: number; port?: number; pids?: number[]; processes?: number; cluster?: string }[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string });

  it('acks on every process, sums their metrics in each scrape, replaces one that dies, and stops them all on SIGTERM', async () => {
    const medic = start(env());
    const started = await eventually(
      () => lines(medic.output()).find((l) => l.msg === 'gateway-medic started' && l.cluster === 'primary'),
      120_000,
      'the cluster to listen',
    );
    expect(started.processes).toBe(2);
    const pids = started.pids ?? [];
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(medic.child.pid);
    const url = `http://127.0.0.1:${started.port}`;

    const hosts = async (): Promise<{ status: number; text: string }> => {
      const body = new URLSearchParams(
        standIn.slashCommandFields({ text: 'hosts', userId: 'U0ALICE', channelId: CHANNEL }).fields,
      ).toString();
      return once(`${url}/slack/events`, 'POST', body, signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)));
    };
    const counted = async (): Promise<number> => {
      const text = (await once(`${url}/metrics`, 'GET')).text;
      return Number(/^medic_slash_commands_total\{subcommand="hosts"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };

    const answers = await Promise.all(Array.from({ length: 12 }, hosts));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(answers.filter((a) => !(a.text.includes('web-01') && a.text.includes('web-02')))).toEqual([]);
    // Whichever process a scrape lands on, it shows the sum over both.
    expect(await Promise.all(Array.from({ length: 4 }, counted))).toEqual([12, 12, 12, 12]);

    // One process dies: its share of the counts goes with it (so both had served), and it is replaced.
    process.kill(pids[0] as number, 'SIGKILL');
    await eventually(() => lines(medic.output()).some((l) => l.msg === 'replacement process listening'), 120_000, 'a replacement process');
    const after = await counted();
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThan(12);
    expect((await hosts()).status).toBe(200);
    expect(await counted()).toBe(after + 1);

    const now = Object.values(
      lines(medic.output())
        .filter((l) => l.msg === 'gateway-medic started' && l.cluster === undefined)
        .map((l) => l.pid as number),
    );
    medic.child.kill('SIGTERM');
    expect(await medic.exited).toBe(0);
    expect(lines(medic.output()).at(-1)?.msg).toBe('gateway-medic stopped');
    expect(now.length).toBe(3); // two at the start, one replacement
    await eventually(() => now.every((pid) => !alive(pid)), 5000, 'every process to be gone');
  });

  it('a second signal stops at once, as in a single process', async () => {
    const medic = start(env());
    const started = await eventually(
      () => lines(medic.output()).find((l) => l.msg === 'gateway-medic started' && l.cluster === 'primary'),
      120_000,
      'the cluster to listen',
    );
    // A request that never finishes: the graceful stop of the process holding it waits for it.
    // `Expect: 100-continue` makes the server say when it has read the headers: the request is in flight.
    const hanging = createConnection(started.port as number, '127.0.0.1');
    const continued = new Promise<void>((resolve) =>
      hanging.on('data', (d: Buffer) => d.toString().startsWith('HTTP/1.1 100') && resolve()),
    );
    hanging.write('POST /slack/events HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 100\r\n\r\n');
    await continued;
    hanging.write('{');
    medic.child.kill('SIGTERM');
    // The other process, with nothing to finish, stops; the one holding the request does not.
    const pids = started.pids ?? [];
    await eventually(() => pids.filter(alive).length === 1, 20_000, 'the idle process to stop');
    expect(medic.child.exitCode).toBe(null); // still stopping gracefully
    const second = Date.now();
    medic.child.kill('SIGTERM');
    expect(await medic.exited).toBe(1);
    expect(Date.now() - second).toBeLessThan(3000);
    expect(medic.output()).toContain('second signal');
    await eventually(() => (started.pids ?? []).every((pid) => !alive(pid)), 5000, 'every process to be gone');
    hanging.destroy();
  });

  it('checks the configuration once, before starting any process', async () => {
    const medic = start(env({ MEDIC_HTTP_PROCESSES: '0' }));
    expect(await medic.exited).toBe(2);
    expect(medic.output()).toContain('MEDIC_HTTP_PROCESSES');
    expect(medic.output()).not.toContain('gateway-medic started');
  });
});
