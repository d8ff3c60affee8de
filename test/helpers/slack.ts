import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { buildApp, type AppDeps, type MedicApp, type ProcessRole } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Inventory } from '../../src/core/inventory/inventory-schema.ts';
import type { Playbook } from '../../src/core/playbook/playbook-schema.ts';
import { SlackStandIn, type SendResult, type StoredMessage } from '../../src/dev/slack-stand-in.ts';
import type { HostConnector } from '../../src/jobs/ports.ts';
import { redactSecrets } from '../../src/logger.ts';
import { freshPrefix } from './redis.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-0000-medic';
export const CHANNEL = 'C0OPS';

/** Log lines as the real logger writes them (JSON), for assertions on the audit trail. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  /** A logger like the product's (same redaction), writing here. */
  logger(level = 'debug'): Logger {
    return pino({ level, formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> } }, this.stream);
  }
  audit(kind: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.audit === kind);
  }
}

export interface SlackHarnessOptions {
  redisUrl: string;
  inventory: Inventory;
  playbooks: ReadonlyMap<string, Playbook>;
  /** @defaultValue 'all' */
  role?: ProcessRole;
  connector?: HostConnector;
  /** More environment, e.g. MEDIC_APPROVERS, MEDIC_TWO_PERSON_RULE. */
  env?: Record<string, string>;
  /** Share one stand-in between several harnesses (bot + worker processes). */
  standIn?: SlackStandIn;
  prefix?: string;
  now?: () => Date;
  /** `socket`: Socket Mode (SLACK_APP_TOKEN) through the stand-in's WebSocket. @defaultValue 'http' */
  mode?: 'http' | 'socket';
  /** The bot's pace of Slack calls (pair `speedup` with the stand-in's). */
  slackBudget?: AppDeps['slackBudget'];
}

export interface SlackHarness {
  standIn: SlackStandIn;
  app: MedicApp;
  config: Config;
  eventsUrl: string;
  baseUrl: string;
  logs: LogCapture;
  prefix: string;
  /** Types `/502 <text>` as `userId` in `channel`, signed like Slack. */
  command(text: string, userId?: string, channel?: string): Promise<SendResult>;
  /** Clicks a button of a message, signed like Slack; pass a copy of an older rendering to click a button since replaced. */
  click(message: StoredMessage, actionId: string, userId: string, asSeen?: StoredMessage): Promise<SendResult>;
  stop(): Promise<void>;
}

/** The real Bolt app and (for role `all`) real BullMQ workers on a real Redis, talking to the Slack stand-in. */
/** The environment of a medic process on loopback, talking to the stand-in with the test credentials. */
export const loopbackEnv = (redisUrl: string, standIn: SlackStandIn): Record<string, string> => ({
  REDIS_URL: redisUrl,
  SLACK_BOT_TOKEN: BOT_TOKEN,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: standIn.apiUrl,
  PORT: '0',
  MEDIC_LISTEN_HOST: '127.0.0.1',
});

export async function startSlackHarness(o: SlackHarnessOptions): Promise<SlackHarness> {
  const ownStandIn = o.standIn === undefined;
  const standIn = o.standIn ?? (await new SlackStandIn({ botToken: BOT_TOKEN }).start());
  const prefix = o.prefix ?? freshPrefix('slack');
  const config = loadConfig(
    {
      ...loopbackEnv(o.redisUrl, standIn),
      MEDIC_QUEUE_PREFIX: prefix,
      MEDIC_APPROVERS: 'U0ALICE,U0BOB',
      ...(o.mode === 'socket' ? { SLACK_APP_TOKEN: 'xapp-1-A0STANDIN-test' } : {}),
      ...o.env,
    },
    { envFile: false },
  );
  const logs = new LogCapture();
  const app = await buildApp({
    config,
    role: o.role ?? 'all',
    logger: logs.logger(),
    inventory: () => o.inventory,
    playbooks: o.playbooks,
    ...(o.connector !== undefined ? { connector: o.connector } : {}),
    ...(o.now !== undefined ? { now: o.now } : {}),
    ...(o.slackBudget !== undefined ? { slackBudget: o.slackBudget } : {}),
    workerName: `test-${prefix}`,
  });
  const { url } = await app.start();
  const eventsUrl = `${url}/slack/events`;
  const send = o.mode === 'socket' ? { via: 'socket' as const } : { url: eventsUrl, signingSecret: SIGNING_SECRET };
  return {
    standIn,
    app,
    config,
    eventsUrl,
    baseUrl: url,
    logs,
    prefix,
    command: (text, userId = 'U0ALICE', channel = CHANNEL) => standIn.sendSlashCommand({ text, userId, channelId: channel }, send),
    click: (message, actionId, userId, asSeen) =>
      standIn.clickButton(
        { channel: message.channel, ts: message.ts, actionId, userId, ...(asSeen !== undefined ? { asSeen } : {}) },
        send,
      ),
    stop: async () => {
      await app.stop();
      if (ownStandIn) await standIn.stop();
    },
  };
}

/** The root messages (not thread replies, not ephemeral) of a channel. */
export const roots = (standIn: SlackStandIn, channel = CHANNEL): StoredMessage[] =>
  standIn.messages({ channel, rootsOnly: true }).filter((m) => m.visibleTo === undefined);

/** All text of a message's blocks, for assertions. */
export function blockText(m: { text: string; blocks: unknown[] }): string {
  const out: string[] = [m.text];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(m.blocks);
  return out.join('\n');
}

/** The action ids of a message's buttons. */
export function buttonsOf(m: StoredMessage): { actionId: string; value: string }[] {
  const out: { actionId: string; value: string }[] = [];
  for (const b of m.blocks as { type: string; elements?: { type: string; action_id: string; value: string }[] }[]) {
    if (b.type === 'actions')
      for (const e of b.elements ?? []) if (e.type === 'button') out.push({ actionId: e.action_id, value: e.value });
  }
  return out;
}

/** Polls `probe` (sync or async) until it gives something other than undefined/false. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
