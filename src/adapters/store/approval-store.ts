import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RemediationId } from '../../core/causes.ts';
import type { ApprovalRecord } from '../../core/remediation/approval-record.ts';
import type { RemediationResultView, RemediationStatus } from '../../core/remediation/remediation-result.ts';
import { ApprovalRecordSchema } from '../../core/stored-schemas.ts';
import type { RedisKeys } from './redis-keys.ts';

export type ClaimResult =
  | { ok: true; record: ApprovalRecord }
  | { ok: false; reason: 'missing' | 'expired' | 'stale' }
  | { ok: false; reason: 'used'; approvedBy: string; approvedAt: string };

/** Kept after expiry so a late click is told "expired" rather than "unknown". */
const KEEP_AFTER_EXPIRY_MS = 7 * 24 * 3600 * 1000;

/*
 * The one place a click becomes an approval. Atomic, so that of any number of simultaneous
 * clicks exactly one wins: it checks the button exists, is not used, has not expired and
 * belongs to the host's latest diagnosis; then marks it used, makes every other button of that
 * diagnosis stale (the host is about to change) and frees the host's dedup slot (the next
 * /502 diagnose must look at the host afresh, not share the diagnosis from before the fix).
 * KEYS: approval, latest(host), dedup(host). ARGV: approver, nowMs, nowIso.
 */
const CLAIM = `
local a = KEYS[1]
if redis.call('EXISTS', a) == 0 then return {'missing'} end
local used = redis.call('HGET', a, 'approvedBy')
if used then return {'used', used, redis.call('HGET', a, 'approvedAt') or ''} end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', a, 'expiresAtMs')) then return {'expired'} end
if redis.call('GET', KEYS[2]) ~= redis.call('HGET', a, 'diagnosisId') then return {'stale'} end
redis.call('HSET', a, 'approvedBy', ARGV[1], 'approvedAt', ARGV[3], 'status', 'running')
redis.call('SET', KEYS[2], 'remediation:' .. redis.call('HGET', a, 'id'))
redis.call('DEL', KEYS[3])
return {'ok'}
`;

export class ApprovalStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Deterministic, so re-posting a report after a crash reuses the same buttons. */
  static idFor(diagnosisId: string, findingIndex: number, remediation: RemediationId): string {
    return `${diagnosisId}.${findingIndex}.${remediation}`;
  }

  /** Creates the record unless it exists (a re-run keeps the original expiry). */
  async create(record: ApprovalRecord): Promise<ApprovalRecord> {
    const key = this.keys.approval(record.id);
    const expiresAtMs = Date.parse(record.expiresAt);
    const fields: Record<string, string> = {
      id: record.id,
      diagnosisId: record.diagnosisId,
      host: record.host,
      remediation: record.remediation,
      findingIndex: String(record.findingIndex),
      channel: record.channel,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      expiresAtMs: String(expiresAtMs),
    };
    if (record.requestedBy !== undefined) fields.requestedBy = record.requestedBy;
    const created = await this.redis.hsetnx(key, 'id', record.id);
    if (created === 1) {
      await this.redis
        .multi()
        .hset(key, fields)
        // Relative to the record's own times: Redis' clock need not agree with the worker's.
        .pexpire(key, Math.max(0, expiresAtMs - Date.parse(record.createdAt)) + KEEP_AFTER_EXPIRY_MS)
        .exec();
      return record;
    }
    return (await this.get(record.id)) ?? record;
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.approval(id));
    if (h.id === undefined || h.diagnosisId === undefined) return undefined;
    const { expiresAtMs: _expiresAtMs, findingIndex, result, ...fields } = h;
    let storedResult: unknown;
    try {
      storedResult = result === undefined ? undefined : JSON.parse(result);
    } catch {
      storedResult = result;
    }
    const parsed = ApprovalRecordSchema.safeParse({
      ...fields,
      findingIndex: Number(findingIndex),
      ...(storedResult !== undefined ? { result: storedResult } : {}),
    });
    if (!parsed.success) throw new Error(`approval ${id} in Redis is not an approval record: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  async setMessageTs(id: string, ts: string): Promise<void> {
    await this.redis.hset(this.keys.approval(id), 'messageTs', ts);
  }

  async claim(id: string, host: string, approver: string, now: Date): Promise<ClaimResult> {
    const out = (await this.redis.eval(
      CLAIM,
      3,
      this.keys.approval(id),
      this.keys.latest(host),
      this.keys.dedup(host),
      approver,
      String(now.getTime()),
      now.toISOString(),
    )) as string[];
    const [verdict, by, at] = out;
    if (verdict === 'ok') {
      const record = await this.get(id);
      if (record === undefined) return { ok: false, reason: 'missing' };
      return { ok: true, record };
    }
    if (verdict === 'used') return { ok: false, reason: 'used', approvedBy: by ?? '?', approvedAt: at ?? '' };
    return { ok: false, reason: verdict as 'missing' | 'expired' | 'stale' };
  }

  /** True for the first caller only: a re-delivered remediation job must not run the commands again. */
  async markStarted(id: string): Promise<boolean> {
    return (await this.redis.set(this.keys.remediationStarted(id), '1', 'PX', KEEP_AFTER_EXPIRY_MS, 'NX')) === 'OK';
  }

  async finish(id: string, status: RemediationStatus, result: RemediationResultView): Promise<void> {
    await this.redis.hset(this.keys.approval(id), { status, result: JSON.stringify(result) });
  }
}
