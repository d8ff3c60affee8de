import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { DiagnosisRecord, RootNote } from '../../core/diagnosis-request.ts';
import type { Diagnosis } from '../../core/finding.ts';
import { DiagnosisRecordSchema, parseStoredJson, RequesterSchema, RootNoteSchema } from '../../core/stored-schemas.ts';
import type { RedisKeys } from './redis-keys.ts';

/** What a request that joins a diagnosis needs of it: its answer says where the report is and how far it got. */
export type DiagnosisHead = Pick<DiagnosisRecord, 'id' | 'host' | 'channel' | 'status' | 'rootTs' | 'pendingSince'>;

/**
 * A new diagnosis (its whole record), or the one running or finished within the dedup window
 * that this request shares (`joined`; its head: a burst of joiners must not each read back the
 * record, its joiners and its findings).
 */
export type OpenResult = { record: DiagnosisRecord; joined: false } | { record: DiagnosisHead; joined: true };

const HeadSchema = z.object({
  host: z.string(),
  channel: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  rootTs: z.string().optional(),
  pendingSince: z.string().optional(),
});

/** How long a record (and its buttons' context) is kept. */
const RECORD_TTL_MS = 14 * 24 * 3600 * 1000;
/** The longest a diagnosis may hold the dedup slot of a host while queued or running. */
const RUNNING_DEDUP_MS = 10 * 60 * 1000;
/**
 * Opening the record (and the slot) and adding its job are two Redis steps. A slot whose job
 * was not confirmed queued (`confirmQueued`) this long after it opened is one that a Redis
 * outage cut short: the next request takes it over at once instead of joining a diagnosis that
 * never runs. Both steps take milliseconds, so a second is ample; a request slower than that
 * costs at worst a second diagnosis, never a wedged host.
 */
export const PENDING_SLOT_MS = 1000;

const JSON_FIELDS = ['requestedBy', 'diagnosis', 'error', 'remediation'] as const;
const HEAD_FIELDS = ['host', 'channel', 'status', 'rootTs', 'pendingSince'] as const;

/** JSON as stored, or the raw text when it is not JSON (the record's schema then says what is wrong). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const newDiagnosisId = (): string => `d-${randomBytes(10).toString('hex')}`;

/*
 * KEYS: dedup slot, new record. ARGV: new id, slot TTL, record TTL, requester JSON, key prefix,
 * pending grace, record fields... The joined record's keys can only be named once the slot is
 * read, so they are built from the prefix (a single Redis, not a cluster, is what BullMQ asks
 * for anyway). A live slot whose record is gone (expired), or whose job was never confirmed
 * queued within the grace (`pendingSince`, Redis's own clock), is taken over rather than joined.
 * A join answers with the joined record's id and head fields (in HEAD_FIELDS' order, false for
 * a missing one); an open answers false.
 */
const OPEN = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('GET', KEYS[1])
if cur and redis.call('EXISTS', ARGV[5] .. ':diag:' .. cur) == 1 then
  local pending = redis.call('HGET', ARGV[5] .. ':diag:' .. cur, 'pendingSince')
  if not pending or nowMs - tonumber(pending) < tonumber(ARGV[6]) then
    local joiners = ARGV[5] .. ':diag:' .. cur .. ':joiners'
    redis.call('RPUSH', joiners, ARGV[4])
    redis.call('PEXPIRE', joiners, ARGV[3])
    local head = redis.call('HMGET', ARGV[5] .. ':diag:' .. cur, 'host', 'channel', 'status', 'rootTs', 'pendingSince')
    table.insert(head, 1, cur)
    return head
  end
end
redis.call('HSET', KEYS[2], 'pendingSince', nowMs, unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/**
 * Diagnosis requests in Redis: the dedup slot of each host, the record behind each root
 * message, the host's latest diagnosis (which decides whether a button is still current).
 */
export class DiagnosisRecords {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Opens a diagnosis for a host, or joins the one running or finished within the dedup window.
   * One atomic Redis step (a script), so that of any number of simultaneous requests for a
   * host exactly one opens it, and a joiner always finds the record behind the slot.
   */
  async open(
    input: Omit<DiagnosisRecord, 'id' | 'status' | 'joiners' | 'notes' | 'rootTs' | 'threadTs'>,
    options: { id?: string } = {},
  ): Promise<OpenResult> {
    const id = options.id ?? newDiagnosisId();
    const record: DiagnosisRecord = { ...input, id, status: 'queued', joiners: [], notes: [] };
    const fields = Object.entries(this.fields(record)).flat();
    const joined = (await this.redis.eval(
      OPEN,
      2,
      this.keys.dedup(input.host),
      this.keys.diagnosis(id),
      id,
      String(RUNNING_DEDUP_MS),
      String(RECORD_TTL_MS),
      JSON.stringify(input.requestedBy),
      this.keys.prefix,
      String(PENDING_SLOT_MS),
      ...fields,
    )) as (string | null)[] | null;
    if (joined === null) return { record, joined: false };
    const [existing, ...values] = joined;
    const parsed = HeadSchema.safeParse(Object.fromEntries(HEAD_FIELDS.flatMap((k, i) => (values[i] == null ? [] : [[k, values[i]]]))));
    if (!parsed.success) throw new Error(`diagnosis ${existing} in Redis is not a diagnosis record: ${z.prettifyError(parsed.error)}`);
    const { rootTs, pendingSince, ...head } = parsed.data;
    return {
      record: {
        id: existing as string,
        ...head,
        ...(rootTs !== undefined ? { rootTs } : {}),
        ...(pendingSince !== undefined ? { pendingSince } : {}),
      },
      joined: true,
    };
  }

  /** Whether the record is there, and since when its job waits to be confirmed queued (none once it is). */
  async pendingSince(id: string): Promise<{ exists: boolean; pendingSince?: string }> {
    const [found, pending] = await this.redis.hmget(this.keys.diagnosis(id), 'id', 'pendingSince');
    return { exists: found !== null, ...(pending != null ? { pendingSince: pending } : {}) };
  }

  private fields(record: DiagnosisRecord): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(record)) {
      if (v === undefined || k === 'joiners' || k === 'notes') continue;
      fields[k] = (JSON_FIELDS as readonly string[]).includes(k) ? JSON.stringify(v) : String(v);
    }
    return fields;
  }

  async get(id: string): Promise<DiagnosisRecord | undefined> {
    const [[, hash], [, joiners], [, notes]] = (await this.redis
      .multi()
      .hgetall(this.keys.diagnosis(id))
      .lrange(this.keys.joiners(id), 0, 200)
      .lrange(this.keys.notes(id), 0, 200)
      .exec()) as [[null, Record<string, string>], [null, string[]], [null, string[]]];
    if (hash.id === undefined) return undefined;
    const record: Record<string, unknown> = { ...hash };
    for (const k of JSON_FIELDS) if (hash[k] !== undefined) record[k] = parseJson(hash[k]);
    // Joiners and notes are shown, never acted on: one that does not parse is left out, not fatal.
    record.joiners = joiners.flatMap((j) => parseStoredJson(RequesterSchema, j) ?? []);
    record.notes = notes.flatMap((n) => parseStoredJson(RootNoteSchema, n) ?? []);
    const parsed = DiagnosisRecordSchema.safeParse(record);
    if (!parsed.success) throw new Error(`diagnosis ${id} in Redis is not a diagnosis record: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  /** Where the root message went; Slack answers with the channel id even when given a name. */
  async setRoot(id: string, ts: string, channel: string, threadTs?: string): Promise<void> {
    await this.redis.hset(this.keys.diagnosis(id), { rootTs: ts, channel, ...(threadTs !== undefined ? { threadTs } : {}) });
  }

  async markRunning(id: string): Promise<void> {
    // Only a queued record becomes running: a re-delivered job must not undo `done`.
    await this.redis.eval(
      `if redis.call('HGET', KEYS[1], 'status') == 'queued' then redis.call('HSET', KEYS[1], 'status', 'running') end return 1`,
      1,
      this.keys.diagnosis(id),
    );
  }

  /**
   * Stores the outcome, once: the first worker to finish wins, so a job that ran twice (its
   * worker stalled but lived on) cannot swap the diagnosis under a report already posted.
   * A diagnosis becomes the host's latest (only the latest's buttons are current), and the
   * dedup slot shrinks to the window so requests within it still share it.
   * Returns false when another run had already finished it.
   */
  async complete(record: DiagnosisRecord, diagnosis: Diagnosis, dedupWindowMs: number): Promise<boolean> {
    return this.finish(record, { status: 'done', diagnosis: JSON.stringify(diagnosis) }, true, dedupWindowMs);
  }

  async fail(record: DiagnosisRecord, error: NonNullable<DiagnosisRecord['error']>, dedupWindowMs: number): Promise<boolean> {
    return this.finish(record, { status: 'failed', error: JSON.stringify(error) }, false, dedupWindowMs);
  }

  private async finish(record: DiagnosisRecord, fields: Record<string, string>, latest: boolean, dedupWindowMs: number): Promise<boolean> {
    const script = `
      local s = redis.call('HGET', KEYS[1], 'status')
      if s == 'done' or s == 'failed' then return 0 end
      redis.call('HSET', KEYS[1], 'status', ARGV[3], ARGV[4], ARGV[5])
      if ARGV[6] == '1' then redis.call('SET', KEYS[2], ARGV[1]) end
      if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
      return 1`;
    const [field, value] = Object.entries(fields).find(([k]) => k !== 'status') as [string, string];
    const out = await this.redis.eval(
      script,
      3,
      this.keys.diagnosis(record.id),
      this.keys.latest(record.host),
      this.keys.dedup(record.host),
      record.id,
      String(Math.max(1, dedupWindowMs)),
      fields.status as string,
      field,
      value,
      latest ? '1' : '0',
    );
    return out === 1;
  }

  /** The job is in the queue: from now on the slot is shared, however long the diagnosis takes. */
  async confirmQueued(record: DiagnosisRecord): Promise<void> {
    await this.redis.hdel(this.keys.diagnosis(record.id), 'pendingSince');
  }

  /** Gives the host's dedup slot back (the request could not even be queued). */
  async release(record: DiagnosisRecord): Promise<void> {
    await this.redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`,
      1,
      this.keys.dedup(record.host),
      record.id,
    );
  }

  async setRemediation(id: string, remediation: NonNullable<DiagnosisRecord['remediation']>): Promise<void> {
    await this.redis.hset(this.keys.diagnosis(id), 'remediation', JSON.stringify(remediation));
  }

  async addNote(id: string, note: RootNote): Promise<void> {
    await this.redis
      .multi()
      .rpush(this.keys.notes(id), JSON.stringify(note))
      .ltrim(this.keys.notes(id), -50, -1)
      .pexpire(this.keys.notes(id), RECORD_TTL_MS)
      .exec();
  }

  /** The diagnosis currently holding the host's dedup slot (running, or finished within the window). */
  async active(host: string): Promise<DiagnosisRecord | undefined> {
    const id = await this.redis.get(this.keys.dedup(host));
    return id === null ? undefined : this.get(id);
  }

  async latestId(host: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.latest(host))) ?? undefined;
  }

  /** Finding index → ts of the thread replies already posted. */
  async postedReplies(id: string): Promise<Map<number, string>> {
    const hash = await this.redis.hgetall(this.keys.posted(id));
    return new Map(Object.entries(hash).map(([k, v]) => [Number(k), v]));
  }

  async markReplyPosted(id: string, index: number, ts: string): Promise<void> {
    await this.redis.multi().hset(this.keys.posted(id), String(index), ts).pexpire(this.keys.posted(id), RECORD_TTL_MS).exec();
  }

  async addFanout(id: string, fanoutId: string): Promise<void> {
    await this.redis.multi().sadd(this.keys.fanoutsOf(id), fanoutId).pexpire(this.keys.fanoutsOf(id), RECORD_TTL_MS).exec();
  }

  async fanoutsOf(id: string): Promise<string[]> {
    return this.redis.smembers(this.keys.fanoutsOf(id));
  }
}
