import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackStandIn } from '../dev/slack-stand-in.ts';
import type { Lab } from '../lab/lab.ts';
import { readLabState } from '../lab/lab-state.ts';
import { SCENARIO_NAMES, SCENARIOS, isScenarioName, type ScenarioName } from '../lab/scenarios.ts';
import { conversationView, type ResponseUrlOwner } from './conversation-view.ts';
import type { DemoUser } from './demo-workspace.ts';
import { errorMessage } from '../errors.ts';

/** Options of {@link DemoPageServer}. */
export interface DemoPageServerOptions {
  standIn: SlackStandIn;
  /** The bot's `POST /slack/events`. */
  eventsUrl: string;
  /** The bot's SLACK_SIGNING_SECRET: the page's server signs like Slack. */
  signingSecret: string;
  lab: Lab;
  /** The lab's host name in the inventory. */
  host: string;
  channel: { id: string; name: string };
  users: readonly DemoUser[];
}

const STATIC: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/block-kit.js': ['block-kit.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

const PAGE_DIR = new URL('./page/', import.meta.url);

/** A text field of the page's JSON request; anything else reads as empty. */
const textOf = (v: unknown): string => (typeof v === 'string' ? v : '');

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
};

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 16_384) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
  return value as Record<string, unknown>;
}

/**
 * The local page that plays Slack's part in the demo. The browser only renders: it types
 * commands and clicks buttons through this server, which signs them exactly as Slack does (the
 * stand-in's client side) and posts them to the bot; what the bot sends back is recorded by the
 * stand-in and streamed to the page (server-sent events) as it happens.
 */
export class DemoPageServer {
  private server: Server | undefined;
  private readonly owners = new Map<string, ResponseUrlOwner>();
  private readonly streams = new Set<{ res: ServerResponse; user: string }>();
  private pending: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private labBusy: string | undefined;
  /** The lab's scenario as its state file says: `npm run lab -- scenario` changes it from outside. */
  private labScenario: ScenarioName;
  private labWatch: NodeJS.Timeout | undefined;
  private readonly onCall = (): void => this.changed();
  url = '';

  constructor(private readonly o: DemoPageServerOptions) {
    this.labScenario = o.lab.current;
  }

  async listen(port: number): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    const bind = (p: number): Promise<void> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(p, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    try {
      await bind(port);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw e;
      await bind(0);
    }
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    this.o.standIn.on('call', this.onCall);
    this.heartbeat = setInterval(() => {
      for (const s of this.streams) s.res.write(': keep-alive\n\n');
    }, 15_000);
    this.labWatch = setInterval(() => {
      void readLabState(this.o.lab.layout.state).then(
        (st) => {
          if (st.scenario === this.labScenario) return;
          this.labScenario = st.scenario;
          this.changed();
        },
        () => undefined,
      );
    }, 1000);
    return this.url;
  }

  async close(): Promise<void> {
    this.o.standIn.off('call', this.onCall);
    clearInterval(this.heartbeat);
    clearInterval(this.labWatch);
    clearTimeout(this.pending);
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The whole state one person's page shows. */
  state(viewer: string): Record<string, unknown> {
    const { standIn, channel, users, host } = this.o;
    return {
      channel,
      host,
      viewer,
      bot: { id: standIn.botUserId, name: 'medic' },
      users,
      lab: {
        scenario: this.labScenario,
        busy: this.labBusy ?? null,
        scenarios: SCENARIO_NAMES.map((n) => ({ name: n, summary: SCENARIOS.get(n)?.summary ?? '' })),
      },
      ...conversationView(standIn.messages(), { channel: channel.id, viewer, botUserId: standIn.botUserId, owners: this.owners }),
    };
  }

  /** Many calls arrive at once (a report is a root and several replies): one push for them all. */
  private changed(): void {
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      for (const s of this.streams) s.res.write(`event: state\ndata: ${JSON.stringify(this.state(s.user))}\n\n`);
    }, 40);
  }

  private user(id: unknown): string {
    const found = this.o.users.find((u) => u.id === id) ?? this.o.users[0];
    if (found === undefined) throw new Error('the demo workspace has no users');
    return found.id;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    try {
      // Another site open in the same browser must not drive the demo: no cross-site form posts
      // (JSON needs a CORS preflight, never granted), no DNS rebinding (the Host is checked).
      const port = (this.server?.address() as AddressInfo | null)?.port;
      if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`)
        return json(res, 421, { ok: false, error: 'wrong_host' });
      if (req.method === 'POST' && !String(req.headers['content-type'] ?? '').startsWith('application/json'))
        return json(res, 415, { ok: false, error: 'json_only' });
      const asset = req.method === 'GET' ? STATIC[url.pathname] : undefined;
      if (asset !== undefined) {
        const body = await readFile(new URL(asset[0], PAGE_DIR));
        res.writeHead(200, { 'content-type': asset[1], 'cache-control': 'no-store', 'content-length': body.length });
        res.end(body);
        return;
      }
      switch (route) {
        case 'GET /api/state':
          return json(res, 200, this.state(this.user(url.searchParams.get('user'))));
        case 'GET /api/events':
          return this.stream(res, this.user(url.searchParams.get('user')));
        case 'POST /api/command':
          return json(res, 200, await this.command(await readJson(req)));
        case 'POST /api/click':
          return json(res, 200, await this.click(await readJson(req)));
        case 'POST /api/scenario':
          return json(res, 200, await this.scenario(await readJson(req)));
        default:
          return json(res, 404, { ok: false, error: 'not_found' });
      }
    } catch (e) {
      if (!res.headersSent) json(res, 400, { ok: false, error: errorMessage(e) });
      else res.end();
    }
  }

  private stream(res: ServerResponse, user: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 1000\nevent: state\ndata: ${JSON.stringify(this.state(user))}\n\n`);
    const entry = { res, user };
    this.streams.add(entry);
    res.on('close', () => this.streams.delete(entry));
  }

  /** `/502 diagnose web-01` typed in the composer, sent to the bot as Slack sends a slash command. */
  private async command(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = this.user(body.user);
    const typed = textOf(body.text).trim();
    const match = /^(\/[a-z0-9_-]+)(?:\s([\s\S]*))?$/i.exec(typed);
    if (match === null)
      return { ok: false, error: 'Type a slash command, e.g. /502 diagnose web-01 (this channel has no people to talk to).' };
    const [, command, rest = ''] = match;
    const text = rest.trim();
    if (command !== '/502') return { ok: false, error: `${command} is not a command here; try /502 help.` };
    const name = this.o.users.find((u) => u.id === user)?.name ?? user;
    const sent = await this.o.standIn.sendSlashCommand(
      { text, userId: user, userName: name, channelId: this.o.channel.id, channelName: this.o.channel.name, command },
      { url: this.o.eventsUrl, signingSecret: this.o.signingSecret },
    );
    if (sent.responseUrlId !== undefined) this.owners.set(sent.responseUrlId, { userId: user, channel: this.o.channel.id });
    this.changed();
    return { ok: sent.status === 200, status: sent.status, ackMs: Math.round(sent.ackMs) };
  }

  /** A confirmed button click, sent as Slack's signed `block_actions` payload. */
  private async click(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = this.user(body.user);
    const ts = textOf(body.ts);
    const actionId = textOf(body.actionId);
    const message = this.o.standIn.message(this.o.channel.id, ts);
    if (message === undefined) return { ok: false, error: 'no such message' };
    const name = this.o.users.find((u) => u.id === user)?.name ?? user;
    const sent = await this.o.standIn.clickButton(
      { channel: this.o.channel.id, ts, actionId, userId: user, userName: name },
      { url: this.o.eventsUrl, signingSecret: this.o.signingSecret },
    );
    if (sent.responseUrlId !== undefined) {
      this.owners.set(sent.responseUrlId, {
        userId: user,
        channel: this.o.channel.id,
        ...(message.threadTs !== undefined ? { threadTs: message.threadTs } : {}),
      });
    }
    this.changed();
    return { ok: sent.status === 200, status: sent.status };
  }

  /** Breaks the lab another way (or heals it), as `npm run lab -- scenario NAME` does. */
  private async scenario(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const name = textOf(body.name);
    if (!isScenarioName(name)) return { ok: false, error: `no scenario ${name}` };
    if (this.labBusy !== undefined) return { ok: false, error: `the lab is busy applying ${this.labBusy}` };
    this.labBusy = name;
    this.changed();
    try {
      const outcome = await this.o.lab.applyScenario(name);
      this.labScenario = name;
      return { ok: true, scenario: name, lines: outcome.lines };
    } finally {
      this.labBusy = undefined;
      this.changed();
    }
  }
}
