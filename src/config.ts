import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { LABEL_NAME } from './core/alerts/alert-instance.ts';
import { parseAlertRoutes } from './core/alerts/alert-routes.ts';
import { DEFAULT_HOST_LABELS } from './core/alerts/map-alert-host.ts';
import { Duration } from './core/duration.ts';
import { isSlackUserId, SLACK_USERGROUP_ID } from './core/slack-ids.ts';
import { errorMessage, MedicError } from './errors.ts';

/*
 * The one schema of the environment. Only this file reads process.env; everything else gets
 * the frozen Config. Keys are the variable names themselves so that adding one is one line
 * here and one in .env.example (test/unit/config.test.ts checks both lists match).
 */

/** An optional variable; set but blank counts as unset, as in most dotenv files. */
const opt = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' ? (v.trim() === '' ? undefined : v.trim()) : v), schema.optional());

/** A duration as text ("30s", "15m", "2h"), in milliseconds from here on: the core's one duration schema. */
const DurationMs = (fallback: string) => z.string().default(fallback).pipe(Duration);

const Bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes', 'on'].includes(v)));

const Int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

/** `U…`/`W…` user ids and `S…` user group ids, comma separated. */
const Approvers = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const users: string[] = [];
    const groups: string[] = [];
    for (const id of raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      if (isSlackUserId(id)) users.push(id);
      else if (SLACK_USERGROUP_ID.test(id)) groups.push(id);
      else {
        ctx.addIssue({
          code: 'custom',
          message: `"${id}" is neither a Slack user id (U…/W…) nor a user group id (S…); names such as @alice do not work`,
        });
        return z.NEVER;
      }
    }
    return { users, groups };
  });

const AlertRoutes = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const parsed = parseAlertRoutes(text);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed.routes;
  });

const AlertHostLabels = z
  .string()
  .default(DEFAULT_HOST_LABELS.join(','))
  .transform((text, ctx) => {
    const labels = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const bad = labels.find((l) => !LABEL_NAME.test(l));
    if (labels.length === 0 || bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: bad !== undefined ? `"${bad}" is not a label name` : 'name at least one label, e.g. host,instance',
      });
      return z.NEVER;
    }
    return labels;
  });

const ChannelId = z
  .string()
  .regex(/^[CGD][A-Z0-9]{2,20}$|^#?[a-z0-9][a-z0-9._-]{0,79}$/, 'a channel id such as C0123ABCD or a channel name');

export const ConfigSchema = z.object({
  // ---- the public contract's variables (their names and meaning never change) ----
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), 'must be a redis:// or rediss:// URL'),
  SLACK_BOT_TOKEN: opt(z.string().regex(/^xoxb-/, 'must be a bot token starting with xoxb-')),
  SLACK_SIGNING_SECRET: opt(z.string().min(8, 'looks too short to be a signing secret')),
  SLACK_APP_TOKEN: opt(z.string().regex(/^xapp-/, 'must be an app-level token starting with xapp-')),
  SLACK_API_URL: z
    .string()
    .default('https://slack.com/api/')
    .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'must be an http(s) URL such as https://slack.com/api/')
    // The Web API client appends method names to it, so the trailing slash matters.
    .transform((v) => (v.endsWith('/') ? v : `${v}/`)),
  PORT: Int(3000, 0, 65535),
  MEDIC_INVENTORY: z.string().min(1).default('./inventory.yaml'),
  MEDIC_APPROVERS: Approvers,
  MEDIC_ALERT_TOKEN: opt(z.string().min(16, 'use at least 16 characters')),
  MEDIC_ALERT_CHANNEL: opt(ChannelId),
  // ---- alert webhooks (docs/alerts.md) ----
  /** Shared secret for HMAC-signed alert webhooks (X-Medic-Signature, or Grafana's). */
  MEDIC_ALERT_HMAC_SECRET: opt(z.string().min(16, 'use at least 16 characters')),
  /** A host reported this recently is not diagnosed again; its thread gets "still firing" instead. */
  MEDIC_ALERT_WINDOW: DurationMs('10m'),
  /** At most one "still firing" reply per report thread this often. */
  MEDIC_ALERT_UPDATE_INTERVAL: DurationMs('5m'),
  /** `label=value:channel` rules, comma-separated, first match wins; else MEDIC_ALERT_CHANNEL. */
  MEDIC_ALERT_ROUTES: AlertRoutes,
  /** Alert labels that name the host, tried in order. */
  MEDIC_ALERT_HOST_LABELS: AlertHostLabels,

  // ---- the Slack front end and the queue ----
  /** The address the HTTP server binds; 0.0.0.0 in a container, 127.0.0.1 for local runs. */
  MEDIC_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  MEDIC_PLAYBOOKS_DIR: opt(z.string()),
  /** When true, the person who asked for a diagnosis cannot approve its remediation. */
  MEDIC_TWO_PERSON_RULE: Bool(false),
  /** How long remediation buttons stay valid. */
  MEDIC_APPROVAL_TTL: DurationMs('15m'),
  /** A diagnosis finished this recently is shared instead of run again. */
  MEDIC_DEDUP_WINDOW: DurationMs('2m'),
  /** BullMQ and audit keys start with this, so several deployments can share one Redis. */
  MEDIC_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,30}$/, 'lower-case letters, digits, "-" and "_"')
    .default('medic'),
  /** Diagnoses (and remediations) one worker process runs at once: SSH work waits on the network, so many fit one core. */
  MEDIC_WORKER_CONCURRENCY: Int(32, 1, 256),
  /** `medic bot` / `medic start`: processes sharing the HTTP port (node:cluster), to ack bursts on several cores. */
  MEDIC_HTTP_PROCESSES: Int(1, 1, 32),
  /**
   * A job whose worker stops renewing its lock (renewed every half of it while the job runs) is
   * handed to another worker: the lock lapses within this long, and the stalled check, run every
   * third of it, hands it over. 6 s: a dead worker's job moves on within about 8 s.
   */
  MEDIC_JOB_LOCK: DurationMs('6s'),
  /** On SIGTERM, running jobs get this long to finish before they are handed back to the queue. */
  MEDIC_SHUTDOWN_GRACE: DurationMs('25s'),
  /** The longest one diagnosis may take, connection and every check included; then it is reported as DIAGNOSIS_TIMEOUT. */
  MEDIC_DIAGNOSIS_TIMEOUT: DurationMs('30s'),
  /** Audit entries kept per host. */
  MEDIC_HISTORY_LIMIT: Int(500, 10, 100_000),
  /** How long user group members are cached before usergroups.users.list is asked again. */
  MEDIC_USERGROUP_CACHE: DurationMs('5m'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
});

export type ConfigSchema = typeof ConfigSchema;
export type Config = Readonly<z.output<typeof ConfigSchema>>;

/** The variable names the schema knows, in order. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as (keyof z.output<typeof ConfigSchema>)[];

export type SlackMode = 'http' | 'socket' | 'none';

/** Socket Mode when an app token is set, HTTP when a signing secret is, else no Slack at all. */
export function slackMode(config: Config): SlackMode {
  if (config.SLACK_APP_TOKEN !== undefined) return 'socket';
  if (config.SLACK_SIGNING_SECRET !== undefined) return 'http';
  return 'none';
}

export interface LoadConfigOptions {
  /**
   * A dotenv file read when it exists; variables already in `env` win over it.
   * `false` reads no file.
   * @defaultValue `.env` in the current directory
   */
  envFile?: string | false;
}

function readEnvFile(path: string): Record<string, string> {
  try {
    return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (e) {
    throw new MedicError('CONFIG_INVALID', `${path} cannot be read: ${errorMessage(e)}`);
  }
}

/** Parses and freezes the configuration; the error lists every bad variable and why. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const envFile = options.envFile === undefined ? resolve('.env') : options.envFile;
  const fromFile = envFile !== false && existsSync(envFile) ? readEnvFile(envFile) : {};
  const merged: Record<string, string | undefined> = { ...fromFile, ...env };
  const problems: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  for (const key of Object.keys(merged)) {
    // A typo in one of our own variables would otherwise be silently ignored.
    if (key.startsWith('MEDIC_') && !known.has(key)) {
      const near = CONFIG_KEYS.filter((k) => k.startsWith('MEDIC_') && (k.startsWith(key) || key.startsWith(k)));
      problems.push(`${key}: not a known variable${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}`);
    }
  }
  const picked = Object.fromEntries(
    CONFIG_KEYS.map((k): [string, string | undefined] => [k, merged[k]]).filter(([, v]) => v !== undefined),
  );
  const parsed = ConfigSchema.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.map(String).join('.') || '(environment)'}: ${issue.message}`);
  }
  if (problems.length > 0 || !parsed.success) {
    const source = Object.keys(fromFile).length > 0 ? ` (environment and ${envFile})` : '';
    throw new MedicError('CONFIG_INVALID', `Invalid configuration${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return Object.freeze({ ...parsed.data, MEDIC_APPROVERS: Object.freeze(parsed.data.MEDIC_APPROVERS) });
}

/** What each process role needs from Slack; the error names the missing variables. */
export function requireSlack(config: Config, role: 'bot' | 'worker'): void {
  const missing: string[] = [];
  if (config.SLACK_BOT_TOKEN === undefined) missing.push('SLACK_BOT_TOKEN (the bot token, xoxb-…)');
  if (role === 'bot' && slackMode(config) === 'none') {
    missing.push('SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode, xapp-…)');
  }
  if (missing.length > 0) {
    throw new MedicError('CONFIG_INVALID', `The ${role} needs Slack credentials; set:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  }
}
