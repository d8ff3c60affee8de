import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Deletes the lock only if it still holds our token: a holder whose lease ran out frees no one else's lock. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LockOptions {
  /** The lock frees itself after this long if its holder died. @defaultValue 15000 */
  ttlMs?: number;
  /** Give up waiting after this long. @defaultValue 20000 */
  waitMs?: number;
  /**
   * The longest pause between two tries; the pause doubles from 10 ms up to it, with a little
   * jitter so that waiters do not try in step. @defaultValue 200
   */
  maxDelayMs?: number;
  /** What the lock guards, for the error when waiting gives up. @defaultValue `lock <key>` */
  what?: string;
}

/**
 * Runs `fn` while holding a Redis lock (SET NX PX with a random token, released only by its
 * holder): the one lock of the product, for read-render-update of one Slack message between
 * processes (so an older render never overwrites a newer one) and for one host's alerts.
 */
export async function withRedisLock<T>(redis: Redis, key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const ttl = options.ttlMs ?? 15_000;
  const maxDelay = options.maxDelayMs ?? 200;
  const deadline = Date.now() + (options.waitMs ?? 20_000);
  let delay = 10;
  while ((await redis.set(key, token, 'PX', ttl, 'NX')) !== 'OK') {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${options.what !== undefined ? `the ${options.what}` : `lock ${key}`}`);
    await new Promise((r) => setTimeout(r, delay + Math.random() * Math.min(10, delay)));
    delay = Math.min(delay * 2, maxDelay);
  }
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
