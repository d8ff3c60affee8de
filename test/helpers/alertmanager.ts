import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/lab/free-port.ts';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerOptions {
  /** Where the webhook receiver posts (the bot's /alerts/alertmanager). */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <token>` via http_config.authorization. */
  token: string;
  /** @defaultValue ['alertname'] */
  groupBy?: string[];
  /** @defaultValue '1s' */
  groupWait?: string;
  /** @defaultValue '1s' */
  groupInterval?: string;
  /** @defaultValue '1h' */
  repeatInterval?: string;
  /** Alerts per notification; 0 is unlimited. @defaultValue 0 */
  maxAlerts?: number;
}

/** An alert as Alertmanager's API v2 takes it (POST /api/v2/alerts). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerHandle {
  url: string;
  pid: number;
  dir: string;
  /** Posts alerts to the API; throws unless Alertmanager answers 200. */
  postAlerts(alerts: PostableAlert[]): Promise<void>;
  /** The alerts Alertmanager holds now (GET /api/v2/alerts). */
  alerts(): Promise<{ labels: Record<string, string>; status: { state: string } }[]>;
  log(): string;
  /**
   * Resolves once Alertmanager has sent all it will for the group of `alertname` (grouped by
   * alertname) holding `count` firing alerts: two flushes of the group in a row with the same
   * `count` active alerts. A group's flushes run one after the other, each waiting for its
   * webhook call to be answered, and the second found nothing new to send (its notification log
   * already had those alerts): every notification of that state has arrived and been answered.
   */
  settled(alertname: string, count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function configYaml(o: AlertmanagerOptions): string {
  // JSON is YAML; it spares us quoting the URL and the token by hand.
  return JSON.stringify(
    {
      route: {
        receiver: 'medic',
        group_by: o.groupBy ?? ['alertname'],
        group_wait: o.groupWait ?? '1s',
        group_interval: o.groupInterval ?? '1s',
        repeat_interval: o.repeatInterval ?? '1h',
      },
      receivers: [
        {
          name: 'medic',
          webhook_configs: [
            {
              url: o.webhookUrl,
              send_resolved: true,
              max_alerts: o.maxAlerts ?? 0,
              http_config: { authorization: { type: 'Bearer', credentials: o.token } },
            },
          ],
        },
      ],
    },
    null,
    2,
  );
}

/**
 * Starts the Debian package's Alertmanager on 127.0.0.1 and a free port, clustering off, its
 * config and storage in a temp dir, with one webhook receiver pointing at the bot.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-am-'));
  await writeFile(join(dir, 'alertmanager.yml'), configYaml(options), { mode: 0o600 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    ALERTMANAGER,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  // The dispatcher's debug line for each flush of a group, kept whole (the tail above is cut):
  // aggrGroup="{}:{alertname=\"X\"}" msg=flushing alerts="[X[fingerprint][active] …]"
  const flushes = new Map<string, string[]>();
  let partial = '';
  const keep = (c: Buffer): void => {
    log = (log + c.toString()).slice(-65_536);
    const lines = (partial + c.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /aggrGroup="\{\}:\{alertname=\\"([^"\\]+)\\"\}" msg=flushing alerts="\[(.*)\]"$/.exec(line);
      if (m === null) continue;
      const [, name = '', alerts = ''] = m;
      flushes.set(name, [...(flushes.get(name) ?? []), alerts.split(' ').sort().join(' ')]);
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid as number;
  const onExit = (): void => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (dead || Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager did not become ready${dead ? ' (exited)' : ''}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    pid,
    dir,
    log: () => log,
    async settled(alertname, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [before, last] = (flushes.get(alertname) ?? []).slice(-2);
        const active = last?.split(' ').filter((a) => a.endsWith('[active]')).length ?? 0;
        if (last !== undefined && before === last && active === count && !last.includes('[resolved]')) return;
        if (Date.now() > deadline)
          throw new Error(
            `alertmanager's group ${alertname} did not settle at ${count} firing alerts within ${timeoutMs} ms; last flushes: ${[before, last].map((f) => f?.slice(0, 200)).join(' | ')}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
    async postAlerts(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (res.status !== 200) throw new Error(`alertmanager refused the alerts: ${res.status} ${await res.text()}`);
    },
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      return (await res.json()) as { labels: Record<string, string>; status: { state: string } }[];
    },
  };
}
