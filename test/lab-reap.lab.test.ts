import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readLabState } from '../src/lab/lab-state.ts';
import { reapOrphanedLabs } from '../src/lab/reap-labs.ts';
import { isAlive, readPidFile } from '../src/lab/pids.ts';
import { labLayout } from '../src/lab/lab-layout.ts';

// A test runner killed before its afterAll cannot stop its lab; the next lab's start does.
describe('orphaned labs', () => {
  it('a lab whose owner was SIGKILLed is stopped by pid and removed by the reaper', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "const { startLab } = await import('./src/lab/start-lab.ts'); const lab = await startLab(); console.log(lab.dir); setInterval(() => {}, 1000);",
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const dir = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', (code) => reject(new Error(`lab process exited ${code}`)));
    });
    const layout = labLayout(dir);
    const state = await readLabState(layout.state);
    expect(state.ownerPid).toBe(child.pid);
    const nginx = await readPidFile(layout.nginxPidFile);
    const fpm = await readPidFile(layout.fpmPidFile);
    expect(nginx !== undefined && isAlive(nginx)).toBe(true);
    expect(fpm !== undefined && isAlive(fpm)).toBe(true);

    // While its owner lives, a lab is left alone.
    expect(await reapOrphanedLabs()).not.toContain(dir);
    expect(isAlive(nginx as number)).toBe(true);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(isAlive(nginx as number)).toBe(true); // nothing stopped it: the owner died without cleaning up

    expect(await reapOrphanedLabs()).toContain(dir);
    expect(isAlive(nginx as number)).toBe(false);
    expect(isAlive(fpm as number)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/etc/sudoers.d/medic-lab-${state.id}`)).toBe(false);
  });
});
