import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { blockText, CHANNEL, eventually, roots, SIGNING_SECRET, startSlackHarness, type SlackHarness } from './helpers/slack.ts';

const host = (address: string) => ({
  address,
  port: 22,
  user: 'oncall',
  privateKeyPath: '/nonexistent/key',
  knownHostsPath: '/nonexistent/known_hosts',
  sudo: false,
  playbook: 'nginx-502',
  facts: {},
});

/** No worker runs here: these are the bot's answers and what it queues, on a real Redis. */
const inventory: Inventory = {
  hosts: { 'web-01': host('10.0.0.11'), 'web-02': host('10.0.0.12'), 'web-03': host('10.0.0.13'), 'db-01': host('10.0.0.21') },
  groups: { web: ['web-*'] },
};

describe('the /502 command (bot only, real Bolt, real Redis)', () => {
  let redis: RedisHandle;
  let h: SlackHarness;

  beforeAll(async () => {
    redis = await startRedis();
  });
  beforeEach(async () => {
    await h?.stop();
    h = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks: await loadPlaybooks(), role: 'bot' });
  });
  afterAll(async () => {
    await h?.stop();
    await redis?.stop();
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(h.eventsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const commandBody = (text: string) =>
    new URLSearchParams({
      command: '/502',
      text,
      user_id: 'U0ALICE',
      channel_id: CHANNEL,
      team_id: 'T1',
      response_url: 'http://127.0.0.1:9/r',
      trigger_id: 't',
    }).toString();
  const sign = (body: string, ts: number) => `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;

  it('refuses a forged signature, queues nothing and posts nothing', async () => {
    const body = commandBody('diagnose web-01');
    const now = Math.floor(Date.now() / 1000);
    const forged = await post(body, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(`${body}&x=1`, now) });
    expect(forged.status).toBe(401);
    const wrongSecret = await post(body, {
      'x-slack-request-timestamp': String(now),
      'x-slack-signature': `v0=${createHmac('sha256', 'not-the-secret').update(`v0:${now}:${body}`).digest('hex')}`,
    });
    expect(wrongSecret.status).toBe(401);
    const unsigned = await post(body, {});
    expect(unsigned.status).toBe(401);
    expect(await h.app.queues.diagnose.count()).toBe(0);
    expect(h.standIn.callsOf('chat.postMessage')).toEqual([]);
  });

  it('refuses a replayed request (signed correctly, timestamp older than 5 minutes)', async () => {
    const body = commandBody('diagnose web-01');
    const old = Math.floor(Date.now() / 1000) - 5 * 60 - 5;
    const replayed = await post(body, { 'x-slack-request-timestamp': String(old), 'x-slack-signature': sign(body, old) });
    expect(replayed.status).toBe(401);
    // The same request signed 4 minutes ago is still Slack's to retry: accepted.
    const recent = Math.floor(Date.now() / 1000) - 4 * 60;
    const fresh = await post(body, { 'x-slack-request-timestamp': String(recent), 'x-slack-signature': sign(body, recent) });
    expect(fresh.status).toBe(200);
    await eventually(
      async () => (await h.app.queues.diagnose.count()) === 1 && h.standIn.callsOf('chat.postMessage').length > 0,
      5000,
      'the job and the root message',
    );
    expect(await h.app.queues.diagnose.count()).toBe(1);
  });

  it('refuses a request signed more than 5 minutes ahead, a repeated field and an oversized body; leaves ssl_check to Bolt', async () => {
    const body = commandBody('diagnose web-01');
    const ahead = Math.floor(Date.now() / 1000) + 5 * 60 + 5;
    const future = await post(body, { 'x-slack-request-timestamp': String(ahead), 'x-slack-signature': sign(body, ahead) });
    expect(future.status).toBe(401);
    // Signed correctly, but with a second text: which one Slack meant is not for us to pick.
    const now = Math.floor(Date.now() / 1000);
    const twice = `${body}&text=diagnose+db-01`;
    const repeated = await post(twice, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(twice, now) });
    expect(repeated.status).toBe(400);
    const huge = `${body}&filler=${'a'.repeat(2 * 1024 * 1024)}`;
    const oversized = await post(huge, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(huge, now) });
    expect(oversized.status).toBe(413);
    // Slack's SSL check of the command's URL: unsigned, answered 200 by Bolt.
    const ssl = await post('ssl_check=1&token=x', {});
    expect(ssl.status).toBe(200);
    expect(await h.app.queues.diagnose.count()).toBe(0);
    expect(h.standIn.callsOf('chat.postMessage')).toEqual([]);
  });

  it('help, hosts, unknown subcommands and unknown hosts are answered in the ack, listing what exists', async () => {
    const help = await h.command('help');
    expect(help.status).toBe(200);
    expect(JSON.stringify(help.body)).toContain('/502 diagnose');

    const hosts = await h.command('hosts');
    const hostsText = JSON.stringify(hosts.body);
    for (const name of ['web-01', 'web-02', 'db-01', 'web']) expect(hostsText).toContain(name);

    const unknownSub = await h.command('restart web-01');
    expect(JSON.stringify(unknownSub.body)).toContain('Unknown command');
    expect(JSON.stringify(unknownSub.body)).toContain('`diagnose`');

    const unknownHost = await h.command('diagnose web-99');
    const text = JSON.stringify(unknownHost.body);
    expect(text).toContain('web-99');
    expect(text).toContain('web-01, web-02, web-03');
    expect(text).toContain('Groups: web');
    expect((unknownHost.body as { response_type: string }).response_type).toBe('ephemeral');

    // Nothing a user typed reaches a shell or a queue: hostile text is refused as a name.
    const hostile = await h.command('diagnose web-01;rm${IFS}-rf');
    expect(JSON.stringify(hostile.body)).toContain('is not a host, group or pattern');
    const mention = await h.command('diagnose <!channel>');
    expect(JSON.stringify(mention.body)).toContain('&lt;!channel&gt;');
    expect(await h.app.queues.diagnose.count()).toBe(0);
    expect(h.standIn.callsOf('chat.postMessage')).toEqual([]);
    // The refusals are in the audit trail (written after the acks, once the burst is answered).
    await eventually(() => h.logs.audit('refused').length >= 3, 10_000, 'the refusals in the audit trail');
  });

  it('a pattern of 14 wildcards is refused in the ack, in words; nothing is matched, queued or posted', async () => {
    const t0 = performance.now();
    const ack = await h.command('diagnose **************Z');
    // It took 27 s when each `*` became `.*`; the bound only says "not that".
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(ack.status).toBe(200);
    expect((ack.body as { response_type: string }).response_type).toBe('ephemeral');
    expect(JSON.stringify(ack.body)).toContain('a host pattern may have at most 8 wildcards');
    await eventually(async () => h.logs.audit('refused').length === 1, 5000, 'the refusal in the audit trail');
    expect(await h.app.queues.diagnose.count()).toBe(0);
    expect(h.standIn.callsOf('chat.postMessage')).toEqual([]);
  });

  it('queues work instead of running it: a job with ids only, and a root message saying so', async () => {
    const ack = await h.command('diagnose web-01 checkout returns 502');
    expect(ack.status).toBe(200);
    expect(ack.body).toBe('');
    await h.standIn.waitFor(() => h.standIn.responseUrlPosts.find((p) => p.id === ack.responseUrlId), 5000, 'the ephemeral answer');
    const jobs = await h.app.queues.diagnose.getJobs(['waiting']);
    expect(jobs).toHaveLength(1);
    expect(Object.keys(jobs[0]?.data ?? {}).sort()).toEqual(['diagnosisId', 'host', 'playbook']);
    expect(JSON.stringify(jobs[0]?.data)).not.toContain('xoxb');
    const [root] = roots(h.standIn);
    expect(root && blockText(root)).toContain('web-01: queued');
    expect(root && blockText(root)).toContain('checkout returns 502');
  });

  it('shares a diagnosis already queued for the same host: one job, and each requester is told', async () => {
    const [a, b, c] = await Promise.all([
      h.command('diagnose web-01', 'U0ALICE'),
      h.command('diagnose web-01', 'U0BOB'),
      h.command('diagnose web-01', 'U0CAROL'),
    ]);
    const answers = await h.standIn.waitFor(
      () => {
        const posts = [a, b, c].map((r) => h.standIn.responseUrlPosts.find((p) => p.id === r?.responseUrlId));
        return posts.every((p) => p !== undefined) ? posts : undefined;
      },
      5000,
      'three answers',
    );
    const texts = answers.map((p) => String(p?.body.text));
    expect(texts.filter((t) => t.includes('diagnosis queued'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('already being diagnosed'))).toHaveLength(2);
    expect(await h.app.queues.diagnose.count()).toBe(1);
    expect(roots(h.standIn)).toHaveLength(1);
    expect(h.logs.audit('joined')).toHaveLength(2);
    // The shared report names who else asked.
    const root = roots(h.standIn)[0];
    await h.standIn.waitFor(() => root !== undefined && blockText(root).includes('Also asked'), 5000);
  });

  it('fans a group out: one summary message and one job per host, no root message per host', async () => {
    await h.command('diagnose web');
    const summary = await h.standIn.waitFor(() => roots(h.standIn)[0], 5000, 'the summary');
    expect(blockText(summary)).toContain('502 diagnosis: web (3 hosts)');
    await eventually(async () => (await h.app.queues.diagnose.count()) === 3, 5000, 'three jobs');
    await h.standIn.waitFor(
      () => (blockText(summary).includes('0/3 finished:* 3 × running') ? summary : undefined),
      5000,
      'the summary listing the 3 hosts',
    );
    expect(blockText(summary)).toContain('web-01, web-02, web-03');
    // Every host's request is made (the summary lists all three) and every Slack call for them sent.
    expect(h.logs.audit('request')).toHaveLength(3);
    await h.app.reporter.idle();
    await h.app.slackBudget.idle();
    expect(await h.app.queues.diagnose.count()).toBe(3);
    expect(roots(h.standIn)).toEqual([summary]);
  });

  it('shows the audit trail of a host with /502 history', async () => {
    await h.command('diagnose db-01');
    await eventually(async () => (await h.app.queues.diagnose.count()) === 1, 5000, 'the job');
    await h.standIn.waitFor(() => roots(h.standIn).length === 1 || undefined, 5000);
    const ack = await h.command('history db-01');
    const post = await h.standIn.waitFor(() => h.standIn.responseUrlPosts.find((p) => p.id === ack.responseUrlId), 5000);
    const text = JSON.stringify(post.body);
    expect(text).toContain('History of db-01');
    expect(text).toContain('`request`');
    expect(text).toContain('<@U0ALICE>');
    const unknown = await h.command('history nope');
    expect(JSON.stringify(unknown.body)).toContain('Hosts: db-01, web-01');
  });

  it('counts commands and queue depth in /metrics, and reports ready', async () => {
    await h.command('diagnose web-02');
    await eventually(async () => (await h.app.queues.diagnose.count()) === 1, 5000, 'the job');
    const metrics = await (await fetch(`${h.baseUrl}/metrics`)).text();
    expect(metrics).toContain('medic_slash_commands_total{subcommand="diagnose"} 1');
    expect(metrics).toMatch(/medic_queue_depth\{queue="diagnose",state="waiting"\} 1/);
    expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${h.baseUrl}/nope`)).status).toBe(404);
  });
});
