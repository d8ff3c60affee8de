import { createHash, createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { SlackRateLimiter, type SlackRateLimitOptions } from './slack-rate-limiter.ts';

/*
 * A local stand-in for Slack, for tests and the demo. It plays both of Slack's roles:
 *  - the Web API the bot calls (chat.postMessage, chat.update, chat.postEphemeral,
 *    usergroups.users.list, auth.test, response_url posts), recording every call, keeping the
 *    conversation, and REJECTING what Slack would reject (Block Kit limits, invalid blocks,
 *    too-long text, missing channel) with Slack's own error shapes, and holding the bot to
 *    Slack's rate limits (429 with Retry-After; slack-rate-limiter.ts);
 *  - the client that sends the bot signed slash commands and button clicks, exactly as Slack
 *    does (form bodies, `v0` HMAC signature and timestamp headers), or, in Socket Mode, as
 *    envelopes over the WebSocket the bot opened (apps.connections.open, a minimal RFC 6455
 *    server: text frames, ping/pong, close).
 * It is a stand-in at the Web API boundary only: the bot under test runs unmodified.
 */

// ---------------------------------------------------------------- signing

/** Slack's request signature: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret. */
export function signSlackRequest(signingSecret: string, body: string, timestampSec: number): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampSec}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestampSec),
    'x-slack-signature': signature,
  };
}

// ---------------------------------------------------------------- Block Kit rules

const LIMITS = {
  blocks: 50,
  text: 40_000,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  header: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  url: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
};

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks blocks the way Slack's API does, returning Slack-style error strings
 * (`must be less than 3001 characters [json-pointer:/blocks/1/text/text]`); empty when valid.
 * Only the block types the bot uses are checked in depth; others must at least have a type.
 */
export function validateBlocks(blocks: unknown): string[] {
  const errors: string[] = [];
  const err = (msg: string, ptr: string): void => void errors.push(`${msg} [json-pointer:${ptr}]`);
  if (!Array.isArray(blocks)) return ['must be an array [json-pointer:/blocks]'];
  if (blocks.length > LIMITS.blocks) err(`no more than ${LIMITS.blocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  const text = (t: unknown, ptr: string, max: number, kinds: readonly string[] = ['plain_text', 'mrkdwn']): void => {
    if (!isObj(t)) return err('must provide an object', ptr);
    if (!kinds.includes(String(t.type))) err(`must be one of ${kinds.join(', ')}`, `${ptr}/type`);
    if (typeof t.text !== 'string' || t.text.length === 0) return err('must be more than 0 characters', `${ptr}/text`);
    if (t.text.length > max) err(`must be less than ${max + 1} characters`, `${ptr}/text`);
    const allowed = t.type === 'plain_text' ? ['type', 'text', 'emoji'] : ['type', 'text', 'verbatim'];
    for (const k of Object.keys(t)) if (!allowed.includes(k)) err(`unsupported property ${k}`, `${ptr}/${k}`);
  };
  const button = (b: Json, ptr: string): void => {
    text(b.text, `${ptr}/text`, LIMITS.buttonText, ['plain_text']);
    if (typeof b.action_id !== 'string' || b.action_id.length === 0 || b.action_id.length > LIMITS.actionId) err(`must be 1 to ${LIMITS.actionId} characters`, `${ptr}/action_id`);
    else if (actionIds.has(b.action_id)) err('duplicate action_id', `${ptr}/action_id`);
    else actionIds.add(b.action_id);
    if (b.value !== undefined && (typeof b.value !== 'string' || b.value.length > LIMITS.buttonValue)) err(`must be less than ${LIMITS.buttonValue + 1} characters`, `${ptr}/value`);
    if (b.url !== undefined && (typeof b.url !== 'string' || b.url.length > LIMITS.url)) err(`must be less than ${LIMITS.url + 1} characters`, `${ptr}/url`);
    if (b.style !== undefined && b.style !== 'primary' && b.style !== 'danger') err('must be one of primary, danger', `${ptr}/style`);
    if (b.confirm !== undefined) {
      const c = b.confirm;
      if (!isObj(c)) err('must provide an object', `${ptr}/confirm`);
      else {
        text(c.title, `${ptr}/confirm/title`, LIMITS.confirmTitle, ['plain_text']);
        text(c.text, `${ptr}/confirm/text`, LIMITS.confirmText);
        text(c.confirm, `${ptr}/confirm/confirm`, LIMITS.confirmButton, ['plain_text']);
        text(c.deny, `${ptr}/confirm/deny`, LIMITS.confirmButton, ['plain_text']);
      }
    }
    const allowed = ['type', 'text', 'action_id', 'value', 'url', 'style', 'confirm', 'accessibility_label'];
    for (const k of Object.keys(b)) if (!allowed.includes(k)) err(`unsupported property ${k}`, `${ptr}/${k}`);
  };
  blocks.forEach((block, i) => {
    const ptr = `/blocks/${i}`;
    if (!isObj(block)) return err('must provide an object', ptr);
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length === 0 || block.block_id.length > LIMITS.blockId) err(`must be 1 to ${LIMITS.blockId} characters`, `${ptr}/block_id`);
      else if (blockIds.has(block.block_id)) err('duplicate block_id', `${ptr}/block_id`);
      else blockIds.add(block.block_id);
    }
    const only = (keys: string[]): void => {
      for (const k of Object.keys(block)) if (![...keys, 'type', 'block_id'].includes(k)) err(`unsupported property ${k}`, `${ptr}/${k}`);
    };
    switch (block.type) {
      case 'header':
        only(['text']);
        return text(block.text, `${ptr}/text`, LIMITS.header, ['plain_text']);
      case 'section': {
        only(['text', 'fields', 'accessory', 'expand']);
        if (block.text === undefined && block.fields === undefined) err('must provide either text or fields', ptr);
        if (block.text !== undefined) text(block.text, `${ptr}/text`, LIMITS.sectionText);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > LIMITS.fields) err(`must be 1 to ${LIMITS.fields} items`, `${ptr}/fields`);
          else block.fields.forEach((f, j) => text(f, `${ptr}/fields/${j}`, LIMITS.fieldText));
        }
        if (isObj(block.accessory) && block.accessory.type === 'button') button(block.accessory, `${ptr}/accessory`);
        return;
      }
      case 'context':
        only(['elements']);
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > LIMITS.contextElements) return err(`must be 1 to ${LIMITS.contextElements} items`, `${ptr}/elements`);
        return block.elements.forEach((e, j) => (isObj(e) && e.type === 'image' ? undefined : text(e, `${ptr}/elements/${j}`, LIMITS.sectionText)));
      case 'actions':
        only(['elements']);
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > LIMITS.actionsElements) return err(`must be 1 to ${LIMITS.actionsElements} items`, `${ptr}/elements`);
        return block.elements.forEach((e, j) => {
          if (!isObj(e)) return err('must provide an object', `${ptr}/elements/${j}`);
          if (e.type === 'button') button(e, `${ptr}/elements/${j}`);
        });
      case 'divider':
        return only([]);
      case 'image':
      case 'rich_text':
      case 'input':
      case 'file':
      case 'video':
      case 'markdown':
        return;
      default:
        return err(`unsupported block type ${String(block.type)}`, `${ptr}/type`);
    }
  });
  return errors;
}

// ---------------------------------------------------------------- the stand-in

export interface RecordedCall {
  method: string;
  args: Json;
  /** What the stand-in answered. */
  response: Json;
  at: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
  /** How many times chat.update changed it. */
  updates: number;
  /** Present on ephemeral messages: the only user who sees it. */
  visibleTo?: string;
  /** Set when the message came through a response_url. */
  viaResponseUrl?: boolean;
  /** Which response_url (`SendResult.responseUrlId`) it came through, to tell whose answer it is. */
  responseUrlId?: string;
}

export interface ResponseUrlPost {
  id: string;
  body: Json;
  at: number;
}

export interface SlackStandInOptions {
  /** @defaultValue a free port */
  port?: number;
  /** @defaultValue 127.0.0.1 */
  host?: string;
  /** The bot token calls must carry; others get `invalid_auth`. @defaultValue any xoxb- token */
  botToken?: string;
  /** Members of user groups, for usergroups.users.list. */
  userGroups?: Record<string, string[]>;
  teamId?: string;
  botUserId?: string;
  /**
   * Slack's rate limits (method tiers, one message per second per channel): past them a call
   * gets 429 with Retry-After, as from Slack. `false` turns them off; `speedup` runs them faster.
   * @defaultValue Slack's own figures
   */
  rateLimits?: false | SlackRateLimitOptions;
}

/** How a request reaches the bot: signed HTTP (HTTP mode) or the bot's Socket Mode connection. */
export type SendOptions =
  | {
      /** Where the bot receives Slack's requests, e.g. http://127.0.0.1:3000/slack/events */
      url: string;
      signingSecret: string;
      /** Override the timestamp (seconds) to replay an old request. */
      timestampSec?: number;
      /** Send this signature instead of the right one, to forge a request. */
      signature?: string;
    }
  | { via: 'socket'; timeoutMs?: number };

export interface SlashCommandInput {
  text: string;
  userId: string;
  channelId: string;
  command?: string;
  userName?: string;
  channelName?: string;
}

export interface SendResult {
  status: number;
  /** The body of the bot's HTTP answer (the ack), parsed when JSON. */
  body: unknown;
  /** Time from sending to the bot's answer, in ms. */
  ackMs: number;
  responseUrlId?: string;
}

export class SlackStandIn extends EventEmitter {
  readonly calls: RecordedCall[] = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];
  /** Calls answered with 429 (they are in `calls` too, with error `ratelimited`). */
  rateLimited = 0;
  private readonly limiter: SlackRateLimiter | undefined;
  private readonly store: StoredMessage[] = [];
  private server: Server | undefined;
  private baseUrl = '';
  private tsCounter = 0;
  private readonly options: SlackStandInOptions;
  readonly teamId: string;
  readonly botUserId: string;
  /**
   * Awaited before a Web API call is answered: a test can make something happen while the bot
   * waits for Slack (stop Redis while a report is being posted). The call is answered after.
   */
  beforeAnswer: ((method: string, args: Record<string, unknown>) => Promise<void> | void) | undefined;

  constructor(options: SlackStandInOptions = {}) {
    super();
    // Every waitFor() listens for calls while it waits; tests and the demo page wait on many at once.
    this.setMaxListeners(0);
    this.options = options;
    this.teamId = options.teamId ?? 'T0STANDIN';
    this.botUserId = options.botUserId ?? 'U0MEDICBOT';
    this.limiter = options.rateLimits === false ? undefined : new SlackRateLimiter(options.rateLimits ?? {});
  }

  /** The Web API base URL to give the bot as SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket) => this.upgrade(req, socket as Socket));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  setUserGroup(id: string, users: string[]): void {
    this.options.userGroups = { ...this.options.userGroups, [id]: users };
  }

  /** Messages, oldest first; ephemeral ones included (see `visibleTo`). */
  messages(filter: { channel?: string; threadTs?: string; rootsOnly?: boolean } = {}): StoredMessage[] {
    return this.store.filter(
      (m) =>
        (filter.channel === undefined || m.channel === filter.channel) &&
        (filter.threadTs === undefined || m.threadTs === filter.threadTs) &&
        (filter.rootsOnly !== true || m.threadTs === undefined),
    );
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.store.find((m) => m.channel === channel && m.ts === ts);
  }

  /** Calls of one Web API method. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves when `predicate` holds, checking after every call; rejects after `timeoutMs`. */
  async waitFor<T>(predicate: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const first = predicate();
    if (first !== undefined && first !== false) return first;
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = predicate();
        if (v !== undefined && v !== false) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Slack stand-in: timed out after ${timeoutMs} ms waiting for ${what}; ${this.calls.length} calls so far: ${this.calls.map((c) => `${c.method}${c.response.ok === true ? '' : `(${String(c.response.error)})`}`).join(', ')}`));
      }, timeoutMs);
      const poll = setInterval(check, 100);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('call', check);
      };
      this.on('call', check);
    });
  }

  // ------------------------------------------------ Slack → bot

  /** Sends the bot a signed slash command, as Slack does, with a fresh response_url. */
  async sendSlashCommand(input: SlashCommandInput, send: SendOptions): Promise<SendResult> {
    const { fields, responseUrlId } = this.slashCommandFields(input);
    const result = 'via' in send ? await this.sendEnvelope('slash_commands', fields, send.timeoutMs) : await this.post(new URLSearchParams(fields).toString(), send);
    this.recordAck(result, input.channelId, input.userId);
    return { ...result, responseUrlId };
  }

  /**
   * The form Slack posts for a slash command, with a fresh response_url on this stand-in. For
   * senders of their own (the benchmark's, in another thread); sign it with `signSlackRequest`.
   */
  slashCommandFields(input: SlashCommandInput): { fields: Record<string, string>; responseUrlId: string } {
    const responseUrlId = randomBytes(6).toString('hex');
    const fields = {
      token: 'deprecated-verification-token',
      team_id: this.teamId,
      team_domain: 'standin',
      channel_id: input.channelId,
      channel_name: input.channelName ?? 'ops',
      user_id: input.userId,
      user_name: input.userName ?? input.userId.toLowerCase(),
      command: input.command ?? '/502',
      text: input.text,
      api_app_id: 'A0STANDIN',
      is_enterprise_install: 'false',
      response_url: `${this.baseUrl}/response/${responseUrlId}`,
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    };
    return { fields, responseUrlId };
  }

  /**
   * Clicks a button of a stored message, as Slack does (a signed `block_actions` payload).
   * `asSeen` is the message as a user's client still shows it (a copy taken before an update):
   * Slack delivers clicks on buttons that have since been replaced, and so does this.
   */
  async clickButton(input: { channel: string; ts: string; actionId: string; userId: string; userName?: string; asSeen?: StoredMessage }, send: SendOptions): Promise<SendResult> {
    const message = input.asSeen ?? this.message(input.channel, input.ts);
    if (message === undefined) throw new Error(`Slack stand-in: no message ${input.channel}/${input.ts}`);
    let found: { block: Json; element: Json } | undefined;
    for (const block of message.blocks as Json[]) {
      if (block.type !== 'actions' || !Array.isArray(block.elements)) continue;
      for (const element of block.elements as Json[]) if (element.action_id === input.actionId) found = { block, element };
    }
    if (found === undefined) throw new Error(`Slack stand-in: message ${input.ts} has no button ${input.actionId}`);
    const responseUrlId = randomBytes(6).toString('hex');
    const payload = {
      type: 'block_actions',
      user: { id: input.userId, username: input.userName ?? input.userId.toLowerCase(), name: input.userName ?? input.userId.toLowerCase(), team_id: this.teamId },
      api_app_id: 'A0STANDIN',
      token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false, ...(message.threadTs !== undefined ? { thread_ts: message.threadTs } : {}) },
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
      team: { id: this.teamId, domain: 'standin' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: message.channel, name: 'ops' },
      message: { type: 'message', user: this.botUserId, ts: message.ts, bot_id: 'B0STANDIN', text: message.text, blocks: message.blocks, ...(message.threadTs !== undefined ? { thread_ts: message.threadTs } : {}) },
      state: { values: {} },
      response_url: `${this.baseUrl}/response/${responseUrlId}`,
      actions: [{ ...found.element, block_id: found.block.block_id, action_ts: `${(Date.now() / 1000).toFixed(6)}` }],
    };
    const result = 'via' in send ? await this.sendEnvelope('interactive', payload, send.timeoutMs) : await this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), send);
    this.recordAck(result, input.channel, input.userId);
    return { ...result, responseUrlId };
  }

  /** Keep-alive, like Slack's own delivery; node:http rather than fetch, so the client's cost does not blur ack figures. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  private async post(body: string, send: Extract<SendOptions, { url: string }>): Promise<Omit<SendResult, 'responseUrlId'>> {
    const ts = send.timestampSec ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string | number> = { ...signSlackRequest(send.signingSecret, body, ts), 'content-length': Buffer.byteLength(body) };
    if (send.signature !== undefined) headers['x-slack-signature'] = send.signature;
    const t0 = performance.now();
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(send.url, { method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    const ackMs = performance.now() - t0;
    let parsed: unknown = text;
    try {
      parsed = text === '' ? '' : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status, body: parsed, ackMs };
  }

  /** An ack with a body is what Slack shows the user who typed the command. */
  private recordAck(result: Omit<SendResult, 'responseUrlId'>, channel: string, userId: string): void {
    if (result.status !== 200 || !isObj(result.body)) return;
    const b = result.body;
    this.store.push({ channel, ts: this.nextTs(), text: String(b.text ?? ''), blocks: Array.isArray(b.blocks) ? b.blocks : [], updates: 0, visibleTo: userId, viaResponseUrl: false });
    this.emit('call', { method: '(ack)', args: b, response: { ok: true }, at: Date.now() });
  }

  // ------------------------------------------------ Socket Mode

  private readonly sockets = new Set<Socket>();
  private readonly pendingAcks = new Map<string, (payload: unknown) => void>();

  /** True once a bot holds a Socket Mode connection (it got the `hello`). */
  get socketConnected(): boolean {
    return this.sockets.size > 0;
  }

  /** Sends an envelope over the bot's WebSocket and waits for its ack, as Slack does. */
  private async sendEnvelope(type: string, payload: unknown, timeoutMs = 3000): Promise<Omit<SendResult, 'responseUrlId'>> {
    const [socket] = this.sockets;
    if (socket === undefined) throw new Error('Slack stand-in: no Socket Mode connection');
    const envelopeId = randomBytes(8).toString('hex');
    const t0 = performance.now();
    const acked = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAcks.delete(envelopeId);
        reject(new Error(`Slack stand-in: envelope ${envelopeId} not acked within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingAcks.set(envelopeId, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
    });
    wsSend(socket, JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api' }));
    const body = await acked;
    return { status: 200, body: isObj(body) && Object.keys(body).length > 0 ? body : '', ackMs: performance.now() - t0 };
  }

  private upgrade(req: IncomingMessage, socket: Socket): void {
    const key = req.headers['sec-websocket-key'];
    if (!(req.url ?? '').startsWith('/socket') || typeof key !== 'string') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    this.sockets.add(socket);
    const ping = setInterval(() => wsFrame(socket, 0x9, Buffer.from('ping')), 10_000);
    socket.on('close', () => {
      clearInterval(ping);
      this.sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const frame = readFrame(buffered);
        if (frame === undefined) break;
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 0x8) {
          wsFrame(socket, 0x8, Buffer.alloc(0));
          socket.end();
        } else if (frame.opcode === 0x9) wsFrame(socket, 0xa, frame.payload);
        else if (frame.opcode === 0x1) this.onSocketMessage(frame.payload.toString('utf8'));
      }
    });
    wsSend(socket, JSON.stringify({ type: 'hello', num_connections: this.sockets.size, debug_info: { host: 'slack-stand-in' }, connection_info: { app_id: 'A0STANDIN' } }));
    this.emit('call', { method: '(socket hello)', args: {}, response: { ok: true }, at: Date.now() });
  }

  private onSocketMessage(text: string): void {
    try {
      const msg = JSON.parse(text) as Json;
      const resolve = typeof msg.envelope_id === 'string' ? this.pendingAcks.get(msg.envelope_id) : undefined;
      if (resolve !== undefined) {
        this.pendingAcks.delete(msg.envelope_id as string);
        resolve(msg.payload);
      }
    } catch {
      // not JSON: Slack ignores it too
    }
  }

  // ------------------------------------------------ bot → Slack (Web API)

  private nextTs(): string {
    this.tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (status: number, body: Json): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    let args: Json;
    try {
      const type = String(req.headers['content-type'] ?? '');
      args = type.includes('application/json') ? (raw === '' ? {} : (JSON.parse(raw) as Json)) : (parseQuery(raw) as Json);
    } catch {
      return reply(200, { ok: false, error: 'invalid_json' });
    }
    if (url.pathname.startsWith('/response/')) {
      const id = url.pathname.slice('/response/'.length);
      const errors = args.blocks === undefined ? [] : validateBlocks(args.blocks);
      const response = errors.length > 0 ? slackError('invalid_blocks', errors) : { ok: true };
      const at = Date.now();
      this.responseUrlPosts.push({ id, body: args, at });
      if (response.ok === true && args.delete_original !== true) {
        this.store.push({ channel: '(response_url)', ts: this.nextTs(), text: String(args.text ?? ''), blocks: Array.isArray(args.blocks) ? args.blocks : [], updates: 0, viaResponseUrl: true, responseUrlId: id, visibleTo: args.response_type === 'in_channel' ? undefined : '(requester)' });
      }
      this.record('(response_url)', args, response);
      return reply(response.ok === true ? 200 : 400, response);
    }
    if (!url.pathname.startsWith('/api/')) return reply(404, { ok: false, error: 'not_found' });
    const method = url.pathname.slice('/api/'.length);
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : '';
    delete args.token;
    let response: Json;
    if (method === 'apps.connections.open') {
      response = token.startsWith('xapp-') ? { ok: true, url: `${this.baseUrl.replace('http://', 'ws://')}/socket?ticket=${randomBytes(6).toString('hex')}` } : { ok: false, error: 'not_allowed_token_type' };
      this.record(method, args, response);
      return reply(200, response);
    }
    if (token === '') response = { ok: false, error: 'not_authed' };
    else if (this.options.botToken !== undefined ? token !== this.options.botToken : !token.startsWith('xoxb-')) response = { ok: false, error: 'invalid_auth' };
    else {
      const retryAfter = this.limiter?.admit(method, typeof args.channel === 'string' ? args.channel : undefined);
      if (retryAfter !== undefined) {
        this.rateLimited += 1;
        this.record(method, args, { ok: false, error: 'ratelimited' });
        res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfter) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      await this.beforeAnswer?.(method, args);
      response = this.dispatch(method, args);
    }
    this.record(method, args, response);
    reply(200, response);
  }

  private record(method: string, args: Json, response: Json): void {
    const call = { method, args, response, at: Date.now() };
    this.calls.push(call);
    this.emit('call', call);
  }

  private dispatch(method: string, args: Json): Json {
    switch (method) {
      case 'auth.test':
        // Slack's workspace URL: message links are built on it (archives/<channel>/p<ts>).
        return { ok: true, url: `${this.baseUrl}/`, team: 'Stand-in', user: 'medic', team_id: this.teamId, user_id: this.botUserId, bot_id: 'B0STANDIN', is_enterprise_install: false };
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const problem = this.checkMessage(args);
        if (problem !== undefined) return problem;
        const channel = String(args.channel);
        const threadTs = typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
        if (threadTs !== undefined && this.message(channel, threadTs) === undefined) return { ok: false, error: 'thread_not_found' };
        if (method === 'chat.postEphemeral' && (typeof args.user !== 'string' || args.user === '')) return { ok: false, error: 'user_not_in_channel' };
        const m: StoredMessage = {
          channel,
          ts: this.nextTs(),
          text: String(args.text ?? ''),
          blocks: (args.blocks as unknown[] | undefined) ?? [],
          updates: 0,
          ...(threadTs !== undefined ? { threadTs } : {}),
          ...(method === 'chat.postEphemeral' ? { visibleTo: String(args.user) } : {}),
        };
        this.store.push(m);
        return method === 'chat.postEphemeral' ? { ok: true, message_ts: m.ts } : { ok: true, channel, ts: m.ts, message: { type: 'message', text: m.text, blocks: m.blocks, ts: m.ts, user: this.botUserId, bot_id: 'B0STANDIN', ...(threadTs !== undefined ? { thread_ts: threadTs } : {}) } };
      }
      case 'chat.update': {
        const problem = this.checkMessage(args);
        if (problem !== undefined) return problem;
        const m = this.message(String(args.channel), String(args.ts ?? ''));
        if (m === undefined) return { ok: false, error: 'message_not_found' };
        if (args.text !== undefined) m.text = String(args.text);
        if (args.blocks !== undefined) m.blocks = args.blocks as unknown[];
        m.updates += 1;
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: { text: m.text, blocks: m.blocks } };
      }
      case 'chat.getPermalink': {
        const m = this.message(String(args.channel ?? ''), String(args.message_ts ?? ''));
        if (m === undefined) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: m.channel, permalink: `${this.baseUrl}/archives/${m.channel}/p${m.ts.replace('.', '')}` };
      }
      case 'usergroups.users.list': {
        const id = String(args.usergroup ?? '');
        const users = this.options.userGroups?.[id];
        return users === undefined ? { ok: false, error: 'no_such_subteam' } : { ok: true, users };
      }
      default:
        return { ok: false, error: 'unknown_method', req_method: method };
    }
  }

  /** What Slack checks on every message-posting call, with its error names. */
  private checkMessage(args: Json): Json | undefined {
    if (typeof args.channel !== 'string' || args.channel === '') return { ok: false, error: 'channel_not_found' };
    let blocks: unknown = args.blocks;
    if (typeof blocks === 'string') {
      try {
        blocks = JSON.parse(blocks);
      } catch {
        return { ok: false, error: 'invalid_blocks_format' };
      }
      args.blocks = blocks;
    }
    const text = typeof args.text === 'string' ? args.text : '';
    if (text === '' && (blocks === undefined || (Array.isArray(blocks) && blocks.length === 0))) return { ok: false, error: 'no_text' };
    if (text.length > LIMITS.text) return { ok: false, error: 'msg_too_long' };
    if (blocks !== undefined) {
      const errors = validateBlocks(blocks);
      if (errors.length > 0) return slackError('invalid_blocks', errors);
    }
    return undefined;
  }
}

function slackError(error: string, errors: string[]): Json {
  return { ok: false, error, errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } };
}

// ---------------------------------------------------------------- WebSocket frames (RFC 6455)

function wsFrame(socket: Socket, opcode: number, payload: Buffer): void {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65_536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65_536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!socket.destroyed) socket.write(Buffer.concat([head, payload]));
}

const wsSend = (socket: Socket, text: string): void => wsFrame(socket, 0x1, Buffer.from(text, 'utf8'));

/** One complete frame from the start of `buf` (clients always mask), or undefined if more bytes are needed. */
function readFrame(buf: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = (buf[0] as number) & 0x0f;
  const masked = ((buf[1] as number) & 0x80) !== 0;
  let len = (buf[1] as number) & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLen = masked ? 4 : 0;
  if (buf.length < offset + maskLen + len) return undefined;
  const mask = buf.subarray(offset, offset + maskLen);
  const payload = Buffer.from(buf.subarray(offset + maskLen, offset + maskLen + len));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return { opcode, payload, length: offset + maskLen + len };
}
