import { Redis } from 'ioredis';

export interface CreateRedisOptions {
  /** Shown by CLIENT LIST, to tell the bot's and the workers' connections apart. */
  name?: string;
  /**
   * `blocking` for BullMQ workers and queue events: BullMQ's production guide wants
   * `maxRetriesPerRequest: null` there, so a Redis restart pauses work instead of failing it.
   * Connections that answer people (the bot) fail fast instead.
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
    enableOfflineQueue: true,
    // Reconnect forever with a capped backoff: a Redis restart must not take the bot down.
    retryStrategy: (times) => Math.min(200 * times, 5000),
    lazyConnect: false,
  });
}
