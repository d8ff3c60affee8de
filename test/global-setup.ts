import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CACHE_DIR, systemdLabUnsupported, treeDir } from '../src/lab/systemd-host.ts';
import { isAlive } from '../src/lab/pids.ts';

/**
 * Starts building the systemd lab host's Debian tree in the background when this run includes
 * its test and the cache lacks it: debootstrap takes minutes, which then overlap with the other
 * test files. The test itself waits for the build (or does it), and fails with the reason where
 * the machine cannot build or boot it.
 */
export default async function setup(): Promise<() => void> {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && a !== 'watch');
  const included = filters.length === 0 || filters.some((f) => 'test/systemd-host.systemd.test.ts'.includes(f) || f.includes('systemd'));
  if (!included || systemdLabUnsupported() !== undefined || existsSync(join(treeDir(), '.medic-tree-complete'))) return () => {};
  await mkdir(DEFAULT_CACHE_DIR, { recursive: true });
  const log = await open(join(DEFAULT_CACHE_DIR, 'build.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/lab/systemd-build.ts'], {
    stdio: ['ignore', log.fd, log.fd],
    detached: true,
  });
  await log.close();
  child.unref();
  const pid = child.pid;
  // A run that ends before the build does (a filter, an abort) stops it; the next run starts over.
  return () => {
    if (pid !== undefined && isAlive(pid)) process.kill(-pid, 'SIGTERM');
  };
}
