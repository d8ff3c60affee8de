import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { chmod, chown, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { fpmStartCommand, nginxStartCommand, type LabLayout } from './lab-layout.ts';
import type { UnixUser } from './lab-users.ts';
import { childrenOf, isAlive, livePid, signalPid, stopPid, waitFor } from './pids.ts';

const run = promisify(execFile);

/** Resolves true once something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function runOrExplain(argv: string[], what: string): Promise<void> {
  const [file, ...args] = argv as [string, ...string[]];
  try {
    await run(file, args, { timeout: 15_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${what} failed: ${(err.stderr ?? '').trim() || err.message}`, { cause: e });
  }
}

/**
 * nginx daemonizes; its master writes the pid file after the listening socket is bound.
 * `nginx -t` opens the pid file read-write even when only testing, so the file is created
 * beforehand, writable by `pidGroup` (the login user's), for `nginx -T` to work without root.
 */
export async function startNginx(layout: LabLayout, port: number, pidGroup: number): Promise<number> {
  await writeFile(layout.nginxPidFile, '', { mode: 0o660 });
  await chmod(layout.nginxPidFile, 0o660);
  await chown(layout.nginxPidFile, 0, pidGroup);
  await runOrExplain(nginxStartCommand(layout), 'starting nginx');
  const pid = await waitFor('nginx to write its pid file', () => livePid(layout.nginxPidFile), 10_000);
  await waitFor(`nginx to listen on ${port}`, async () => ((await portOpen(port)) ? true : undefined), 10_000);
  return pid;
}

export async function stopNginx(layout: LabLayout): Promise<void> {
  const pid = await livePid(layout.nginxPidFile);
  if (pid !== undefined) await stopPid(pid, 'SIGTERM');
  await rm(layout.nginxPidFile, { force: true });
}

/** Starts php-fpm with the exact command the sudo rule and the inventory name; it returns once php-fpm is ready. */
export async function startFpm(layout: LabLayout): Promise<number> {
  if ((await livePid(layout.fpmPidFile)) === undefined) {
    // What a SIGKILLed master leaves behind; php-fpm would refuse to bind over the socket.
    await rm(layout.fpmPidFile, { force: true });
    await rm(layout.fpmSocket, { force: true });
  }
  await runOrExplain(fpmStartCommand(layout), 'starting php-fpm');
  return waitFor('php-fpm to write its pid file', () => livePid(layout.fpmPidFile), 10_000);
}

export async function stopFpm(layout: LabLayout): Promise<void> {
  const pid = await livePid(layout.fpmPidFile);
  if (pid !== undefined) await stopPid(pid, 'SIGTERM');
}

/**
 * What the OOM killer does to php-fpm when it picks the master: SIGKILL, no clean-up, so the
 * socket and pid file stay behind. Returns the master's pid.
 */
export async function killFpmLikeOom(layout: LabLayout): Promise<number | undefined> {
  const master = await livePid(layout.fpmPidFile);
  if (master === undefined) return undefined;
  const victims = [master, ...childrenOf(master)];
  for (const pid of victims) signalPid(pid, 'SIGKILL');
  await waitFor('php-fpm to die', () => (victims.some(isAlive) ? undefined : true), 5000);
  return master;
}

/** The proxy_pass backend, as the unprivileged web user, detached so that it outlives the CLI. */
export async function startBackend(
  layout: LabLayout,
  port: number,
  user: UnixUser,
  addresses: readonly string[] = ['127.0.0.1'],
): Promise<number> {
  const out = openSync(layout.backendLog, 'a');
  try {
    const child = spawn(process.execPath, [layout.backendScript, String(port), ...addresses], {
      detached: true,
      stdio: ['ignore', out, out],
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start the Node backend');
    await writeFile(layout.backendPidFile, `${pid}\n`);
    await waitFor(
      `the Node backend to listen on ${port}`,
      async () => {
        if (!isAlive(pid)) throw new Error(`the Node backend exited; see ${layout.backendLog}`);
        return (await portOpen(port)) ? pid : undefined;
      },
      10_000,
    );
    return pid;
  } finally {
    closeSync(out);
  }
}

/**
 * Stops the Node backend and waits until its port refuses connections. Node is multi-threaded:
 * its main thread shows as a zombie while the other threads still hold the listening socket, and
 * a request that lands in that moment is reset instead of refused.
 */
export async function stopBackend(layout: LabLayout, port: number): Promise<void> {
  const pid = await livePid(layout.backendPidFile);
  if (pid !== undefined) await stopPid(pid, 'SIGTERM');
  await rm(layout.backendPidFile, { force: true });
  if (pid !== undefined)
    await waitFor(`port ${port} to close after the Node backend stopped`, async () => ((await portOpen(port)) ? undefined : true), 5000);
}
