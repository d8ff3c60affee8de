import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertIncidentStore } from '../src/adapters/alerts/alert-incident-store.ts';
import { AlertIntake, type IntakeSummary } from '../src/adapters/alerts/alert-intake.ts';
import { createAlertMetrics } from '../src/adapters/alerts/alert-metrics.ts';
import type { AlertReporter } from '../src/adapters/alerts/alert-reporter.ts';
import { createAlertRoutes } from '../src/adapters/alerts/alert-webhook-handler.ts';
import { SlackAlertNotices } from '../src/adapters/alerts/slack-alert-notices.ts';
import { RedisSignatureLedger } from '../src/adapters/alerts/signature-ledger.ts';
import { signAlertRequest } from '../src/adapters/alerts/verify-alert-request.ts';
import { parseAlertRoutes } from '../src/core/alerts/alert-routes.ts';
import { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import { startAlertmanager, type AlertmanagerHandle } from './helpers/alertmanager.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';

/*
 * The alert webhooks end to end on the alert side: a real Alertmanager posting to a real HTTP
 * server, incidents in a real Redis, messages in the Slack stand-in. The diagnosis side is a
 * Web-API-only reporter (a root message per requested diagnosis) until the Slack service
 * (issue 4) is wired in by test/slack-alerts.alertmanager.test.ts.
 */

const TOKEN = 'alert-token-0123456789abcdef';
const SECRET = 'alert-hmac-0123456789abcdef';
const CHANNEL = '#alerts';

const hostEntry = (address: string) => ({ address, user: 'oncall', privateKeyPath: '/nonexistent', knownHostsPath: '/nonexistent' });
const inventory = Inventory.parse({
  hosts: { 'web-01': hostEntry('10.0.0.11'), 'web-02': hostEntry('10.0.0.12'), 'web-03': hostEntry('10.0.0.13') },
});

/** Posts a root per requested diagnosis through the Web API, as the real service will. */
function webApiReporter(notices: SlackAlertNotices, requested: string[]): AlertReporter {
  const roots = new Map<string, string>();
  return {
    async requestDiagnosis({ host, channel, requestedBy }) {
      requested.push(host);
      const text = `:mag: Diagnosing *${host}* (alert ${requestedBy.alertName})`;
      const posted = await notices.post(channel, text);
      const diagnosisId = `d-${host}-${requested.length}`;
      roots.set(posted.ts, text);
      return { diagnosisId, joined: false, rootTs: posted.ts };
    },
    async postInThread(ref, text) {
      await notices.post(ref.channel, text, ref.rootTs);
    },
    async markAlertState(ref, _state, text) {
      await notices.update(ref.channel, ref.rootTs as string, `${roots.get(ref.rootTs as string) ?? ''}\n${text}`);
    },
    postNotice: (channel, text) => notices.post(channel, text),
    updateNotice: (channel, ts, text) => notices.update(channel, ts, text),
  };
}

let redisServer: RedisHandle;
let redis: Redis;
let slack: SlackStandIn;
let server: Server;
let botUrl: string;
let am: AlertmanagerHandle;
let registry: Registry;
let prefix: string;
let requested: string[];
let intake: AlertIntake;
/** Every accepted webhook call: which alert names it carried, whether all were resolved, and what it led to. */
const deliveries: { names: Set<string>; allResolved: boolean; summary: IntakeSummary }[] = [];
let windowMs = 600_000;
/** Where both bot processes of the replay test remember accepted signatures. */
const SIGNATURE_PREFIX = `sig-${process.pid}`;
let updateIntervalMs = 2_000;

function makeIntake(slackApiUrl = slack.apiUrl): AlertIntake {
  const notices = new SlackAlertNotices(new WebClient('xoxb-test', { slackApiUrl, retryConfig: { retries: 0 } }));
  const routes = parseAlertRoutes('team=payments:#payments-oncall');
  return new AlertIntake({
    store: new AlertIncidentStore({ redis, prefix }),
    reporter: webApiReporter(notices, requested),
    inventory: () => inventory,
    defaultChannel: CHANNEL,
    routes: routes.ok ? routes.routes : [],
    windowMs,
    updateIntervalMs,
    logger: pino({ level: 'silent' }),
    metrics: createAlertMetrics(registry),
  });
}

beforeAll(async () => {
  redisServer = await startRedis();
  redis = new Redis(redisServer.url);
  // These alert notices call Slack through a bare WebClient, not the bot's budget: Slack's pace is not what is tested here.
  slack = await new SlackStandIn({ rateLimits: false }).start();
  registry = new Registry();
  const routes = createAlertRoutes({
    auth: { token: TOKEN, hmacSecret: SECRET },
    signatures: new RedisSignatureLedger({ redis, prefix: SIGNATURE_PREFIX }),
    intake: {
      ingest: async (alerts) => {
        const summary = await intake.ingest(alerts);
        deliveries.push({
          names: new Set(alerts.map((a) => a.alertName)),
          allResolved: alerts.every((a) => a.status === 'resolved'),
          summary,
        });
        return summary;
      },
    },
    logger: pino({ level: 'silent' }),
    metrics: createAlertMetrics(registry),
  });
  server = createServer((req, res) => {
    void routes(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  botUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  am = await startAlertmanager({ webhookUrl: `${botUrl}/alerts/alertmanager`, token: TOKEN });
});

afterAll(async () => {
  await am?.stop();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await slack?.stop();
  redis?.disconnect();
  await redisServer?.stop();
});

beforeEach(() => {
  prefix = freshPrefix('alerts');
  requested = [];
  windowMs = 600_000;
  updateIntervalMs = 2_000;
  intake = makeIntake();
});

const roots = (channel = CHANNEL) => slack.messages({ channel, rootsOnly: true });
const thread = (channel: string, ts: string) => slack.messages({ channel, threadTs: ts });
const keysOf = async (): Promise<string[]> => redis.keys(`${prefix}:*`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counter = async (outcome: string, source = 'alertmanager'): Promise<number> => {
  const metric = await registry.getSingleMetric('medic_alert_requests_total')?.get();
  return metric?.values.find((v) => v.labels.outcome === outcome && v.labels.source === source)?.value ?? 0;
};

/** Unique alert names per test: Alertmanager keeps alerts across tests. */
let seq = 0;
const uniqueName = (base: string) => `${base}${++seq}${Date.now() % 100000}`;

describe('Alertmanager → bot', () => {
  it('a firing alert reports its host once; resolving updates the root and says so in the thread', async () => {
    const alertname = uniqueName('NginxHigh502Rate');
    const labels = { alertname, instance: 'web-01:9113', job: 'nginx', severity: 'critical' };
    await am.postAlerts([{ labels, annotations: { summary: '502s on web-01' } }]);
    const root = await slack.waitFor(
      () => roots().find((m) => m.text.includes('web-01') && m.text.includes(alertname)),
      15_000,
      'the report of web-01',
    );
    expect(requested).toEqual(['web-01']);
    // The incident is stored right after the report is posted.
    const incident = async () =>
      JSON.parse((await redis.get(`${prefix}:alerts:incident:web-01`)) ?? '{"firing":[]}') as { firing: string[]; rootTs?: string };
    await expect.poll(incident, { timeout: 15_000 }).toMatchObject({ rootTs: root.ts, firing: [expect.any(String)] });

    await am.postAlerts([{ labels, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    await slack.waitFor(() => thread(CHANNEL, root.ts).find((m) => m.text.includes('Resolved')), 15_000, 'the resolution in the thread');
    const updated = slack.message(CHANNEL, root.ts);
    expect(updated?.updates).toBe(1);
    expect(updated?.text).toMatch(/Alert resolved/);
    expect(requested).toEqual(['web-01']);
  });

  it('a storm of 300 alerts over 3 hosts: one report per host, then one rate-limited "still firing" per thread', async () => {
    const names = Array.from({ length: 10 }, () => uniqueName('Storm'));
    const wave = (tag: string) =>
      Array.from({ length: 300 }, (_, i) => ({
        labels: { alertname: names[i % 10] as string, instance: `web-0${(i % 3) + 1}:9113`, path: `/${tag}/${i}` },
        annotations: { summary: `storm ${tag} ${i}` },
      }));
    const ofStorm = () => deliveries.filter((d) => names.some((n) => d.names.has(n)));
    // An interval that a loaded machine's second wave fits in: all its notifications arrive within it.
    updateIntervalMs = 8_000;
    intake = makeIntake();
    await am.postAlerts(wave('a'));
    await slack.waitFor(() => roots().filter((m) => names.some((n) => m.text.includes(n))).length >= 3, 20_000, 'three reports');
    // One notification per alertname group (10), each carrying all three hosts; Alertmanager has
    // sent all it will for each group of 30 before anything is counted.
    await Promise.all(names.map((n) => am.settled(n, 30)));
    expect(ofStorm()).toHaveLength(10);
    expect(
      ofStorm()
        .flatMap((d) => d.summary.reported)
        .sort(),
    ).toEqual(['web-01', 'web-02', 'web-03']);
    // The other 9 notifications reached every host while its report was fresh: held back, not reported.
    expect(ofStorm().flatMap((d) => d.summary.held)).toHaveLength(27);
    const stormRoots = roots().filter((m) => names.some((n) => m.text.includes(n)));
    expect(stormRoots).toHaveLength(3);
    expect(requested.sort()).toEqual(['web-01', 'web-02', 'web-03']);

    // The update interval passes (time itself is what is tested here), then the second wave.
    await sleep(updateIntervalMs + 200);
    await am.postAlerts(wave('b'));
    for (const root of stormRoots) {
      await slack.waitFor(
        () => thread(CHANNEL, root.ts).find((m) => m.text.includes('Still firing')),
        20_000,
        `a still-firing update for ${root.text}`,
      );
    }
    await Promise.all(names.map((n) => am.settled(n, 60)));
    for (const root of stormRoots) {
      const replies = thread(CHANNEL, root.ts).filter((m) => m.text.includes('Still firing'));
      // The second wave arrives as several notifications; the rate limit lets one through per interval.
      expect(replies.length).toBe(1);
      expect(replies[0]?.text).toMatch(/\d+ alerts/);
    }
    expect(roots().filter((m) => names.some((n) => m.text.includes(n)))).toHaveLength(3);
    expect(requested).toHaveLength(3);
  });

  it('an alert for a host not in the inventory is posted as such, labels escaped, and routed by label', async () => {
    const alertname = uniqueName('CacheDown');
    await am.postAlerts([
      {
        labels: { alertname, instance: 'cache-9:6379', team: 'payments', note: '<!channel> <https://evil.example|x>' },
        annotations: { summary: 'cache-9 is down' },
      },
    ]);
    const notice = await slack.waitFor(
      () => roots('#payments-oncall').find((m) => m.text.includes(alertname)),
      15_000,
      'the unknown-host notice',
    );
    expect(notice.text).toContain('`cache-9`');
    expect(notice.text).toContain('not in the inventory');
    expect(notice.text).toContain('team="payments"');
    expect(notice.text).toContain('&lt;!channel&gt;');
    expect(notice.text).not.toMatch(/<!channel>|<https:/);
    expect(requested).toEqual([]);
  });
});

describe('many hosts the inventory does not have', () => {
  it('an alert firing for 30 unknown hosts is one notice listing them, not 30; resolving all of them says so once', async () => {
    const alertname = uniqueName('PodCrashLooping');
    const alerts = Array.from({ length: 30 }, (_, i) => ({
      labels: { alertname, instance: `pod-${String(i).padStart(2, '0')}:8080`, job: 'k8s' },
      annotations: { summary: 'crash looping' },
    }));
    await am.postAlerts(alerts);
    const notice = await slack.waitFor(() => roots().find((m) => m.text.includes(alertname)), 15_000, 'the notice');
    await am.settled(alertname, 30); // every notification of this group has been answered
    expect(roots().filter((m) => m.text.includes(alertname))).toHaveLength(1);
    expect(notice.text).toContain('fires for 30 hosts that are not in the inventory (label `instance`)');
    expect(notice.text).toContain('`pod-00`, `pod-01`');
    expect(notice.text).toContain('`pod-19` and 10 more');
    expect(notice.text).not.toContain('`pod-20`');
    expect(requested).toEqual([]);
    const summary = deliveries.filter((d) => d.names.has(alertname)).at(0)?.summary;
    expect(summary?.unknownHosts).toEqual([`?*${alertname}`]);

    await am.postAlerts(alerts.map((a) => ({ ...a, endsAt: new Date(Date.now() - 1000).toISOString() })));
    await slack.waitFor(() => thread(CHANNEL, notice.ts).find((m) => m.text.includes('Resolved')), 15_000, 'the resolution in the thread');
    // Alertmanager's last word for the group: all 30 resolved, answered (it then forgets the group).
    await slack.waitFor(
      () => deliveries.some((d) => d.names.has(alertname) && d.allResolved) || undefined,
      15_000,
      'the notification that resolves all 30',
    );
    expect(thread(CHANNEL, notice.ts).filter((m) => m.text.includes('Resolved'))).toHaveLength(1);
    expect(slack.message(CHANNEL, notice.ts)?.text).toMatch(/Resolved after/);
  });

  it('five unknown hosts still get a notice each', async () => {
    const alertname = uniqueName('DiskFull');
    await am.postAlerts(
      Array.from({ length: 5 }, (_, i) => ({ labels: { alertname, instance: `db-${i}:9100` }, annotations: { summary: 'disk full' } })),
    );
    await slack.waitFor(() => roots().filter((m) => m.text.includes(alertname)).length >= 5 || undefined, 15_000, 'five notices');
    await am.settled(alertname, 5);
    const notices = roots().filter((m) => m.text.includes(alertname));
    expect(notices.map((m) => /for host `(db-\d)`/.exec(m.text)?.[1]).sort()).toEqual(['db-0', 'db-1', 'db-2', 'db-3', 'db-4']);
  });
});

describe('refusals never queue anything', () => {
  const body = readFileSync(new URL('./unit/alerts/fixtures/alertmanager-v4-firing.json', import.meta.url), 'utf8');
  const post = (path: string, payload: string, headers: Record<string, string>) =>
    fetch(`${botUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });

  it.each([
    ['a wrong bearer token', { authorization: 'Bearer wrong-token-0000000000' }, 'bad_token'],
    ['no credentials', {}, 'missing_credentials'],
  ])('401 for %s', async (_name, headers, error) => {
    const before = await counter('unauthorized');
    const res = await post('/alerts/alertmanager', body, headers);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ ok: false, error });
    expect(await counter('unauthorized')).toBe(before + 1);
    expect(await keysOf()).toEqual([]);
    expect(requested).toEqual([]);
  });

  it('401 for a bad or replayed signature on the generic route; 202 for a good one', async () => {
    const generic = JSON.stringify({ host: 'web-02', alertname: uniqueName('Synthetic'), summary: 'checkout 502' });
    const bad = { ...signAlertRequest(SECRET, generic, Date.now()), 'x-medic-signature': `sha256=${'0'.repeat(64)}` };
    const r1 = await post('/alerts/generic', generic, bad);
    expect(r1.status).toBe(401);
    expect(await r1.json()).toMatchObject({ error: 'bad_signature' });
    const r2 = await post('/alerts/generic', generic, signAlertRequest(SECRET, generic, Date.now() - 6 * 60_000));
    expect(r2.status).toBe(401);
    expect(await r2.json()).toMatchObject({ error: 'stale_timestamp' });
    expect(await keysOf()).toEqual([]);
    const future = await post('/alerts/generic', generic, signAlertRequest(SECRET, generic, Date.now() + 5 * 60_000));
    expect(future.status).toBe(401);
    expect(await future.json()).toMatchObject({ error: 'future_timestamp' });
    expect(await keysOf()).toEqual([]);
    const signed = signAlertRequest(SECRET, generic, Date.now());
    const r3 = await post('/alerts/generic', generic, signed);
    expect(r3.status).toBe(202);
    expect(await r3.json()).toMatchObject({ ok: true, reported: ['web-02'] });
    expect(requested).toEqual(['web-02']);
    // The same signed request again, within its window: refused, and nothing else happens.
    const again = await post('/alerts/generic', generic, signed);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ ok: false, error: 'replayed' });
    expect(requested).toEqual(['web-02']);
  });

  it('a signature accepted by one bot process is refused by another sharing the Redis', async () => {
    const other = createAlertRoutes({
      auth: { token: TOKEN, hmacSecret: SECRET },
      signatures: new RedisSignatureLedger({ redis, prefix: SIGNATURE_PREFIX }),
      intake: { ingest: async () => ({ alerts: 0, reported: [], updated: [], held: [], resolved: [], unknownHosts: [] }) },
      logger: pino({ level: 'silent' }),
    });
    const second = createServer((req, res) => void other(req, res));
    await new Promise<void>((r) => second.listen(0, '127.0.0.1', r));
    try {
      const generic = JSON.stringify({ host: 'web-02', alertname: uniqueName('Replay'), summary: 'checkout 502' });
      const signed = signAlertRequest(SECRET, generic, Date.now());
      const first = await fetch(`http://127.0.0.1:${(second.address() as AddressInfo).port}/alerts/generic`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed },
        body: generic,
      });
      expect(first.status).toBe(202);
      const replay = await post('/alerts/generic', generic, signed);
      expect(replay.status).toBe(409);
      expect(await replay.json()).toMatchObject({ error: 'replayed' });
      expect(requested).toEqual([]);
    } finally {
      second.closeAllConnections();
      await new Promise<void>((r) => second.close(() => r()));
    }
  });

  it("400 for malformed JSON and for a body that is not the route's payload", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const r1 = await post('/alerts/alertmanager', '{"version":"4",', auth);
    expect(r1.status).toBe(400);
    expect(await r1.json()).toMatchObject({ error: 'malformed_json' });
    const r2 = await post('/alerts/grafana', body, auth);
    expect(r2.status).toBe(400);
    expect(await r2.json()).toMatchObject({ error: 'invalid_payload', message: expect.stringContaining('orgId') });
    expect(await keysOf()).toEqual([]);
  });

  it('415 for another media type, 405 for GET', async () => {
    const r1 = await fetch(`${botUrl}/alerts/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` },
      body,
    });
    expect(r1.status).toBe(415);
    const r2 = await fetch(`${botUrl}/alerts/alertmanager`);
    expect(r2.status).toBe(405);
    expect(r2.headers.get('allow')).toBe('POST');
  });

  it('413 for a declared oversized body, before reading it', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    const res = await post('/alerts/alertmanager', big, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'too_large' });
    expect(await keysOf()).toEqual([]);
  });

  it('413 for an undeclared (chunked) oversized body, reading no further than the cap', async () => {
    const { port } = new URL(botUrl);
    const before = await counter('too_large');
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let got = '';
      let sent = 0;
      socket.on('data', (d) => (got += d.toString()));
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
      socket.setTimeout(10_000, () => reject(new Error(`no answer; sent ${sent}`)));
      socket.write(
        `POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        // Far more than the cap: a server that kept reading would never answer before we stop.
        while (sent < 8 * 1024 * 1024 && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(await counter('too_large')).toBe(before + 1);
    expect(await keysOf()).toEqual([]);
  });
});

describe('state survives a restart', () => {
  it('a new bot process continues the thread instead of reporting again', async () => {
    updateIntervalMs = 0;
    intake = makeIntake();
    const alertname = uniqueName('Restart');
    const generic = (status: string) => JSON.stringify({ host: 'web-03', alertname, status, fingerprint: `fp-${alertname}` });
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    expect((await fetch(`${botUrl}/alerts/generic`, { method: 'POST', headers: auth, body: generic('firing') })).status).toBe(202);
    const root = await slack.waitFor(() => roots().find((m) => m.text.includes(alertname)), 10_000, 'the report');

    intake = makeIntake(); // what a restarted process builds: nothing in memory
    const again = await fetch(`${botUrl}/alerts/generic`, { method: 'POST', headers: auth, body: generic('firing') });
    expect(await again.json()).toMatchObject({ reported: [], updated: ['web-03'] });
    expect(thread(CHANNEL, root.ts).map((m) => m.text)).toEqual([expect.stringContaining('Still firing')]);

    intake = makeIntake();
    const resolved = await fetch(`${botUrl}/alerts/generic`, { method: 'POST', headers: auth, body: generic('resolved') });
    expect(await resolved.json()).toMatchObject({ resolved: ['web-03'] });
    expect(slack.message(CHANNEL, root.ts)?.text).toMatch(/Alert resolved/);
    expect(requested).toEqual(['web-03']);
  });

  it('Slack unreachable: 503, nothing remembered, and the next delivery reports', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/api/`;
    await new Promise<void>((r) => dead.close(() => r()));
    intake = makeIntake(deadUrl);
    const alertname = uniqueName('SlackDown');
    const body = JSON.stringify({
      alerts: [
        { host: 'web-01', alertname },
        { host: 'web-02', alertname },
      ],
    });
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const failed = await fetch(`${botUrl}/alerts/generic`, { method: 'POST', headers: auth, body });
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ ok: false, error: 'failed' });
    expect(await redis.keys(`${prefix}:alerts:incident:*`)).toEqual([]);

    intake = makeIntake();
    const again = await fetch(`${botUrl}/alerts/generic`, { method: 'POST', headers: auth, body });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ reported: ['web-01', 'web-02'] });
    expect(roots().filter((m) => m.text.includes(alertname))).toHaveLength(2);
  });

  it('Grafana alerts map through instance and are reported', async () => {
    const grafana = JSON.parse(readFileSync(new URL('./unit/alerts/fixtures/grafana-firing.json', import.meta.url), 'utf8')) as {
      alerts: { labels: Record<string, string> }[];
    };
    const alertname = uniqueName('Grafana');
    for (const a of grafana.alerts) a.labels['alertname'] = alertname;
    (grafana.alerts[0] as { labels: Record<string, string> }).labels['instance'] = '10.0.0.12:9113';
    const res = await fetch(`${botUrl}/alerts/grafana`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(grafana),
    });
    expect(res.status).toBe(202);
    // The resolved alert of the fixture names web-03 by address but was never reported: nothing to do.
    expect(await res.json()).toMatchObject({ reported: ['web-02'], resolved: [] });
    expect(requested).toEqual(['web-02']);
  });
});
