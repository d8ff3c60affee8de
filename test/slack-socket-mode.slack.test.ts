import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { blockText, eventually, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';

const host = {
  address: '10.0.0.11',
  port: 22,
  user: 'oncall',
  privateKeyPath: '/nonexistent',
  knownHostsPath: '/nonexistent',
  sudo: false,
  playbook: 'nginx-502',
  facts: {},
};
const inventory: Inventory = { hosts: { 'web-01': host, 'web-02': { ...host, address: '10.0.0.12' } }, groups: {} };

/**
 * Socket Mode: with SLACK_APP_TOKEN set, the bot opens a WebSocket to Slack (here the stand-in,
 * found through apps.connections.open on SLACK_API_URL) and gets commands as envelopes; the same
 * listeners answer. The HTTP server still serves health, and no /slack/events.
 */
describe('Socket Mode', () => {
  let redis: RedisHandle;
  let h: SlackHarness;

  beforeAll(async () => {
    redis = await startRedis();
    h = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks: await loadPlaybooks(), role: 'bot', mode: 'socket' });
  });
  afterAll(async () => {
    await h?.stop();
    await redis?.stop();
  });

  it('connects with the app token and answers commands over the WebSocket', async () => {
    expect(h.app.bolt?.mode).toBe('socket');
    expect(h.standIn.socketConnected).toBe(true);
    expect(h.standIn.callsOf('apps.connections.open')).toHaveLength(1);

    const hosts = await h.command('hosts');
    expect(JSON.stringify(hosts.body)).toContain('web-02');
    expect(hosts.ackMs).toBeLessThan(3000);

    await h.command('diagnose web-01');
    await eventually(async () => (await h.app.queues.diagnose.count()) === 1, 5000, 'the queued job');
    await h.standIn.waitFor(() => roots(h.standIn).find((m) => blockText(m).includes('web-01: queued')), 5000, 'the root message');
  });

  it('serves health on HTTP but not Slack events', async () => {
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { redis: true, slack: true } });
    expect((await fetch(`${h.baseUrl}/slack/events`, { method: 'POST', body: 'x' })).status).toBe(404);
  });
});
