import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** One frame the bot sent over Socket Mode, already parsed. */
export type SocketModeMessage = Record<string, unknown>;

/**
 * Slack's side of Socket Mode for the stand-in: accepts the WebSocket the bot opens at the URL
 * apps.connections.open gave it (`/socket?ticket=…`), says `hello`, pings it as Slack does,
 * sends envelopes and waits for their acks. The WebSocket protocol itself is the `ws` package's.
 */
export class SocketModeServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly pendingAcks = new Map<string, (payload: unknown) => void>();

  /** @param onHello called once a bot holds a connection and has been greeted. */
  constructor(private readonly onHello: () => void) {}

  /** Serves Socket Mode on `server`'s upgrades to `/socket`; other upgrades are refused. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!(req.url ?? '').startsWith('/socket')) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  /** True once a bot holds a connection. */
  get connected(): boolean {
    return this.sockets.size > 0;
  }

  /** Sends an envelope over the bot's connection and resolves with its ack's payload, as Slack does. */
  send(type: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const [ws] = this.sockets;
    if (ws === undefined) return Promise.reject(new Error('Slack stand-in: no Socket Mode connection'));
    const envelopeId = randomBytes(8).toString('hex');
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
    ws.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api' }));
    return acked;
  }

  /** Drops every connection at once (the stand-in stopping, as Slack going away would). */
  close(): void {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    const ping = setInterval(() => ws.ping('ping'), 10_000);
    ws.on('close', () => {
      clearInterval(ping);
      this.sockets.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'slack-stand-in' },
        connection_info: { app_id: 'A0STANDIN' },
      }),
    );
    this.onHello();
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return; // not JSON: Slack ignores it too
    }
    if (typeof msg !== 'object' || msg === null) return;
    const { envelope_id: id, payload } = msg as SocketModeMessage;
    const resolve = typeof id === 'string' ? this.pendingAcks.get(id) : undefined;
    if (resolve === undefined) return;
    this.pendingAcks.delete(id as string);
    resolve(payload);
  }
}
