import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabLayout } from './lab-layout.ts';
import type { UnixUser } from './lab-users.ts';
import { livePid, stopPid, waitFor } from './pids.ts';

/**
 * A local user who titles its own processes like nginx's and php-fpm's masters. Any user can:
 * the title is just the process's argv, which perl's `$0` rewrites. The fake nginx master names
 * a program that leaves a marker file when run by anyone, so a test can prove it never ran.
 */
export interface IntruderLayout {
  dir: string;
  /** What the fake nginx master's title names as its binary: a script that writes {@link marker}. */
  program: string;
  marker: string;
  pidFiles: string[];
}

export const intruderLayout = (layout: LabLayout): IntruderLayout => {
  const dir = join(layout.dir, 'intruder');
  return {
    dir,
    program: join(dir, 'nginx'),
    marker: join(dir, 'ran'),
    pidFiles: [join(layout.runDir, 'intruder-nginx.pid'), join(layout.runDir, 'intruder-fpm.pid')],
  };
};

/** The titles, as the real masters' look; they point at the lab's own configs, which the inventory pins. */
export const intruderTitles = (layout: LabLayout): [string, string] => [
  `nginx: master process ${intruderLayout(layout).program} -c ${layout.nginxConf}`,
  `php-fpm: master process (${layout.fpmConf})`,
];

/**
 * Starts the two fake masters as `user` (the unprivileged web user), before the real masters
 * so that they sort first in `ps`. Returns their pids.
 */
export async function startIntruders(layout: LabLayout, user: UnixUser): Promise<number[]> {
  const l = intruderLayout(layout);
  await mkdir(l.dir, { recursive: true });
  // World-writable (sticky) so that whoever might run the program could leave the marker.
  await chmod(l.dir, 0o1777);
  await rm(l.marker, { force: true });
  await writeFile(
    l.program,
    `#!/bin/sh\n# Planted by the lab: if this ever runs, the bot ran a program a process title named.\n: > ${l.marker}\nexit 0\n`,
    { mode: 0o755 },
  );
  await chmod(l.program, 0o755);
  const pids: number[] = [];
  for (const [i, title] of intruderTitles(layout).entries()) {
    const child = spawn('/usr/bin/perl', ['-e', '$0 = shift; sleep 3600', title], {
      detached: true,
      stdio: 'ignore',
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start the lab intruder');
    await writeFile(l.pidFiles[i] as string, `${pid}\n`);
    // Ready once the kernel shows the new title.
    await waitFor(`the intruder ${pid} to take its title`, async () => ((await readCmdline(pid)) === title ? true : undefined), 10_000);
    pids.push(pid);
  }
  return pids;
}

async function readCmdline(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ').trimEnd();
  } catch {
    return undefined;
  }
}

export async function stopIntruders(layout: LabLayout): Promise<void> {
  for (const pidFile of intruderLayout(layout).pidFiles) {
    const pid = await livePid(pidFile);
    if (pid !== undefined) await stopPid(pid, 'SIGTERM');
    await rm(pidFile, { force: true });
  }
}
