import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { Redis } from 'ioredis';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfig, slackMode, type LoadConfigOptions } from '../config.ts';
import { SlackStandIn } from '../dev/slack-stand-in.ts';
import type { Lab, LabStatus } from '../lab/lab.ts';
import type { ScenarioName } from '../lab/scenarios.ts';
import { startLab, LAB_HOST } from '../lab/start-lab.ts';
import { startSystemdHost, type SystemdHost } from '../lab/systemd-host.ts';
import { applySystemdScenario } from '../lab/systemd-scenarios.ts';
import { startProcess } from '../main.ts';
import { DemoPageServer } from './demo-page-server.ts';
import { DEMO_BOT, DEMO_CHANNEL, DEMO_USERS } from './demo-workspace.ts';
import { startLocalRedis, type LocalRedis } from './local-redis.ts';
import { redisAnswers } from './redis-answers.ts';

/** Where Slack's part is played: the local stand-in and page, or a real workspace. */
export type DemoMode = 'stand-in' | 'slack-http' | 'slack-socket';

/** Options of {@link startDemo}. */
export interface StartDemoOptions {
  /**
   * The environment the bot's configuration starts from (the CLI passes `process.env`). Slack
   * credentials in it or in `envFile` select real Slack (see `slack`).
   * @defaultValue `{}`
   */
  env?: NodeJS.ProcessEnv;
  /** As `medic start`: a dotenv file read when present, `false` for none. @defaultValue `.env` in the current directory */
  envFile?: LoadConfigOptions['envFile'];
  /**
   * `auto`: real Slack when a bot token and a signing secret or app token are configured, else
   * the stand-in and the local page. `stand-in` ignores any Slack credentials.
   * @defaultValue 'auto'
   */
  slack?: 'auto' | 'stand-in';
  /** The lab's broken state at start. @defaultValue 'php_fpm_down' */
  scenario?: ScenarioName;
  /** The page's port on 127.0.0.1; 0 for any free port. Taken → any free port. @defaultValue 0 */
  port?: number;
  /**
   * A path (the CLI uses `.lab`) to link to the lab's directory, so that `npm run lab --
   * scenario NAME` and `status` drive the demo's lab. Left alone when something is there already.
   */
  labLink?: string;
  /** Recorded in the lab's state: `npm run lab -- down` then stops the demo by this pid. */
  daemonPid?: number;
  /** The bot's and worker's log level. @defaultValue 'warn' */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** @defaultValue 'json' */
  logFormat?: 'json' | 'pretty';
  /** Told each step as it starts ("Starting Redis…"), for people watching. */
  onStep?: (text: string) => void;
  /**
   * Also boot the systemd lab host (a real Debian 12 under systemd, `web-systemd` in the
   * inventory, php8.2-fpm.service stopped), so the demo diagnoses and fixes it through systemctl.
   */
  systemd?: boolean;
}

/** A running demo. */
export interface Demo {
  mode: DemoMode;
  /** The page that plays Slack's part (stand-in mode only). */
  url?: string;
  /** The bot's HTTP server: /slack/events, /alerts/*, /healthz, /readyz, /metrics. */
  botUrl: string;
  /** The bearer token of the bot's alert webhooks (stand-in mode; real Slack keeps .env's). */
  alertToken?: string;
  redisUrl: string;
  /** True when the demo started this Redis itself (and stops it). */
  ownRedis: boolean;
  /** MEDIC_QUEUE_PREFIX: in a Redis it was given, its keys are removed by `stop()`. */
  keyPrefix: string;
  redisNote?: string;
  inventoryPath: string;
  /** The path linked to the lab's directory, when `labLink` could be created. */
  labLink?: string;
  host: string;
  scenario: ScenarioName;
  lab: Lab;
  /** The systemd lab host, with `systemd: true`. */
  systemdHost?: SystemdHost;
  standIn?: SlackStandIn;
  /** Processes the demo started, by pid (to check that `stop()` leaves none running). */
  pids(): Promise<number[]>;
  /** Stops everything it started: page, bot and worker, stand-in, lab (by pid), Redis. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The one-command local demo: Redis, the lab's `web-01` in a broken scenario, the Slack
 * stand-in, the bot and a worker (the very code of `medic start`), and a page that plays
 * Slack's part, all on 127.0.0.1. With real Slack credentials, the bot talks to Slack instead
 * and there is no page. Needs root (the lab's).
 */
export async function startDemo(options: StartDemoOptions = {}): Promise<Demo> {
  const env = options.env ?? {};
  const envFile = options.envFile === undefined ? resolve('.env') : options.envFile;
  const step = options.onStep ?? (() => undefined);
  const scenario = options.scenario ?? 'php_fpm_down';
  // Validates .env and the environment up front, naming any bad variable before anything starts.
  const base = loadConfig(env, { envFile });
  const realSlack = options.slack !== 'stand-in' && base.SLACK_BOT_TOKEN !== undefined && slackMode(base) !== 'none';
  const mode: DemoMode = !realSlack ? 'stand-in' : slackMode(base) === 'socket' ? 'slack-socket' : 'slack-http';

  const undo: (() => Promise<void>)[] = [];
  const unwind = async (): Promise<void> => {
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined);
  };
  try {
    let redis: LocalRedis | undefined;
    let redisUrl = base.REDIS_URL;
    let redisNote: string | undefined;
    const given = redisGiven(env, envFile);
    const useGiven = given && (await redisAnswers(redisUrl));
    if (useGiven) redisNote = `using REDIS_URL (${new URL(redisUrl).host}) under a key prefix of its own`;
    else {
      if (given) redisNote = `REDIS_URL (${new URL(redisUrl).host}) does not answer, so the demo runs a redis-server of its own`;
      step('Starting redis-server on 127.0.0.1…');
    }
    step('Starting the lab (nginx, php-fpm 8.2, a Node backend and sshd on 127.0.0.1)…');
    const [r, l] = await Promise.allSettled([
      useGiven ? Promise.resolve(undefined) : startLocalRedis(),
      startLab(options.daemonPid !== undefined ? { daemonPid: options.daemonPid } : {}),
    ]);
    if (r.status === 'fulfilled' && r.value !== undefined) {
      const started = r.value;
      redis = started;
      redisUrl = started.url;
      undo.push(() => started.stop());
    }
    if (l.status === 'fulfilled') undo.push(() => l.value.stop({ removeDir: true }));
    if (r.status === 'rejected') throw r.reason;
    if (l.status === 'rejected') throw l.reason;
    const lab = l.value;

    step(`Breaking it: scenario ${scenario}…`);
    await lab.applyScenario(scenario);

    let systemdHost: SystemdHost | undefined;
    let inventoryPath = lab.inventoryPath;
    if (options.systemd === true) {
      step('Booting the systemd lab host (Debian 12 under systemd-nspawn; the first time, debootstrap builds its tree: minutes)…');
      const sd = await startSystemdHost({ log: step });
      systemdHost = sd;
      undo.push(() => sd.stop());
      step('Breaking it: php8.2-fpm.service stopped…');
      await applySystemdScenario(sd, 'php_fpm_down');
      // One inventory for both hosts: the lab's web-01 and web-systemd (which sets no facts).
      const merged = parseYaml(await readFile(lab.inventoryPath, 'utf8')) as { hosts: Record<string, unknown> };
      const extra = parseYaml(await readFile(sd.state.inventoryPath, 'utf8')) as { hosts: Record<string, unknown> };
      merged.hosts = { ...merged.hosts, ...extra.hosts };
      inventoryPath = join(lab.dir, 'inventory-with-systemd.yaml');
      await writeFile(inventoryPath, stringifyYaml(merged));
    }

    let labLink: string | undefined;
    if (options.labLink !== undefined && (await lstat(options.labLink).catch(() => undefined)) === undefined) {
      const link = resolve(options.labLink);
      await symlink(lab.dir, link);
      labLink = link;
      undo.push(async () => {
        if ((await readlink(link).catch(() => undefined)) === lab.dir) await rm(link, { force: true });
      });
    }

    // Someone else's Redis gets a prefix no deployment uses, and its keys are removed at the end.
    const prefix = redis !== undefined ? 'demo' : `demo-${randomBytes(4).toString('hex')}`;
    if (redis === undefined) undo.push(() => deleteKeys(redisUrl, prefix));

    let standIn: SlackStandIn | undefined;
    const secret = randomBytes(24).toString('hex');
    const alertToken = randomBytes(16).toString('hex');
    const overrides: Record<string, string> = {
      REDIS_URL: redisUrl,
      MEDIC_INVENTORY: inventoryPath,
      MEDIC_LISTEN_HOST: '127.0.0.1',
      // A person switches scenarios and asks again within a minute; they must get a fresh diagnosis.
      MEDIC_DEDUP_WINDOW: '3s',
      MEDIC_QUEUE_PREFIX: prefix,
      LOG_LEVEL: options.logLevel ?? 'warn',
      LOG_FORMAT: options.logFormat ?? 'json',
    };
    if (mode === 'stand-in') {
      const botToken = `xoxb-demo-${randomBytes(12).toString('hex')}`;
      standIn = await new SlackStandIn({ botToken, botUserId: DEMO_BOT.id }).start();
      const s = standIn;
      undo.push(() => s.stop());
      Object.assign(overrides, {
        SLACK_BOT_TOKEN: botToken,
        SLACK_SIGNING_SECRET: secret,
        // Blank counts as unset: a Socket Mode token in .env must not win over the stand-in.
        SLACK_APP_TOKEN: '',
        SLACK_API_URL: s.apiUrl,
        PORT: '0',
        MEDIC_APPROVERS: DEMO_USERS.filter((u) => u.approver)
          .map((u) => u.id)
          .join(','),
        MEDIC_TWO_PERSON_RULE: 'false',
        // So that an alert can be tried too (docs/alerts.md): its report lands in the page's channel.
        MEDIC_ALERT_TOKEN: alertToken,
        MEDIC_ALERT_CHANNEL: DEMO_CHANNEL.id,
        MEDIC_ALERT_HMAC_SECRET: '',
      });
    }
    step(`Starting the bot and a worker (medic start)${mode === 'stand-in' ? ' against the Slack stand-in' : ' connected to Slack'}…`);
    const bot = await startProcess('all', { ...env, ...overrides }, { envFile });
    undo.push(() => bot.stop());

    let page: DemoPageServer | undefined;
    if (standIn !== undefined) {
      page = new DemoPageServer({
        standIn,
        eventsUrl: `${bot.url}/slack/events`,
        signingSecret: secret,
        lab,
        host: LAB_HOST,
        channel: DEMO_CHANNEL,
        users: DEMO_USERS,
      });
      const p = page;
      await p.listen(options.port ?? 0);
      undo.push(() => p.close());
    }

    let stopping: Promise<void> | undefined;
    return {
      mode,
      ...(page !== undefined ? { url: page.url } : {}),
      botUrl: bot.url,
      ...(mode === 'stand-in' ? { alertToken } : {}),
      redisUrl,
      ownRedis: redis !== undefined,
      keyPrefix: prefix,
      ...(redisNote !== undefined ? { redisNote } : {}),
      inventoryPath,
      ...(labLink !== undefined ? { labLink } : {}),
      host: LAB_HOST,
      scenario,
      lab,
      ...(systemdHost !== undefined ? { systemdHost } : {}),
      ...(standIn !== undefined ? { standIn } : {}),
      pids: async () => {
        const st: LabStatus = await lab.status();
        return [redis?.pid, st.nginx, st.fpm, st.backend, st.sshd, systemdHost?.state.nspawnPid].filter(
          (p): p is number => p !== undefined,
        );
      },
      stop: () => (stopping ??= unwind()),
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

/** Whether REDIS_URL is set (not blank) in the environment or in the dotenv file. */
export function redisGiven(env: NodeJS.ProcessEnv, envFile: string | false): boolean {
  if ((env.REDIS_URL ?? '').trim() !== '') return true;
  if (envFile === false || !existsSync(envFile)) return false;
  // loadConfig has already read and validated this file; only the key's presence is asked here.
  return (parseEnv(readFileSync(envFile, 'utf8')).REDIS_URL ?? '').trim() !== '';
}

/** Removes every key under `prefix:` (BullMQ's queues, the audit trail, approvals). */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
