import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackFetch } from '../../src/adapters/slack/slack-fetch.ts';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('slackFetch: the Slack SDK over node:http keep-alive', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  const sockets = new Set<unknown>();
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (req.url === '/moved') {
          res.writeHead(302, { location: '/api/auth.test' });
          return res.end();
        }
        if (req.url === '/gone') {
          res.writeHead(404, { 'content-type': 'text/plain' });
          return res.end('no such response_url');
        }
        if (req.url === '/api/chat.postMessage') {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': 'chat:write,commands' });
          return res.end(JSON.stringify({ ok: true, channel: 'C1', ts: '1.000100' }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, echo: Buffer.concat(chunks).toString('utf8') }));
      });
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts a JSON answer (respond to a response_url) and reads status, headers and body', async () => {
    const body = JSON.stringify({ response_type: 'ephemeral', text: ':mag: *web-01*: diagnosis queued' });
    const res = await slackFetch(`${base}/response/abc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${base}/response/abc`);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect([...res.headers.entries()]).toContainEqual(['content-type', 'application/json']);
    expect(await res.json()).toEqual({ ok: true, echo: body });
    const last = seen.at(-1);
    expect(last).toMatchObject({ method: 'POST', url: '/response/abc', body });
    expect(last?.headers['content-type']).toBe('application/json');
    expect(last?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('keeps the connection: calls after the first reuse it', async () => {
    const before = sockets.size;
    for (let i = 0; i < 5; i++) await (await slackFetch(`${base}/response/${i}`, { method: 'POST', body: '{}' })).text();
    expect(sockets.size - before).toBeLessThanOrEqual(1);
  });

  it('says what the server answered when it is not 2xx, as fetch does', async () => {
    const res = await slackFetch(`${base}/gone`, { method: 'POST', body: '{}' });
    expect(res.ok).toBe(false);
    expect(res.status).toBe(404);
    expect(res.statusText).toBe('Not Found');
    expect(await res.text()).toBe('no such response_url');
  });

  it("refuses a redirect when told to (the Web API client's redirect: 'error'), and follows one by default", async () => {
    await expect(slackFetch(`${base}/moved`, { method: 'POST', body: 'a=1', redirect: 'error' })).rejects.toThrow(/redirected \(302\)/);
    const followed = await slackFetch(`${base}/moved`, { method: 'GET' });
    expect(followed.status).toBe(200);
    expect(seen.at(-1)?.url).toBe('/api/auth.test');
  });

  it('gives up when the signal aborts', async () => {
    const hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/api/auth.test`;
    const controller = new AbortController();
    const call = slackFetch(url, { method: 'POST', body: '', signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    hung.closeAllConnections();
    await new Promise((resolve) => hung.close(resolve));
  });

  it("is what the SDK's WebClient calls the Web API with", async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: `${base}/api/`, fetch: slackFetch, retryConfig: { retries: 0 } });
    const res = await client.chat.postMessage({ channel: 'C1', text: 'hello' });
    expect(res).toMatchObject({ ok: true, channel: 'C1', ts: '1.000100' });
    expect(res.response_metadata?.scopes).toEqual(['chat:write', 'commands']);
    const last = seen.at(-1);
    expect(last?.url).toBe('/api/chat.postMessage');
    expect(last?.headers.authorization).toBe('Bearer xoxb-test');
    expect(new URLSearchParams(last?.body).get('text')).toBe('hello');
  });
});
