import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditEntry, AuditKind } from '../../core/audit-entry.ts';
import { HOST_NAME } from '../../core/inventory/inventory-schema.ts';
import { AuditEntrySchema, parseStoredJson } from '../../core/stored-schemas.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface AuditTrailOptions {
  keys: RedisKeys;
  logger: Logger;
  now: () => Date;
  /** Entries kept per host (Redis XADD MAXLEN ~). @defaultValue 500 */
  limit?: number;
}

/** Where requests that name no inventory host are recorded. */
export const UNKNOWN_HOST_STREAM = '_';

/**
 * The audit trail: every entry is a pino line (`audit: <kind>`) AND an entry of a bounded Redis
 * stream per host, which `/502 history <host>` reads. Logging never waits on Redis being up.
 */
export class AuditTrail {
  private readonly limit: number;
  constructor(
    private readonly redis: Redis,
    private readonly options: AuditTrailOptions,
  ) {
    this.limit = options.limit ?? 500;
  }

  async record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    const at = this.options.now().toISOString();
    const full: AuditEntry = { at, ...entry, detail: entry.detail.slice(0, 2000) };
    const { detail, kind, ...fields } = full;
    this.options.logger.info({ audit: kind, ...fields }, detail);
    const stream = entry.host !== undefined && HOST_NAME.test(entry.host) ? entry.host : UNKNOWN_HOST_STREAM;
    try {
      await this.redis.xadd(this.options.keys.audit(stream), 'MAXLEN', this.limit, '*', 'e', JSON.stringify(full));
    } catch (e) {
      this.options.logger.error({ err: e, audit: kind }, 'could not write the audit entry to Redis');
    }
  }

  /** The newest entries of a host, newest first; `skip` leaves out kinds (e.g. every check). */
  async history(host: string, count = 25, skip: readonly AuditKind[] = []): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(this.options.keys.audit(host), '+', '-', 'COUNT', skip.length > 0 ? count * 20 : count);
    const out: AuditEntry[] = [];
    for (const [, fields] of rows) {
      const i = fields.indexOf('e');
      if (i === -1) continue;
      // An entry that is not ours (or not JSON) is skipped, not fatal.
      const entry = parseStoredJson(AuditEntrySchema, fields[i + 1] ?? '');
      if (entry === undefined) continue;
      if (!skip.includes(entry.kind)) out.push(entry);
      if (out.length >= count) break;
    }
    return out;
  }
}
