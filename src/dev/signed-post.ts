import { Agent, request } from 'node:http';
import { signSlackRequest } from './slack-signing.ts';

/** Where and how a request reaches a bot in HTTP mode. */
export interface HttpSend {
  /** Where the bot receives Slack's requests, e.g. http://127.0.0.1:3000/slack/events */
  url: string;
  signingSecret: string;
  /** Override the timestamp (seconds) to replay an old request. */
  timestampSec?: number;
  /** Send this signature instead of the right one, to forge a request. */
  signature?: string;
}

export interface PostResult {
  status: number;
  /** The body of the bot's HTTP answer (the ack), parsed when JSON. */
  body: unknown;
  /** Time from sending to the bot's answer, in ms. */
  ackMs: number;
}

/**
 * Posts form bodies to a bot signed as Slack signs them, on kept-alive connections like Slack's
 * own delivery; node:http rather than fetch, so the client's cost does not blur ack figures.
 */
export class SignedPoster {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  async post(body: string, send: HttpSend): Promise<PostResult> {
    const ts = send.timestampSec ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string | number> = {
      ...signSlackRequest(send.signingSecret, body, ts),
      'content-length': Buffer.byteLength(body),
    };
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

  destroy(): void {
    this.agent.destroy();
  }
}
