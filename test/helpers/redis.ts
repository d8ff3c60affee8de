import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/lab/free-port.ts';

const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisHandle {
  url: string;
  port: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

async function waitForPong(port: number, timeoutMs: number, exited: Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void exited.then(() => (dead = true));
  while (Date.now() < deadline && !dead) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(dead ? 'redis-server exited' : `redis-server did not answer within ${timeoutMs} ms`);
}

/**
 * Starts a real redis-server on 127.0.0.1 and a free port, without persistence, its files in a
 * temp dir. `noeviction` as BullMQ's production guide asks: a queue must never lose keys.
 */
export async function startRedis(): Promise<RedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-16_384)));
    child.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-16_384)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = child.pid as number;
    const onExit = (): void => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', onExit);
    const stop = async (): Promise<void> => {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitForPong(port, 10_000, exited);
      return { url: `redis://127.0.0.1:${port}`, port, pid, dir, stop };
    } catch (e) {
      lastError = new Error(`${(e as Error).message}\n${log}`);
      process.removeListener('exit', onExit);
      child.kill('SIGKILL');
      await exited;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** A queue/key prefix no other test uses, so tests sharing one redis-server never see each other's keys. */
export const freshPrefix = (label = 't'): string => `${label}-${randomBytes(4).toString('hex')}`;
