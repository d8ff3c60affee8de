import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lab/free-port.ts';
import { isAlive, sleep, stopPid } from '../lab/pids.ts';

/** Debian's redis-server; the demo's package check makes sure it is there. */
export const REDIS_SERVER = '/usr/bin/redis-server';

export interface LocalRedis {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Stops the server by pid and removes its directory. */
  stop(): Promise<void>;
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A redis-server of the demo's own, on 127.0.0.1 and a free port, its files in a temp dir and
 * without persistence (a demo's queue is worth nothing after it stops). `noeviction`, as BullMQ
 * asks of any Redis it uses. A port taken between picking and binding is retried.
 */
export async function startLocalRedis(binary = REDIS_SERVER): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-demo-redis-'));
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      binary,
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
        'no',
        '--maxmemory-policy',
        'noeviction',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    const keep = (c: Buffer): void => void (log = (log + c.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const pid = child.pid;
    if (pid === undefined) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`could not run ${binary}: ${(await spawnError).message}`);
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && isAlive(pid)) {
      if (await answersPing(port)) {
        // The pipes are only read while starting; afterwards redis-server logs nothing we show.
        child.stdout.destroy();
        child.stderr.destroy();
        return {
          url: `redis://127.0.0.1:${port}`,
          port,
          pid,
          dir,
          stop: async () => {
            await stopPid(pid, 'SIGTERM', 5000);
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await sleep(25);
    }
    lastError = log.trim() || 'no answer to PING';
    await stopPid(pid, 'SIGKILL', 1000);
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`redis-server did not start: ${lastError}`);
}
