import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Signatures of alert webhooks already accepted, so that a captured signed request cannot be
 * sent again within its timestamp window. A claim is atomic: of two identical requests at once,
 * one wins. Kept in Redis where several bot processes (MEDIC_HTTP_PROCESSES, several machines)
 * serve the webhooks, or in memory for one process.
 */
export interface SignatureLedger {
  /** True when this signature was not seen within `ttlMs`; it is then remembered for that long. */
  claim(signature: string, ttlMs: number): Promise<boolean>;
  /** Forgets a claim, so that the sender's retry of a request we failed to handle is accepted. */
  release(signature: string): Promise<void>;
}

/** Signatures are stored as their SHA-256: fixed length, and nothing that could sign again. */
const digest = (signature: string): string => createHash('sha256').update(signature.trim().toLowerCase()).digest('hex');

export class RedisSignatureLedger implements SignatureLedger {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: { redis: Redis; prefix?: string }) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix ?? 'medic'}:alerts:sig:`;
  }

  async claim(signature: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#prefix + digest(signature), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async release(signature: string): Promise<void> {
    await this.#redis.del(this.#prefix + digest(signature));
  }
}

/** For one process (and tests of the handler alone); bounded by the window, swept as it goes. */
export class MemorySignatureLedger implements SignatureLedger {
  readonly #seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async claim(signature: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    for (const [k, until] of this.#seen) if (until <= now) this.#seen.delete(k);
    const key = digest(signature);
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, now + ttlMs);
    return true;
  }

  async release(signature: string): Promise<void> {
    this.#seen.delete(digest(signature));
  }
}
