import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_SERVER, startLocalRedis, type LocalRedis } from '../../src/demo/local-redis.ts';
import { freePort } from '../../src/lab/free-port.ts';
import { signalPid, stopPid, waitFor } from '../../src/lab/pids.ts';

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

export interface PersistentRedis {
  url: string;
  port: number;
  dir: string;
  /** The running server's pid; undefined while stopped. */
  pid: number | undefined;
  /** SIGTERM, as an operator's restart does; the append-only file stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory; it reloads the append-only file. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/**
 * A redis-server with `appendonly yes` (as docker-compose runs it), that a test can stop and
 * start again on the same port: what it held comes back from the append-only file, expiry
 * times included, as after a real restart.
 */
export async function startPersistentRedis(): Promise<PersistentRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-aof-redis-'));
  const port = await freePort();
  let pid: number | undefined;
  const onExit = (): void => {
    if (pid !== undefined) signalPid(pid, 'SIGKILL');
  };
  process.once('exit', onExit);
  const start = async (): Promise<void> => {
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    if (child.pid === undefined) throw new Error(`could not run ${REDIS_SERVER}`);
    pid = child.pid;
    await waitFor(
      'redis-server to answer',
      async () => {
        const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => undefined);
        try {
          await client.connect();
          return (await client.ping()) === 'PONG' ? true : undefined;
        } catch {
          return undefined;
        } finally {
          client.disconnect();
        }
      },
      10_000,
    );
  };
  await start();
  const stop = async (): Promise<void> => {
    if (pid === undefined) return;
    const p = pid;
    pid = undefined;
    await stopPid(p, 'SIGTERM', 5000);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return pid;
    },
    stop,
    start,
    destroy: async () => {
      process.removeListener('exit', onExit);
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
