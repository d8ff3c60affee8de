import { Redis } from 'ioredis';

export interface CreateRedisOptions {
  /** Shown by CLIENT LIST, to tell the bot's and the workers' connections apart. */
  name?: string;
  /**
   * `blocking` for BullMQ workers and queue events: BullMQ's production guide wants
   * `maxRetriesPerRequest: null` there, so a Redis restart pauses work instead of failing it.
   * Connections that answer people (the bot) fail fast instead: while Redis is away a command
   * fails at once (no offline queue), so a request is refused in a second, not after ioredis's
   * growing reconnection backoff (which reached 20 s and more per command in a long outage).
   * @defaultValue 'client'
   */
  kind?: 'client' | 'blocking';
}

/** One ioredis connection to REDIS_URL. */
export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  const blocking = options.kind === 'blocking';
  return new Redis(url, {
    connectionName: options.name,
    maxRetriesPerRequest: blocking ? null : 3,
    enableOfflineQueue: blocking,
    // Reconnect forever, at least once a second: a Redis restart must not take the bot down, and
    // once Redis is back the bot must be too (a longer backoff left it refusing requests for 5 s).
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
  });
}

/** Resolves once `redis` is connected, or after `timeoutMs` (false): start-up does not wait for ever on a Redis that is down. */
export function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      redis.removeListener('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
  });
}
