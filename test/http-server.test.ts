import { Agent, request } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MedicHttpServer } from '../src/adapters/http/medic-http-server.ts';
import { MedicMetrics } from '../src/adapters/http/medic-metrics.ts';

/** One request over `agent`, so a keep-alive socket is reused like Slack's and a load balancer's. */
function send(
  agent: Agent,
  url: string,
  method: string,
  path: string,
): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the HTTP server while shutting down', () => {
  const agents: Agent[] = [];
  afterEach(() => agents.splice(0).forEach((a) => a.destroy()));

  it('refuses new work with 503 on a kept-alive socket, still answers the probes, and closes the socket', async () => {
    const server = new MedicHttpServer({ logger: pino({ level: 'silent' }), metrics: new MedicMetrics() });
    let handled = 0;
    server.route('POST', '/alerts/generic', (_req, res) => {
      handled += 1;
      res.writeHead(202).end();
    });
    const { url } = await server.listen(0, '127.0.0.1');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);

    const before = await send(agent, url, 'POST', '/alerts/generic');
    expect(before.status).toBe(202);
    expect(before.connection).toBe('keep-alive');

    server.drain();
    const during = await send(agent, url, 'POST', '/alerts/generic');
    expect(during).toMatchObject({ status: 503, connection: 'close' });
    expect(JSON.parse(during.body)).toEqual({ ok: false, error: 'shutting_down' });
    expect(handled).toBe(1);
    expect((await send(agent, url, 'GET', '/healthz')).status).toBe(503);
    expect(JSON.parse((await send(agent, url, 'GET', '/readyz')).body)).toMatchObject({ ok: false, draining: true });
    expect((await send(agent, url, 'GET', '/metrics')).status).toBe(200);

    await server.close();
    await expect(send(agent, url, 'POST', '/alerts/generic')).rejects.toThrow(/ECONNREFUSED/);
  });
});
