import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, whenReady } from '../src/adapters/store/redis-client.ts';
import { withRedisLock } from '../src/adapters/store/redis-lock.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';

/** The one Redis lock (Slack message renders, a host's alerts), on a real redis-server. */
describe('withRedisLock', () => {
  let server: RedisHandle;
  let redis: ReturnType<typeof createRedis>;

  beforeAll(async () => {
    server = await startRedis();
    redis = createRedis(server.url);
    await whenReady(redis, 10_000);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  it('runs holders of one key one after the other, and frees the key afterwards', async () => {
    const key = `${freshPrefix('lock')}:lock:x`;
    const trace: string[] = [];
    let inside = 0;
    let most = 0;
    const holder = (name: string) =>
      withRedisLock(redis, key, async () => {
        inside++;
        most = Math.max(most, inside);
        trace.push(`${name} in`);
        // Yield to Redis while holding, so the others really are waiting.
        await redis.ping();
        trace.push(`${name} out`);
        inside--;
        return name;
      });
    expect(await Promise.all(['a', 'b', 'c', 'd'].map(holder))).toEqual(['a', 'b', 'c', 'd']);
    expect(most).toBe(1);
    expect(trace).toHaveLength(8);
    for (let i = 0; i < 8; i += 2) expect(trace[i + 1]).toBe(trace[i]?.replace(' in', ' out'));
    expect(await redis.exists(key)).toBe(0);
  });

  it('frees the key when the holder throws, and passes the error on', async () => {
    const key = `${freshPrefix('lock')}:lock:x`;
    await expect(withRedisLock(redis, key, () => Promise.reject(new Error('render failed')))).rejects.toThrow('render failed');
    expect(await redis.exists(key)).toBe(0);
  });

  it("takes over a dead holder's lock once its lease ran out, and never deletes a lock that is not its own", async () => {
    const key = `${freshPrefix('lock')}:lock:x`;
    // A holder that died: its token stays until the lease (PX) ends.
    await redis.set(key, 'dead-holder', 'PX', 300);
    const ran = await withRedisLock(redis, key, async () => {
      // Our lease ran out while we worked and someone else took the lock: our release must not free theirs.
      await redis.set(key, 'next-holder');
      return true;
    });
    expect(ran).toBe(true);
    expect(await redis.get(key)).toBe('next-holder');
  });

  it('gives up waiting after waitMs, naming what it waited for', async () => {
    const key = `${freshPrefix('lock')}:lock:x`;
    await redis.set(key, 'someone', 'PX', 60_000);
    await expect(withRedisLock(redis, key, async () => 'never', { waitMs: 100, what: 'alert lock of web-01' })).rejects.toThrow(
      'timed out waiting for the alert lock of web-01',
    );
    await expect(withRedisLock(redis, key, async () => 'never', { waitMs: 100 })).rejects.toThrow(`timed out waiting for lock ${key}`);
  });
});
