import type { Redis } from 'ioredis';
import type { AlertSource } from '../../core/alerts/alert-instance.ts';
import type { AlertIncident } from '../../core/alerts/plan-alert-incident.ts';
import { AlertIncidentSchema, parseStoredJson } from '../../core/stored-schemas.ts';
import { withRedisLock } from '../store/redis-lock.ts';

export interface AlertIncidentStoreOptions {
  redis: Redis;
  /** Key prefix shared with the queue and audit (MEDIC_QUEUE_PREFIX). @defaultValue "medic" */
  prefix?: string;
  /** How long an incident and its fingerprints are kept after their last change. @defaultValue 7 days */
  retentionMs?: number;
  /**
   * A lock not released within this long (a crashed process) expires. Longer than a report
   * takes to request under Slack rate limiting, so a slow holder is not overtaken. @defaultValue 60 s
   */
  lockTtlMs?: number;
  /** How long `withLock` waits for another holder before giving up (the sender retries). @defaultValue 30 s */
  lockWaitMs?: number;
}

/**
 * Incidents (host → report, thread, firing alerts) and fingerprints (alert → host) in Redis, so
 * that a restart or a second bot process continues the same threads instead of reporting again.
 */
export class AlertIncidentStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #retentionMs: number;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;

  constructor(options: AlertIncidentStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix ?? 'medic'}:alerts`;
    this.#retentionMs = options.retentionMs ?? 7 * 86_400_000;
    this.#lockTtlMs = options.lockTtlMs ?? 60_000;
    this.#lockWaitMs = options.lockWaitMs ?? 30_000;
  }

  #incidentKey(key: string): string {
    return `${this.#prefix}:incident:${key}`;
  }

  /** The incident, or undefined when there is none or what is stored does not parse (a new report starts then). */
  async get(key: string): Promise<AlertIncident | undefined> {
    const raw = await this.#redis.get(this.#incidentKey(key));
    return raw === null ? undefined : parseStoredJson(AlertIncidentSchema, raw);
  }

  async save(incident: AlertIncident): Promise<void> {
    await this.#redis.set(this.#incidentKey(incident.key), JSON.stringify(incident), 'PX', this.#retentionMs);
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.#incidentKey(key));
  }

  /** The incident keys last recorded for these fingerprints (undefined where none). */
  async keysForFingerprints(source: AlertSource, fingerprints: readonly string[]): Promise<(string | undefined)[]> {
    if (fingerprints.length === 0) return [];
    const values = await this.#redis.mget(fingerprints.map((f) => `${this.#prefix}:fp:${source}:${f}`));
    return values.map((v) => v ?? undefined);
  }

  async rememberFingerprints(source: AlertSource, fingerprints: readonly string[], key: string): Promise<void> {
    if (fingerprints.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const f of fingerprints) pipeline.set(`${this.#prefix}:fp:${source}:${f}`, key, 'PX', this.#retentionMs);
    await pipeline.exec();
  }

  /**
   * Runs `fn` while holding the host's lock, so that two deliveries for one host (Alertmanager
   * sends groups in parallel, and several bot processes may run) decide one after the other.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return withRedisLock(this.#redis, `${this.#prefix}:lock:${key}`, fn, {
      ttlMs: this.#lockTtlMs,
      waitMs: this.#lockWaitMs,
      maxDelayMs: 50,
      what: `alert lock of ${key}`,
    });
  }
}
