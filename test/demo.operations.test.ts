import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startProcess, type ProcessHandle } from '../src/main.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, CHANNEL, SIGNING_SECRET, blockText, eventually, loopbackEnv, roots } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

const MEDIC = new URL('../bin/medic.js', import.meta.url).pathname;

/**
 * A TCP relay to the lab's sshd that holds each new connection for `delayMs` first: a host that
 * is slow to answer, so that a diagnosis is surely in flight when the test sends SIGTERM.
 */
async function slowRelay(targetPort: number): Promise<{ port: number; delayMs: number; connections: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = { port: 0, delayMs: 0, connections: 0, close: async () => undefined };
  const server: Server = createServer((client) => {
    relay.connections += 1;
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = createConnection(targetPort, '127.0.0.1');
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    }, relay.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  relay.port = (server.address() as { port: number }).port;
  relay.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return relay;
}

/** `medic start` as its own process, as an operator runs it; resolves once it listens. */
async function medicStart(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, [MEDIC, 'start'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`medic start exited: ${out}`);
      const line = out.split('\n').find((l) => l.includes('"gateway-medic started"'));
      return line !== undefined ? (JSON.parse(line) as { port: number }).port : undefined;
    },
    30_000,
    'medic start to listen',
  );
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => out };
}

describe('operations: readiness, and graceful shutdown on SIGTERM', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let standIn: SlackStandIn;
  let relay: Awaited<ReturnType<typeof slowRelay>>;
  let inventoryPath: string;
  const children: ChildProcess[] = [];
  const handles: ProcessHandle[] = [];

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    standIn = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    await lab.applyScenario('php_fpm_down');
    relay = await slowRelay(lab.snapshot.sshd.port);
    // The lab's inventory, reached through the relay; known_hosts names the relay's port.
    const inventory = parse(await readFile(lab.inventoryPath, 'utf8')) as {
      hosts: Record<string, { port: number; knownHostsPath: string }>;
    };
    const host = inventory.hosts['web-01'] as { port: number; knownHostsPath: string };
    const knownHosts = (await readFile(host.knownHostsPath, 'utf8')).replaceAll(`[127.0.0.1]:${host.port}`, `[127.0.0.1]:${relay.port}`);
    const knownHostsPath = join(lab.dir, 'relay_known_hosts');
    await writeFile(knownHostsPath, knownHosts);
    inventory.hosts['web-01'] = { ...host, port: relay.port, knownHostsPath };
    inventoryPath = join(lab.dir, 'relay-inventory.yaml');
    await writeFile(inventoryPath, stringify(inventory));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const h of handles) await h.stop().catch(() => undefined);
    await relay?.close();
    await standIn?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  const env = (prefix: string, more: Record<string, string> = {}): Record<string, string> => ({
    ...loopbackEnv(redis.url, standIn),
    MEDIC_INVENTORY: inventoryPath,
    MEDIC_QUEUE_PREFIX: prefix,
    MEDIC_DEDUP_WINDOW: '1ms',
    LOG_LEVEL: 'info',
    ...more,
  });
  const diagnose = (url: string) =>
    standIn.sendSlashCommand(
      { text: 'diagnose web-01', userId: 'U0ALICE', channelId: CHANNEL },
      { url: `${url}/slack/events`, signingSecret: SIGNING_SECRET },
    );
  const reportsSince = (n: number) => roots(standIn).slice(n);
  /** `medic start` with a diagnosis of web-01 running: its worker is connected to a host that answers after `hostDelayMs`. */
  const diagnosisInFlight = async (e: Record<string, string>, hostDelayMs: number): Promise<Awaited<ReturnType<typeof medicStart>>> => {
    relay.delayMs = hostDelayMs;
    const medic = await medicStart(e);
    children.push(medic.child);
    const connections = relay.connections;
    expect((await diagnose(medic.url)).status).toBe(200);
    await eventually(() => relay.connections > connections, 10_000, 'the worker to connect to the host');
    return medic;
  };

  it('GET /readyz is 503, naming the check, when Slack or Redis cannot be reached; /healthz stays 200', async () => {
    const gone = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    const bot = await startProcess('bot', env(freshPrefix('ready'), { SLACK_API_URL: gone.apiUrl, LOG_LEVEL: 'silent' }), {
      envFile: false,
    });
    handles.push(bot);
    await gone.stop(); // Slack goes away after the start
    const noSlack = await fetch(`${bot.url}/readyz`);
    expect(noSlack.status).toBe(503);
    expect(await noSlack.json()).toEqual({ ok: false, checks: { redis: true, slack: false } });
    expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);

    const ownRedis = await startRedis();
    const bot2 = await startProcess('bot', env(freshPrefix('ready'), { REDIS_URL: ownRedis.url, LOG_LEVEL: 'silent' }), { envFile: false });
    handles.push(bot2);
    expect((await fetch(`${bot2.url}/readyz`)).status).toBe(200);
    await ownRedis.stop();
    const noRedis = await fetch(`${bot2.url}/readyz`);
    expect(noRedis.status).toBe(503);
    expect(((await noRedis.json()) as { checks: Record<string, boolean> }).checks.redis).toBe(false);
    await bot2.stop();
    await bot.stop();
  });

  it('counts diagnoses that could not reach their host in medic_ssh_errors_total, by code', async () => {
    const broken = join(lab.dir, 'broken-inventory.yaml');
    const inventory = parse(await readFile(inventoryPath, 'utf8')) as { hosts: Record<string, Record<string, unknown>> };
    inventory.hosts['web-01'] = { ...inventory.hosts['web-01'], privateKeyPath: join(lab.dir, 'no-such-key') };
    await writeFile(broken, stringify(inventory));
    const medic = await startProcess('all', env(freshPrefix('ssherr'), { MEDIC_INVENTORY: broken, LOG_LEVEL: 'silent' }), {
      envFile: false,
    });
    handles.push(medic);
    const before = roots(standIn).length;
    expect((await diagnose(medic.url)).status).toBe(200);
    await standIn.waitFor(() => reportsSince(before).find((m) => blockText(m).includes('could not diagnose')), 20_000, 'the failed report');
    const metrics = await eventually(
      async () => {
        const text = await (await fetch(`${medic.url}/metrics`)).text();
        return text.includes('medic_ssh_errors_total{code="SSH_KEY_UNREADABLE"} 1') ? text : undefined;
      },
      5000,
      'the SSH error in /metrics',
    );
    expect(metrics).not.toContain('medic_diagnosis_duration_seconds_count');
  });

  it('finishes the diagnosis in flight before exiting, and takes no new work meanwhile', async () => {
    const prefix = freshPrefix('term');
    const before = roots(standIn).length;
    const medic = await diagnosisInFlight(env(prefix), 2500);

    medic.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    // Draining: no new Slack requests are taken.
    const refused = await eventually(
      async () => {
        const answer = await fetch(`${medic.url}/slack/events`, { method: 'POST' }).then(
          (r) => r.status,
          () => 'refused',
        );
        return answer === 401 ? undefined : answer;
      },
      5000,
      'new requests to be refused',
    );
    expect([503, 'refused']).toContain(refused);

    expect(await medic.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeGreaterThan(1000); // it waited for the job
    const [report] = reportsSince(before);
    if (report === undefined) expect.unreachable('no report was posted');
    expect(blockText(report)).toContain('PHP-FPM is down');
    expect(standIn.messages({ channel: CHANNEL, threadTs: report.ts })).toContainEqual(
      expect.objectContaining({ text: expect.stringMatching(/^web-01 finding/) }),
    );
    const lines = medic
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; audit?: string });
    expect(lines).toContainEqual(expect.objectContaining({ audit: 'result' }));
    expect(lines.at(-1)?.msg).toBe('gateway-medic stopped');
  });

  it('hands a job that outlasts the grace period back to the queue, where another worker finishes it', async () => {
    const prefix = freshPrefix('handback');
    const before = roots(standIn).length;
    // A 1 s grace at shutdown; the host takes longer than that to answer.
    const lock = { MEDIC_JOB_LOCK: '4s', MEDIC_SHUTDOWN_GRACE: '1s' };
    const medic = await diagnosisInFlight(env(prefix, lock), 6000);

    medic.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect(await medic.exited).toBe(0);
    expect(Date.now() - stoppedAt, medic.output()).toBeLessThan(4500);
    expect(medic.output()).toContain('handing them back to the queue');
    expect(reportsSince(before).map(blockText).join()).not.toContain('PHP-FPM is down');

    // Another worker, the host quick again: the stalled job is taken over and finished once.
    relay.delayMs = 0;
    const worker = await startProcess('worker', env(prefix, { ...lock, LOG_LEVEL: 'silent' }), { envFile: false });
    handles.push(worker);
    const report = await standIn.waitFor(
      () => reportsSince(before).find((m) => blockText(m).includes('PHP-FPM is down')),
      40_000,
      'the report from the second worker',
    );
    // Stopped gracefully, the worker has sent everything it was going to: a duplicate would be here now.
    await worker.stop();
    expect(reportsSince(before)).toHaveLength(1);
    const findings = standIn.messages({ channel: CHANNEL, threadTs: report.ts }).filter((m) => m.text.startsWith('web-01 finding'));
    expect(findings.length).toBeGreaterThan(0);
    expect(new Set(findings.map((m) => m.text)).size).toBe(findings.length);
  });
});
