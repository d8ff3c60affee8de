import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FetchFunction } from '@slack/web-api';

type FetchRequestInit = NonNullable<Parameters<FetchFunction>[1]>;
type FetchResponse = Awaited<ReturnType<FetchFunction>>;

/*
 * The Slack SDK's HTTP transport. The Web API client and Bolt's respond() call `fetch`; Node's
 * own (undici, with WHATWG streams) spends about three times the CPU of node:http on each small
 * JSON POST (measured: 1.8-2.8 ms against 0.5-0.8 ms per call on this machine). In the bot every
 * command's answer is such a call, made in the process that must ack the next commands, so the
 * SDK gets this one instead (its documented `fetch` option): the same requests, on kept-alive
 * node:http(s) sockets. What it does not handle itself (a form-data upload, a redirect to follow)
 * goes to the global fetch as before.
 */

const agents = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
};

/** Response headers as the SDK reads them (get, entries). */
class Headers {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of Object.keys(this.raw)) yield [k, this.get(k) as string];
  }
}

function response(url: string, status: number, statusText: string, headers: IncomingHttpHeaders, body: Buffer): FetchResponse {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    url,
    headers: new Headers(headers),
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
    text: async () => body.toString('utf8'),
    json: async () => JSON.parse(body.toString('utf8')) as unknown,
  };
}

/** One request on a kept-alive socket; resolves with the whole body read. */
function send(url: URL, init: FetchRequestInit & { body?: string }): Promise<FetchResponse> {
  const protocol = url.protocol as keyof typeof agents;
  const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
  const options: RequestOptions = {
    method: init.method ?? 'GET',
    agent: agents[protocol],
    headers: { ...init.headers, ...(body !== undefined ? { 'content-length': String(body.byteLength) } : {}) },
    ...(init.signal !== undefined ? { signal: init.signal } : {}),
  };
  const request = protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve(response(url.href, res.statusCode ?? 0, res.statusMessage ?? '', res.headers, Buffer.concat(chunks))));
    });
    req.on('error', reject);
    // undici's own limits for a silent server, so that a call never hangs for ever either.
    req.setTimeout(300_000, () => req.destroy(new Error(`no answer from ${url.host} within 300 s`)));
    req.end(body);
  });
}

const isRedirect = (status: number): boolean => status === 301 || status === 302 || status === 303 || status === 307 || status === 308;

/** A `fetch` for the Slack SDK's options (`clientOptions.fetch`): node:http(s) with keep-alive. */
export const slackFetch: FetchFunction = async (input, init = {}) => {
  const url = typeof input === 'string' ? new URL(input) : input;
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (init.body !== undefined && typeof init.body !== 'string'))
    return fetch(input, init);
  const res = await send(url, init as FetchRequestInit & { body?: string });
  if (!isRedirect(res.status) || init.redirect === 'manual') return res;
  // What the global fetch would do: refuse ('error') or follow (the default).
  if (init.redirect === 'error') throw new TypeError(`fetch failed: redirected (${res.status}) from ${url.href}`);
  return fetch(input, init);
};
