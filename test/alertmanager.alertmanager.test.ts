import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertWebhooks } from '../src/adapters/alerts/alert-webhooks.ts';
import { signAlertRequest } from '../src/adapters/alerts/verify-alert-request.ts';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { buildApp, type MedicApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { SlackStandIn, type StoredMessage } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { startAlertmanager, type AlertmanagerHandle, type PostableAlert } from './helpers/alertmanager.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, blockText, LogCapture, loopbackEnv } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

/*
 * Alert-triggered reports end to end: a real Prometheus Alertmanager posts to the real bot
 * (HTTP server, Bolt app, DiagnosisService) on a real Redis; a real BullMQ worker diagnoses
 * the lab's real nginx/php-fpm over real sshd; the report lands in the Slack stand-in.
 */

const TOKEN = 'alert-token-0123456789abcdef';
const SECRET = 'alert-hmac-0123456789abcdef';
const ALERTS = 'C0ALERTS';
const PAYMENTS = 'C0PAYMENTS';
const UPDATE_INTERVAL_MS = 3000;

let redis: RedisHandle;
let lab: Lab;
let standIn: SlackStandIn;
let app: MedicApp;
let botUrl: string;
let am: AlertmanagerHandle;
const logs = new LogCapture();

beforeAll(async () => {
  [redis, lab, standIn] = await startTogether(startRedis(), startLab(), new SlackStandIn({ botToken: BOT_TOKEN }).start());
  const labInventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
  const web01 = labInventory.hosts['web-01'];
  if (web01 === undefined) throw new Error('the lab inventory has no web-01');
  // Three inventory hosts on the one lab machine, so a storm can span hosts that all really answer.
  // web-04 is only for the alert that carries a URL, so that no other test's diagnosis is shared with it.
  const inventory: Inventory = { hosts: { 'web-01': web01, 'web-02': web01, 'web-03': web01, 'web-04': web01 }, groups: {} };
  const config = loadConfig(
    {
      ...loopbackEnv(redis.url, standIn),
      MEDIC_QUEUE_PREFIX: freshPrefix('alerts'),
      MEDIC_ALERT_TOKEN: TOKEN,
      MEDIC_ALERT_HMAC_SECRET: SECRET,
      MEDIC_ALERT_CHANNEL: ALERTS,
      MEDIC_ALERT_ROUTES: `team=payments:${PAYMENTS}`,
      MEDIC_ALERT_WINDOW: '10m',
      MEDIC_ALERT_UPDATE_INTERVAL: `${UPDATE_INTERVAL_MS / 1000}s`,
    },
    { envFile: false },
  );
  app = await buildApp({
    config,
    role: 'all',
    logger: logs.logger('info'),
    inventory: () => inventory,
    playbooks: await loadPlaybooks(),
    connector: new SshConnector(),
    extensions: [alertWebhooks()],
    workerName: 'alert-test',
  });
  botUrl = (await app.start()).url;
  am = await startAlertmanager({ webhookUrl: `${botUrl}/alerts/alertmanager`, token: TOKEN });
  await lab.applyScenario('php_fpm_down');
});

afterAll(async () => {
  await am?.stop();
  await app?.stop();
  await standIn?.stop();
  await lab?.stop({ removeDir: true });
  await redis?.stop();
});

const roots = (channel = ALERTS): StoredMessage[] =>
  standIn.messages({ channel, rootsOnly: true }).filter((m) => m.visibleTo === undefined);
const thread = (root: StoredMessage): StoredMessage[] => standIn.messages({ channel: root.channel, threadTs: root.ts });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jobsQueued = async (): Promise<number> => {
  const c = await app.queues.diagnose.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  return Object.values(c).reduce((a, b) => a + b, 0);
};
const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
  const text = await (await fetch(`${botUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? 0 : Number(line.split(' ').pop());
};
const rejectedCalls = () => standIn.calls.filter((c) => c.response.ok !== true);

describe('an Alertmanager alert makes the bot diagnose the lab host', () => {
  it('posts the report of web-01 with the alert as requester, then marks it resolved', async () => {
    const labels = { alertname: 'NginxHigh502Rate', instance: 'web-01:9113', job: 'nginx', severity: 'critical' };
    await am.postAlerts([{ labels, annotations: { summary: 'nginx on web-01 answers 502 to 12% of requests' } }]);

    const root = await standIn.waitFor(
      () => roots().find((m) => blockText(m).includes('PHP-FPM is down')),
      40_000,
      'the verdict of web-01',
    );
    const text = blockText(root);
    expect(text).toContain('web-01');
    expect(text).toContain('`php_fpm_down`');
    expect(text).toContain('alert `NginxHigh502Rate` from alertmanager');
    expect(text).toContain('nginx on web-01 answers 502');
    const findings = await standIn.waitFor(
      () => thread(root).find((m) => blockText(m).includes('php_fpm_down')),
      10_000,
      'the findings in the thread',
    );
    expect(blockText(findings)).toContain('```');

    const updatesBefore = root.updates;
    await am.postAlerts([{ labels, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    await standIn.waitFor(() => thread(root).find((m) => m.text.includes('Resolved')), 20_000, 'Resolved in the thread');
    const after = standIn.message(root.channel, root.ts);
    expect(after?.updates).toBeGreaterThan(updatesBefore);
    expect(blockText(after as StoredMessage)).toMatch(/Alert resolved \(NginxHigh502Rate\)/);
    // Still the verdict: resolving does not erase the report.
    expect(blockText(after as StoredMessage)).toContain('PHP-FPM is down');
    expect(rejectedCalls()).toEqual([]);
  });

  it('a storm of 400 alerts over three hosts gives one report per host, then "still firing" instead of new reports', async () => {
    const queued0 = await jobsQueued();
    const roots0 = roots().length;
    const names = ['Storm502', 'StormLatency', 'StormUpstream', 'StormFpmDown'];
    const wave = (tag: string): PostableAlert[] =>
      Array.from({ length: 400 }, (_, i) => ({
        labels: { alertname: names[i % names.length] as string, instance: `web-0${(i % 3) + 1}:9113`, path: `/${tag}/${i}` },
        annotations: { summary: `storm ${tag} ${i}` },
      }));
    await am.postAlerts(wave('a'));
    // web-01 was reported by the previous test within the window: it must not be diagnosed again.
    const stormRoots = await standIn.waitFor(
      () => {
        const r = roots()
          .slice(roots0)
          .filter((m) => blockText(m).includes('from alertmanager'));
        return r.length >= 2 && r.every((m) => m.updates > 0) ? r : undefined;
      },
      40_000,
      'reports of web-02 and web-03',
    );
    // Alertmanager has sent (and the bot answered) all it will for the first wave's 100 alerts per name.
    await Promise.all(names.map((n) => am.settled(n, 100)));
    const fresh = roots()
      .slice(roots0)
      .filter((m) => blockText(m).includes('from alertmanager'));
    expect(fresh).toHaveLength(2);
    expect(fresh.map((m) => (m.text.match(/web-0\d/) ?? [''])[0]).sort()).toEqual(['web-02', 'web-03']);
    expect((await jobsQueued()) - queued0).toBe(2);

    // A second wave after the update interval: each open thread (web-01's too) says "still firing", once.
    // (Alertmanager may deliver the first wave in notifications more than an interval apart, and each
    // such late notification may already have said "still firing": count only what the second wave adds.)
    // The update interval passes (time itself is what is tested here), then the second wave.
    await sleep(UPDATE_INTERVAL_MS);
    const stillFiring = (r: StoredMessage): StoredMessage[] => thread(r).filter((m) => m.text.includes('Still firing'));
    const before = new Map(stormRoots.map((r) => [r.ts, stillFiring(r).length]));
    await am.postAlerts(wave('b'));
    const web01 = roots().find(
      (m) => blockText(m).includes('NginxHigh502Rate') && blockText(m).includes('PHP-FPM is down'),
    ) as StoredMessage;
    for (const r of stormRoots) {
      await standIn.waitFor(
        () => (stillFiring(r).length > (before.get(r.ts) ?? 0) ? true : undefined),
        20_000,
        `a new update in ${r.text}`,
      );
    }
    await standIn.waitFor(
      () => thread(web01).find((m) => m.text.includes('Firing') || m.text.includes('Still firing')),
      20_000,
      `an update in ${web01.text}`,
    );
    await Promise.all(names.map((n) => am.settled(n, 200)));
    for (const r of stormRoots) {
      const updates = stillFiring(r);
      expect(updates, r.text).toHaveLength((before.get(r.ts) ?? 0) + 1);
      expect(updates.at(-1)?.text).toMatch(/\d+ alerts/);
    }
    expect(
      roots()
        .slice(roots0)
        .filter((m) => blockText(m).includes('from alertmanager')),
    ).toHaveLength(2);
    expect((await jobsQueued()) - queued0).toBe(2);
    expect(await metric('medic_alert_actions_total', { action: 'hold' })).toBeGreaterThan(0);
    expect(rejectedCalls()).toEqual([]);
  });

  it('an alert for a host not in the inventory is posted as such, with its labels escaped, in the routed channel', async () => {
    const queued0 = await jobsQueued();
    await am.postAlerts([
      {
        labels: { alertname: 'RedisDown', instance: 'cache-9:6379', team: 'payments', note: '<!channel> see <https://evil.example|this>' },
        annotations: { summary: 'cache-9 is down' },
      },
    ]);
    const notice = await standIn.waitFor(
      () => roots(PAYMENTS).find((m) => m.text.includes('RedisDown')),
      20_000,
      'the unknown-host notice',
    );
    expect(notice.text).toContain('`cache-9`');
    expect(notice.text).toContain('not in the inventory');
    expect(notice.text).toContain('team="payments"');
    expect(notice.text).not.toMatch(/<!channel>|<https:/);
    expect(await jobsQueued()).toBe(queued0);
  });
});

describe('refused webhook calls never queue anything', () => {
  const firing = JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="X"}',
    status: 'firing',
    receiver: 'medic',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://am',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'X', instance: 'web-02:9113' },
        annotations: {},
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: 'f00dfeedf00dfeed',
      },
    ],
  });

  async function expectNothingQueued(
    send: () => Promise<{ status: number; body: unknown }>,
    status: number,
    error: string,
    outcome: string,
    source = 'alertmanager',
  ): Promise<void> {
    const queued0 = await jobsQueued();
    const calls0 = standIn.calls.length;
    const counted0 = await metric('medic_alert_requests_total', { source, outcome });
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ ok: false, error });
    // The handler counts the outcome as its last step before it answers: the refusal was handled through.
    expect(await metric('medic_alert_requests_total', { source, outcome })).toBe(counted0 + 1);
    expect(await jobsQueued()).toBe(queued0);
    expect(standIn.calls.length).toBe(calls0);
  }

  const post = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${botUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, body: await res.json() };
  };

  it('a wrong bearer token: 401', async () => {
    await expectNothingQueued(
      () => post('/alerts/alertmanager', firing, { authorization: 'Bearer not-the-token-000000' }),
      401,
      'bad_token',
      'unauthorized',
    );
  });

  it('a bad signature, and a replayed one: 401', async () => {
    const generic = JSON.stringify({ host: 'web-02', alertname: 'Checkout502' });
    const forged = { ...signAlertRequest(SECRET, generic, Date.now()), 'x-medic-signature': `sha256=${'ab'.repeat(32)}` };
    await expectNothingQueued(() => post('/alerts/generic', generic, forged), 401, 'bad_signature', 'unauthorized', 'generic');
    await expectNothingQueued(
      () => post('/alerts/generic', generic, signAlertRequest(SECRET, generic, Date.now() - 10 * 60_000)),
      401,
      'stale_timestamp',
      'unauthorized',
      'generic',
    );
  });

  it('malformed JSON: 400', async () => {
    await expectNothingQueued(
      () => post('/alerts/alertmanager', firing.slice(0, -10), { authorization: `Bearer ${TOKEN}` }),
      400,
      'malformed_json',
      'bad_request',
    );
  });

  it('a body over 1 MiB: 413, declared or streamed', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });
    await expectNothingQueued(() => post('/alerts/alertmanager', big, { authorization: `Bearer ${TOKEN}` }), 413, 'too_large', 'too_large');
    const { port } = new URL(botUrl);
    const queued0 = await jobsQueued();
    const head = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let got = '';
      socket.on('data', (d) => (got += d.toString()));
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
      socket.write(
        `POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = 'a'.repeat(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 8 * 1024 * 1024 && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    expect(head).toMatch(/^HTTP\/1\.1 413/);
    expect(await jobsQueued()).toBe(queued0);
  });
});

describe('an alert that carries the public URL that failed', () => {
  it("a url annotation is asked of the host's own nginx: the report says the 502 is the origin's own", async () => {
    const url = `http://web-04:${lab.nginxPort}/`;
    await am.postAlerts([
      { labels: { alertname: 'CheckoutDown', host: 'web-04', job: 'blackbox' }, annotations: { summary: 'checkout answers 502', url } },
    ]);
    const root = await standIn.waitFor(
      () => roots().find((m) => blockText(m).includes('web-04') && blockText(m).includes('`php_fpm_down`')),
      40_000,
      'the verdict of web-04',
    );
    const finding = await standIn.waitFor(
      () => thread(root).find((m) => blockText(m).includes('The origin itself answers 502')),
      10_000,
      'the origin read in the finding',
    );
    expect(blockText(finding)).toContain(url);
    expect(rejectedCalls()).toEqual([]);
  });
});
