import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertIncidentStore } from '../src/adapters/alerts/alert-incident-store.ts';
import { ApprovalStore } from '../src/adapters/store/approval-store.ts';
import { AuditTrail } from '../src/adapters/store/audit-trail.ts';
import { DiagnosisRecords } from '../src/adapters/store/diagnosis-records.ts';
import { FanoutRecords } from '../src/adapters/store/fanout-records.ts';
import { createRedis, whenReady } from '../src/adapters/store/redis-client.ts';
import { RedisKeys } from '../src/adapters/store/redis-keys.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';
import { LogCapture } from './helpers/slack.ts';

/** The Redis side of the audit trail and of approvals, on a real redis-server. */
describe('audit trail and approval records', () => {
  let server: RedisHandle;
  let redis: ReturnType<typeof createRedis>;

  beforeAll(async () => {
    server = await startRedis();
    redis = createRedis(server.url);
    // The bot's connection fails fast instead of queueing commands: it must be up first.
    await whenReady(redis, 10_000);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  it('keeps a bounded stream per host, newest first, and writes the same entries as pino lines', async () => {
    const keys = new RedisKeys(freshPrefix('audit'));
    const logs = new LogCapture();
    let t = Date.parse('2026-01-01T00:00:00Z');
    const audit = new AuditTrail(redis, { keys, logger: logs.logger('info'), now: () => new Date((t += 1000)), limit: 10 });
    for (let i = 0; i < 30; i++)
      await audit.record({ kind: i % 3 === 0 ? 'check' : 'request', host: 'web-01', actor: 'U0ALICE', detail: `entry ${i}` });
    await audit.record({ kind: 'refused', host: 'no such host!', actor: 'U0EVE', detail: 'diagnose <!channel>' });

    expect(await redis.xlen(keys.audit('web-01'))).toBe(10);
    const latest = await audit.history('web-01', 5);
    expect(latest.map((e) => e.detail)).toEqual(['entry 29', 'entry 28', 'entry 27', 'entry 26', 'entry 25']);
    const noChecks = await audit.history('web-01', 5, ['check']);
    expect(noChecks).not.toContainEqual(expect.objectContaining({ kind: 'check' }));
    expect(noChecks[0]?.detail).toBe('entry 29');
    // A name that is not a host goes to the catch-all stream, never into a key of its own.
    expect(await redis.xlen(keys.audit('_'))).toBe(1);
    expect(logs.audit('request')).toHaveLength(20);
    expect(logs.audit('refused')[0]).toMatchObject({ actor: 'U0EVE', msg: 'diagnose <!channel>' });
  });

  it('a button is claimed once: missing, stale, expired and used are told apart', async () => {
    const keys = new RedisKeys(freshPrefix('appr'));
    const records = new DiagnosisRecords(redis, keys);
    const approvals = new ApprovalStore(redis, keys);
    const now = new Date('2026-01-01T10:00:00Z');
    const open = async () => {
      const opened = await records.open({
        host: 'web-01',
        playbook: 'nginx-502',
        channel: 'C1',
        requestedBy: { kind: 'user', userId: 'U0ALICE' },
        requestedAt: now.toISOString(),
      });
      if (opened.joined) throw new Error(`joined ${opened.record.id} instead of opening a diagnosis`);
      return opened;
    };
    const first = (await open()).record;
    const diagnosis = {
      host: 'web-01',
      playbook: 'nginx-502',
      startedAt: now.toISOString(),
      durationMs: 1,
      verdict: { cause: 'php_fpm_down' as const, title: 'down' },
      findings: [],
      incomplete: false,
      gaps: [],
      facts: {},
      checks: [],
    };
    expect(await records.complete(first, diagnosis, 1)).toBe(true);
    // A second completion (a job that ran twice) does not replace the first.
    expect(await records.complete(first, { ...diagnosis, durationMs: 2 }, 1)).toBe(false);
    expect((await records.get(first.id))?.diagnosis?.durationMs).toBe(1);

    const approval = (id: string, diagnosisId: string) =>
      approvals.create({
        id,
        diagnosisId,
        host: 'web-01',
        remediation: 'start_php_fpm',
        findingIndex: 0,
        channel: 'C1',
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 60_000).toISOString(),
      });
    await approval('a1', first.id);
    expect(await approvals.claim('nope', 'web-01', 'U0BOB', now)).toEqual({ ok: false, reason: 'missing' });
    expect(await approvals.claim('a1', 'web-01', 'U0BOB', new Date(now.getTime() + 61_000))).toEqual({ ok: false, reason: 'expired' });

    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => approvals.claim('a1', 'web-01', i % 2 ? 'U0BOB' : 'U0CAROL', now)),
    );
    expect(claims.filter((c) => c.ok)).toHaveLength(1);
    expect(claims.filter((c) => !c.ok && c.reason === 'used')).toHaveLength(49);
    // The claim freed the host's dedup slot: the next request opens a fresh diagnosis.
    const second = await open();
    await records.complete(second.record, diagnosis, 1);
    await approval('a2', first.id);
    expect(await approvals.claim('a2', 'web-01', 'U0BOB', now)).toEqual({ ok: false, reason: 'stale' });
    expect(await approvals.markStarted('a1')).toBe(true);
    expect(await approvals.markStarted('a1')).toBe(false);
  });

  it('an alert incident reads back only when it parses: a damaged one is no incident', async () => {
    const prefix = freshPrefix('incidents');
    const store = new AlertIncidentStore({ redis, prefix });
    const incident = {
      key: 'web-01',
      host: 'web-01',
      channel: 'C1',
      reportedAt: 1,
      lastUpdateAt: 1,
      heldBack: 0,
      firing: ['fp1'],
      alertNames: ['Site502'],
    };
    await store.save(incident);
    expect(await store.get('web-01')).toEqual(incident);
    for (const damaged of ['not json', JSON.stringify({ ...incident, firing: 'fp1' }), JSON.stringify({ key: 'web-01' })]) {
      await redis.set(`${prefix}:alerts:incident:web-01`, damaged);
      expect({ damaged, back: await store.get('web-01') }).toEqual({ damaged, back: undefined });
    }
  });

  it('reads back only what parses: a damaged record is refused in words; a damaged joiner, note, audit entry or fan-out host is left out', async () => {
    const keys = new RedisKeys(freshPrefix('damaged'));
    const records = new DiagnosisRecords(redis, keys);
    const { record } = await records.open({
      host: 'web-01',
      playbook: 'nginx-502',
      channel: 'C1',
      requestedBy: { kind: 'user', userId: 'U0ASKER' },
      requestedAt: '2026-01-01T00:00:00.000Z',
    });
    await redis.rpush(
      keys.joiners(record.id),
      'not json',
      JSON.stringify({ kind: 'user', userId: 'U0SECOND' }),
      JSON.stringify({ kind: 'robot' }),
    );
    await records.addNote(record.id, { at: '2026-01-01T00:00:01.000Z', kind: 'info', text: 'fine' });
    await redis.rpush(keys.notes(record.id), JSON.stringify({ at: 1, kind: 'info' }));
    const back = await records.get(record.id);
    expect(back).toMatchObject({ id: record.id, status: 'queued', requestedBy: { kind: 'user', userId: 'U0ASKER' } });
    expect(back?.joiners).toEqual([{ kind: 'user', userId: 'U0SECOND' }]);
    expect(back?.notes).toEqual([{ at: '2026-01-01T00:00:01.000Z', kind: 'info', text: 'fine' }]);

    await redis.hset(keys.diagnosis(record.id), 'status', 'exploded');
    await expect(records.get(record.id)).rejects.toThrow(/is not a diagnosis record[\s\S]*status/);
    await redis.hset(keys.diagnosis(record.id), {
      status: 'done',
      diagnosis: JSON.stringify({ host: 'web-01', verdict: { cause: 'rm -rf' } }),
    });
    await expect(records.get(record.id)).rejects.toThrow(/is not a diagnosis record[\s\S]*diagnosis/);

    const audit = new AuditTrail(redis, { keys, logger: new LogCapture().logger('info'), now: () => new Date('2026-01-01T00:00:02.000Z') });
    await audit.record({ kind: 'request', host: 'web-01', detail: 'asked' });
    await redis.xadd(keys.audit('web-01'), '*', 'e', JSON.stringify({ at: 'x', kind: 'nonsense', detail: 'forged' }));
    await redis.xadd(keys.audit('web-01'), '*', 'e', 'not json');
    expect((await audit.history('web-01')).map((e) => e.detail)).toEqual(['asked']);

    const approvals = new ApprovalStore(redis, keys);
    await approvals.create({
      id: 'a-1',
      diagnosisId: record.id,
      host: 'web-01',
      remediation: 'reload_php_fpm',
      findingIndex: 0,
      channel: 'C1',
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:15:00.000Z',
    });
    expect(await approvals.get('a-1')).toEqual({
      id: 'a-1',
      diagnosisId: record.id,
      host: 'web-01',
      remediation: 'reload_php_fpm',
      findingIndex: 0,
      channel: 'C1',
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:15:00.000Z',
    });
    await redis.hset(keys.approval('a-1'), 'remediation', 'reboot');
    await expect(approvals.get('a-1')).rejects.toThrow(/is not an approval record[\s\S]*remediation/);

    const fanouts = new FanoutRecords(redis, keys);
    await fanouts.create({
      id: 'f-1',
      target: 'web',
      channel: 'C1',
      requestedBy: { kind: 'user', userId: 'U0ASKER' },
      requestedAt: '2026-01-01T00:00:00.000Z',
      hosts: [{ host: 'web-01' }, { host: 'web-02' }],
    });
    await fanouts.setHost('f-1', 'web-01', record.id, false);
    await redis.hset(keys.fanoutHosts('f-1'), 'web-02', '{"diagnosisId":7}');
    expect((await fanouts.get('f-1'))?.hosts).toEqual([{ host: 'web-01', diagnosisId: record.id, joined: false }, { host: 'web-02' }]);
  });
});
