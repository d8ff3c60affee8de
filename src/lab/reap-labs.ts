import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from './lab.ts';
import { readLabState } from './lab-state.ts';
import { isAlive } from './pids.ts';

/**
 * Stops the labs in the temp dir whose owner process is gone: a test runner killed before its
 * `afterAll` (a timeout, Ctrl-C twice) cannot stop its lab, so the next lab to start does,
 * by the pid files, and removes its sudo rule and directory. Returns the directories reaped.
 */
export async function reapOrphanedLabs(dir: string = tmpdir()): Promise<string[]> {
  const reaped: string[] = [];
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries.filter((n) => n.startsWith('medic-lab-'))) {
    const state = await readLabState(join(dir, name, 'state.json')).catch(() => undefined);
    if (state?.ownerPid === undefined || isAlive(state.ownerPid)) continue;
    await new Lab(state).stop({ removeDir: true }).catch(() => undefined);
    reaped.push(state.dir);
  }
  return reaped;
}
