import { randomBytes } from 'node:crypto';
import { startLocalRedis, type LocalRedis } from '../../src/demo/local-redis.ts';

export type RedisHandle = LocalRedis;

/**
 * A real redis-server on 127.0.0.1 and a free port, without persistence, its files in a temp
 * dir, `noeviction` as BullMQ's production guide asks: the same starter the demo uses. If the
 * test process exits without stopping it, the server is killed with it.
 */
export async function startRedis(): Promise<RedisHandle> {
  const redis = await startLocalRedis();
  const onExit = (): void => {
    try {
      process.kill(redis.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    ...redis,
    stop: async () => {
      process.removeListener('exit', onExit);
      await redis.stop();
    },
  };
}

/** A queue/key prefix no other test uses, so tests sharing one redis-server never see each other's keys. */
export const freshPrefix = (label = 't'): string => `${label}-${randomBytes(4).toString('hex')}`;
