import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { MedicMetrics } from './medic-metrics.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** One readiness probe (Redis, Slack…): throws or returns false when not ready. */
export type ReadinessCheck = () => Promise<boolean>;

export interface MedicHttpServerOptions {
  logger: Logger;
  metrics: MedicMetrics;
  /** Named checks behind GET /readyz. */
  readiness?: Record<string, ReadinessCheck>;
  /** What GET /metrics answers. @defaultValue this process' registry */
  scrape?: () => Promise<string>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
};

/**
 * The process' one HTTP server: Slack's events (Bolt's listener, HTTP mode), the alert
 * webhooks (routes added by the alert receivers), /healthz, /readyz and /metrics. Bolt does not
 * own the server, so all of these share one port.
 */
/** The longest one readiness check may take before /readyz calls it down. */
const READY_CHECK_MS = 700;

/** Answered while draining, so load balancers and Prometheus see the shutdown. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export class MedicHttpServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly connectionListeners: (() => void)[] = [];
  private server: Server | undefined;
  private draining = false;

  constructor(private readonly o: MedicHttpServerOptions) {
    this.route('GET', '/healthz', (_req, res) => json(res, this.draining ? 503 : 200, { ok: !this.draining }));
    this.route('GET', '/readyz', async (_req, res) => {
      const checks: Record<string, boolean> = {};
      await Promise.all(
        Object.entries(this.o.readiness ?? {}).map(async ([name, check]) => {
          // Probes commonly give up after 1 s: a check that has not answered by then counts as down.
          let timer: NodeJS.Timeout | undefined;
          checks[name] = await Promise.race([
            check().catch(() => false),
            new Promise<boolean>((r) => (timer = setTimeout(() => r(false), READY_CHECK_MS))),
          ]);
          clearTimeout(timer);
        }),
      );
      const ok = !this.draining && Object.values(checks).every(Boolean);
      json(res, ok ? 200 : 503, { ok, checks, ...(this.draining ? { draining: true } : {}) });
    });
    this.route('GET', '/metrics', async (_req, res) => {
      const body = await (this.o.scrape ?? (() => this.o.metrics.registry.metrics()))();
      res.writeHead(200, { 'content-type': this.o.metrics.registry.contentType });
      res.end(body);
    });
  }

  /** Adds a route; `path` is exact (`/alerts/grafana`). Alert receivers plug in here. */
  route(method: string, path: string, handler: RouteHandler): this {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
    return this;
  }

  /** Told of every connection as it is accepted, before any request on it is read. */
  onConnection(listener: () => void): this {
    this.connectionListeners.push(listener);
    return this;
  }

  /** HTTP mode: Bolt's request listener answers POST /slack/events. */
  mountSlack(listener: RequestListener): this {
    return this.route('POST', '/slack/events', (req, res) => listener(req, res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (this.draining) {
      // Keep-alive sockets outlive server.close(): refuse new work on them too, and close them.
      res.setHeader('connection', 'close');
      if (!PROBES.has(path)) return json(res, 503, { ok: false, error: 'shutting_down' });
    }
    const handler = this.routes.get(`${(req.method ?? 'GET').toUpperCase()} ${path}`);
    if (handler === undefined) {
      const known = [...this.routes.keys()].some((k) => k.endsWith(` ${path}`));
      return json(res, known ? 405 : 404, { ok: false, error: known ? 'method_not_allowed' : 'not_found' });
    }
    try {
      await handler(req, res);
    } catch (e) {
      this.o.logger.error({ err: e, path }, 'request handler failed');
      if (!res.headersSent) json(res, 500, { ok: false, error: 'internal_error' });
      else res.end();
    }
  }

  async listen(port: number, host: string): Promise<{ port: number; url: string }> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Slack waits 3 s for an ack; a client that sends nothing for long is dropped.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    for (const listener of this.connectionListeners) server.on('connection', listener);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return { port: bound, url: `http://${shown}:${bound}` };
  }

  /** From now on /healthz and /readyz answer 503 and every other route 503 `shutting_down`, so load balancers and Slack retries go elsewhere. */
  drain(): void {
    this.draining = true;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    this.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), 5000);
    await closed;
    clearTimeout(timer);
  }
}
