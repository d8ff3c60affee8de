import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { BLOCK_KIT_LIMITS, isObj, validateBlocks, type Json } from './block-kit-rules.ts';
import { SignedPoster, type HttpSend, type PostResult } from './signed-post.ts';
import { SlackRateLimiter, type SlackRateLimitOptions } from './slack-rate-limiter.ts';
import { SocketModeServer } from './socket-mode-server.ts';
import { blockActionsPayload, slashCommandForm, type SlashCommandInput } from './slack-payloads.ts';

/*
 * A local stand-in for Slack, for tests and the demo. It plays both of Slack's roles:
 *  - the Web API the bot calls (chat.postMessage, chat.update, chat.postEphemeral,
 *    usergroups.users.list, auth.test, response_url posts), recording every call, keeping the
 *    conversation, and REJECTING what Slack would reject (Block Kit limits, invalid blocks,
 *    too-long text, missing channel) with Slack's own error shapes, and holding the bot to
 *    Slack's rate limits (429 with Retry-After; slack-rate-limiter.ts);
 *  - the client that sends the bot signed slash commands and button clicks, exactly as Slack
 *    does (form bodies, `v0` HMAC signature and timestamp headers), or, in Socket Mode, as
 *    envelopes over the WebSocket the bot opened (apps.connections.open; socket-mode-server.ts).
 * Request signing (slack-signing.ts) and Slack's Block Kit checks (block-kit-rules.ts) are
 * modules of their own.
 * It is a stand-in at the Web API boundary only: the bot under test runs unmodified.
 */

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
export type SendOptions = HttpSend | { via: 'socket'; timeoutMs?: number };

export interface SendResult extends PostResult {
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
    this.socketMode.attach(this.server);
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
    this.socketMode.close();
    this.poster.destroy();
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
        reject(
          new Error(
            `Slack stand-in: timed out after ${timeoutMs} ms waiting for ${what}; ${this.calls.length} calls so far: ${this.calls.map((c) => `${c.method}${c.response.ok === true ? '' : `(${String(c.response.error)})`}`).join(', ')}`,
          ),
        );
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
    const result =
      'via' in send
        ? await this.sendEnvelope('slash_commands', fields, send.timeoutMs)
        : await this.post(new URLSearchParams(fields).toString(), send);
    this.recordAck(result, input.channelId, input.userId);
    return { ...result, responseUrlId };
  }

  /**
   * The form Slack posts for a slash command, with a fresh response_url on this stand-in. For
   * senders of their own (the benchmark's, in another thread); sign it with `signSlackRequest`.
   */
  slashCommandFields(input: SlashCommandInput): { fields: Record<string, string>; responseUrlId: string } {
    const responseUrlId = randomBytes(6).toString('hex');
    const fields = slashCommandForm(input, { teamId: this.teamId, responseUrl: `${this.baseUrl}/response/${responseUrlId}` });
    return { fields, responseUrlId };
  }

  /**
   * Clicks a button of a stored message, as Slack does (a signed `block_actions` payload).
   * `asSeen` is the message as a user's client still shows it (a copy taken before an update):
   * Slack delivers clicks on buttons that have since been replaced, and so does this.
   */
  async clickButton(
    input: { channel: string; ts: string; actionId: string; userId: string; userName?: string; asSeen?: StoredMessage },
    send: SendOptions,
  ): Promise<SendResult> {
    const message = input.asSeen ?? this.message(input.channel, input.ts);
    if (message === undefined) throw new Error(`Slack stand-in: no message ${input.channel}/${input.ts}`);
    const responseUrlId = randomBytes(6).toString('hex');
    const payload = blockActionsPayload(message, input, {
      teamId: this.teamId,
      botUserId: this.botUserId,
      responseUrl: `${this.baseUrl}/response/${responseUrlId}`,
    });
    const result =
      'via' in send
        ? await this.sendEnvelope('interactive', payload, send.timeoutMs)
        : await this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), send);
    this.recordAck(result, input.channel, input.userId);
    return { ...result, responseUrlId };
  }

  private readonly poster = new SignedPoster();

  private post(body: string, send: HttpSend): Promise<PostResult> {
    return this.poster.post(body, send);
  }

  /** An ack with a body is what Slack shows the user who typed the command. */
  private recordAck(result: PostResult, channel: string, userId: string): void {
    if (result.status !== 200 || !isObj(result.body)) return;
    const b = result.body;
    this.store.push({
      channel,
      ts: this.nextTs(),
      text: String(b.text ?? ''),
      blocks: Array.isArray(b.blocks) ? b.blocks : [],
      updates: 0,
      visibleTo: userId,
      viaResponseUrl: false,
    });
    this.emit('call', { method: '(ack)', args: b, response: { ok: true }, at: Date.now() });
  }

  // ------------------------------------------------ Socket Mode

  private readonly socketMode = new SocketModeServer(() =>
    this.emit('call', { method: '(socket hello)', args: {}, response: { ok: true }, at: Date.now() }),
  );

  /** True once a bot holds a Socket Mode connection (it got the `hello`). */
  get socketConnected(): boolean {
    return this.socketMode.connected;
  }

  /** Sends an envelope over the bot's WebSocket and waits for its ack, as Slack does. */
  private async sendEnvelope(type: string, payload: unknown, timeoutMs = 3000): Promise<PostResult> {
    const t0 = performance.now();
    const body = await this.socketMode.send(type, payload, timeoutMs);
    return { status: 200, body: isObj(body) && Object.keys(body).length > 0 ? body : '', ackMs: performance.now() - t0 };
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
      args = type.includes('application/json') ? (raw === '' ? {} : (JSON.parse(raw) as Json)) : parseQuery(raw);
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
        this.store.push({
          channel: '(response_url)',
          ts: this.nextTs(),
          text: String(args.text ?? ''),
          blocks: Array.isArray(args.blocks) ? args.blocks : [],
          updates: 0,
          viaResponseUrl: true,
          responseUrlId: id,
          ...(args.response_type === 'in_channel' ? {} : { visibleTo: '(requester)' }),
        });
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
      response = token.startsWith('xapp-')
        ? { ok: true, url: `${this.baseUrl.replace('http://', 'ws://')}/socket?ticket=${randomBytes(6).toString('hex')}` }
        : { ok: false, error: 'not_allowed_token_type' };
      this.record(method, args, response);
      return reply(200, response);
    }
    if (token === '') response = { ok: false, error: 'not_authed' };
    else if (this.options.botToken !== undefined ? token !== this.options.botToken : !token.startsWith('xoxb-'))
      response = { ok: false, error: 'invalid_auth' };
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
        return {
          ok: true,
          url: `${this.baseUrl}/`,
          team: 'Stand-in',
          user: 'medic',
          team_id: this.teamId,
          user_id: this.botUserId,
          bot_id: 'B0STANDIN',
          is_enterprise_install: false,
        };
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const problem = this.checkMessage(args);
        if (problem !== undefined) return problem;
        const channel = String(args.channel);
        const threadTs = typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
        if (threadTs !== undefined && this.message(channel, threadTs) === undefined) return { ok: false, error: 'thread_not_found' };
        if (method === 'chat.postEphemeral' && (typeof args.user !== 'string' || args.user === ''))
          return { ok: false, error: 'user_not_in_channel' };
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
        return method === 'chat.postEphemeral'
          ? { ok: true, message_ts: m.ts }
          : {
              ok: true,
              channel,
              ts: m.ts,
              message: {
                type: 'message',
                text: m.text,
                blocks: m.blocks,
                ts: m.ts,
                user: this.botUserId,
                bot_id: 'B0STANDIN',
                ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
              },
            };
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
    if (text.length > BLOCK_KIT_LIMITS.text) return { ok: false, error: 'msg_too_long' };
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
