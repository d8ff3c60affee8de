import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { shellQuote } from '../core/playbook/shell-quote.ts';
import { labLayout, type LabLayout, FPM_BINARY, NGINX_BINARY } from './lab-layout.ts';
import { isAlive, livePid, stopPid, waitFor } from './pids.ts';
import { portOpen } from './services.ts';

const run = promisify(execFile);

/**
 * Masters that are a container's, as root runs them on a host that also runs containers, made
 * with what a container runtime uses, without one:
 *
 * - an nginx in a mount namespace of its own whose `/` is an overlay of the host's root (as an
 *   image's layers are), started with the lab's own `-c`/`-p` paths: inside, the config at that
 *   path is the container's own file, not the host's;
 * - a php-fpm moved, before it starts, into a cgroup named like a docker container's
 *   (`…/docker/<64 hex>`), under a cgroup of the lab's own that is removed when it stops.
 *
 * Both are daemons adopted by init and owned by root, as a host's own masters are: only where
 * they run tells them apart.
 */
export interface ContainerLayout {
  dir: string;
  /** The overlay's upper and work directories (what the container wrote) and where it is mounted inside. */
  upper: string;
  work: string;
  root: string;
  /** The nginx config as the container sees it at the lab's own nginx.conf path: written into the upper layer. */
  nginxConfInside: string;
  /** The container nginx's pid file, inside (`/run/…`), as the host finds it in the upper layer. */
  nginxPidFile: string;
  /** The docker-like php-fpm's own tree (config, pool, socket, pid file, log). */
  fpm: LabLayout;
}

const NGINX_PID_INSIDE = '/run/medic-lab-container-nginx.pid';

export function containerLayout(lab: LabLayout): ContainerLayout {
  const dir = join(lab.dir, 'container');
  const upper = join(dir, 'upper');
  return {
    dir,
    upper,
    work: join(dir, 'work'),
    root: join(dir, 'root'),
    nginxConfInside: join(upper, lab.nginxConf),
    nginxPidFile: join(upper, NGINX_PID_INSIDE),
    fpm: labLayout(join(dir, 'fpm')),
  };
}

/** The cgroup v2 mount (or, on a host without one, the v1 `name=systemd` one): where the lab makes its cgroup. */
export async function cgroupMount(): Promise<string | undefined> {
  const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' '));
  const fsType = (f: string[]): string | undefined => f[f.indexOf('-', 6) + 1];
  return (
    lines.find((f) => fsType(f) === 'cgroup2')?.[4] ??
    lines.find((f) => fsType(f) === 'cgroup' && (f.at(-1) ?? '').split(',').includes('name=systemd'))?.[4]
  );
}

/** The lab's own cgroup and, under it, the docker-like one (`<lab cgroup>/docker/<64 hex>`). */
export function containerCgroups(mount: string, labId: string): { lab: string; docker: string } {
  const lab = join(mount, `medic-lab-${labId}`);
  const id = createHash('sha256').update(`medic-lab-${labId}`).digest('hex');
  return { lab, docker: join(lab, 'docker', id) };
}

function nginxConf(port: number): string {
  return `# The container's own nginx.conf: on the host, this path holds the lab's.
daemon on;
pid ${NGINX_PID_INSIDE};
error_log /var/log/medic-lab-container-nginx.log;
events { worker_connections 16; }
http {
  access_log off;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "the container's nginx\\n"; }
  }
}
`;
}

/**
 * Starts the container nginx: `unshare --mount`, an overlay of `/` (with /dev bound into it, for
 * nginx's daemon to open /dev/null), `chroot` into it, then nginx as the lab's own is started.
 * Returns its master's pid, once it listens.
 */
export async function startContainerNginx(lab: LabLayout, port: number): Promise<number> {
  const c = containerLayout(lab);
  for (const d of [c.upper, c.work, c.root, dirname(c.nginxConfInside), dirname(c.nginxPidFile)]) await mkdir(d, { recursive: true });
  await writeFile(c.nginxConfInside, nginxConf(port));
  await rm(c.nginxPidFile, { force: true });
  const script = [
    shellQuote(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${c.upper},workdir=${c.work}`, c.root]),
    shellQuote(['mount', '--bind', '/dev', join(c.root, 'dev')]),
    `exec ${shellQuote(['chroot', c.root, NGINX_BINARY, '-c', lab.nginxConf, '-p', `${lab.nginxPrefix}/`])}`,
  ].join(' && ');
  try {
    await run('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script], { timeout: 15_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`starting the container nginx (unshare --mount, overlay, chroot) failed: ${(err.stderr ?? '').trim() || err.message}`, {
      cause: e,
    });
  }
  const pid = await waitFor('the container nginx to write its pid file', () => livePid(c.nginxPidFile), 10_000);
  await waitFor(`the container nginx to listen on ${port}`, async () => ((await portOpen(port)) ? true : undefined), 10_000);
  return pid;
}

/**
 * Starts the docker-like php-fpm: its own config, pool and socket under `<lab>/container/fpm`,
 * started by a shell that first moves itself into the docker-like cgroup, so that the master
 * and its workers are born there. Returns the master's pid.
 */
export async function startContainerFpm(fpm: LabLayout, cgroup: string, configs: { fpmConf: string; pool: string }): Promise<number> {
  await mkdir(cgroup, { recursive: true });
  for (const d of [fpm.runDir, fpm.logDir, fpm.fpmPoolDir]) await mkdir(d, { recursive: true });
  await writeFile(fpm.fpmConf, configs.fpmConf);
  await writeFile(fpm.fpmPoolConf, configs.pool);
  await rm(fpm.fpmPidFile, { force: true });
  const script = `echo $$ > ${shellQuote([join(cgroup, 'cgroup.procs')])} && exec ${shellQuote([FPM_BINARY, '--fpm-config', fpm.fpmConf])}`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`starting the docker-like php-fpm failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
  return waitFor('the docker-like php-fpm to write its pid file', () => livePid(fpm.fpmPidFile), 10_000);
}

/** Stops both, unmounts nothing (their mount namespace goes with its last process) and removes the lab's cgroup and files. */
export async function stopContainers(lab: LabLayout, labId: string): Promise<void> {
  const c = containerLayout(lab);
  const nginx = await livePid(c.nginxPidFile);
  if (nginx !== undefined) await stopPid(nginx, 'SIGTERM');
  const fpm = await livePid(c.fpm.fpmPidFile);
  if (fpm !== undefined) await stopPid(fpm, 'SIGTERM');
  const mount = await cgroupMount();
  if (mount !== undefined) {
    const cg = containerCgroups(mount, labId);
    // The workers leave a moment after their master; a cgroup can be removed once it is empty.
    for (const dir of [cg.docker, dirname(cg.docker), cg.lab]) {
      await waitFor(
        `the lab cgroup ${dir} to empty`,
        async () => {
          try {
            await rmdir(dir);
            return true;
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') return true;
            if (code === 'EBUSY') {
              const procs = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
                .split('\n')
                .filter((p) => p !== '' && isAlive(Number(p)));
              for (const p of procs) await stopPid(Number(p), 'SIGTERM', 2000);
              return undefined;
            }
            throw e;
          }
        },
        15_000,
      );
    }
  }
  await rm(c.dir, { recursive: true, force: true });
}
