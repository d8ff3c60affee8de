import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { SshCommandRunner } from '../src/adapters/ssh/ssh-command-runner.ts';
import { isAlive } from '../src/lab/pids.ts';
import { type SshdHandle, startSshd } from '../src/lab/sshd.ts';
import { targetFor } from './helpers/ssh-target.ts';
import { sshTestUser } from './helpers/ssh-user.ts';

// Read-only commands run in a few shells the runner keeps open on the host; every other command
// gets a session channel of its own. `$$` is the pid of the shell that runs the command.
const RO = { timeoutMs: 10_000, readOnly: true } as const;
const T = { timeoutMs: 10_000 } as const;
const shellPid = async (r: SshCommandRunner): Promise<number> => Number((await r.run('echo $$', RO)).stdout.trim());

let sshd: SshdHandle;
let runner: SshCommandRunner;

beforeAll(async () => {
  sshd = await startSshd({ user: await sshTestUser() });
  runner = await new SshConnector().connect(targetFor(sshd));
});

afterAll(async () => {
  await runner?.close();
  await sshd?.stop();
});

describe('read-only commands in a long-lived remote shell', () => {
  it('one after another they share one shell; commands of their own get a new session each', async () => {
    const pids = [];
    for (let i = 0; i < 5; i++) pids.push(await shellPid(runner));
    expect(new Set(pids).size).toBe(1);
    const own = [];
    for (let i = 0; i < 3; i++) own.push(Number((await runner.run('echo $$', T)).stdout.trim()));
    expect(new Set(own).size).toBe(3);
    expect(own).not.toContain(pids[0]);
  });

  it('keeps stdout, stderr and the exit code apart, exactly as a session of its own would', async () => {
    for (const command of ['echo out; echo err >&2; exit 3', "printf 'no newline'", "printf 'a\\n\\nb\\n\\n'", 'true', 'false']) {
      const shared = await runner.run(command, RO);
      const own = await runner.run(command, T);
      expect({ ...shared, durationMs: 0 }).toEqual({ ...own, durationMs: 0 });
    }
    expect((await runner.run('echo out; echo err >&2; exit 3', RO)).exitCode).toBe(3);
  });

  it('a command that ends its shell still gets its own result, run again on a session of its own; the next one gets a new shell', async () => {
    const before = await shellPid(runner);
    const out = await runner.run('echo once; exit 7', RO);
    expect(out).toMatchObject({ stdout: 'once\n', exitCode: 7 });
    await expect.poll(() => isAlive(before), { timeout: 5000 }).toBe(false);
    const after = await shellPid(runner);
    expect(after).not.toBe(before);
    expect(await shellPid(runner)).toBe(after);
  });

  it('gives each command an empty stdin: one that reads it cannot eat the commands after it', async () => {
    const out = await runner.run('cat; echo done', RO);
    expect(out).toMatchObject({ stdout: 'done\n', exitCode: 0, timedOut: false });
    expect((await runner.run('echo next', RO)).stdout).toBe('next\n');
  });

  it('output that looks like a marker, binary output and a long output stay the command’s own', async () => {
    const fake = "printf '\\n%s:%s\\n' 0123456789abcdef01234567 0; printf '\\n0123456789abcdef01234567:\\n' >&2; echo after";
    for (const command of [fake, "printf '\\000\\377\\376'", 'seq 1 60000']) {
      const shared = await runner.run(command, RO);
      const own = await runner.run(command, T);
      expect(shared.stdout).toBe(own.stdout);
      expect(shared.stderr).toBe(own.stderr);
      expect(shared.exitCode).toBe(0);
    }
  });

  it('output past the cap is cut and marked; the shell goes with it and the next command gets a new one', async () => {
    const before = await shellPid(runner);
    const out = await runner.run('yes', { ...RO, maxBytes: 64 * 1024 });
    expect(out.truncated).toBe(true);
    expect(out.stdout).toContain('output truncated at 64 KiB');
    expect(out.stdout.length).toBeLessThan(70 * 1024);
    await expect.poll(() => isAlive(before), { timeout: 5000 }).toBe(false);
    expect(await shellPid(runner)).not.toBe(before);
  });

  it('a command past its timeout is reported as such, its shell is killed on the host, and the next command runs', async () => {
    const before = await shellPid(runner);
    const out = await runner.run('sleep 30; echo never', { ...RO, timeoutMs: 500 });
    expect(out).toMatchObject({ timedOut: true, stdout: '' });
    await expect.poll(() => isAlive(before), { timeout: 5000 }).toBe(false);
    expect((await runner.run('echo alive', RO)).stdout).toBe('alive\n');
  });

  it('a host in good health is read through two shells: commands side by side wait their turn in them', async () => {
    // Patience longer than any of these commands, however loaded the machine.
    const r = await new SshConnector({ shellPatienceMs: 60_000 }).connect(targetFor(sshd));
    try {
      const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => r.run(`echo $$ ${i}`, RO)));
      expect(outs.map((o) => o.stdout.trim().split(' ')[1])).toEqual(Array.from({ length: 6 }, (_, i) => String(i)));
      // The second command found the first shell busy and opened another at once; the other
      // four waited for one of the two.
      expect(new Set(outs.map((o) => o.stdout.split(' ')[0])).size).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('a host that allows one session (MaxSessions 1): read-only commands side by side all run, in the one shell it gives', async () => {
    const tight = await startSshd({ user: sshd.user, extraConfig: ['MaxSessions 1'] });
    try {
      const r = await new SshConnector().connect(targetFor(tight));
      try {
        // The second asks for a shell of its own at once and is refused: it waits for the first.
        const outs = await Promise.all(Array.from({ length: 4 }, (_, i) => r.run(`sleep 0.2; echo $$ ${i}`, RO)));
        expect(outs.map((o) => o.stdout.trim().split(' ')[1])).toEqual(['0', '1', '2', '3']);
        expect(new Set(outs.map((o) => o.stdout.split(' ')[0])).size).toBe(1);
        // And later rounds do not ask again.
        const again = await Promise.all([r.run('echo $$', RO), r.run('echo $$', RO)]);
        expect(new Set(again.map((o) => o.stdout.trim())).size).toBe(1);
      } finally {
        await r.close();
      }
    } finally {
      await tight.stop();
    }
  });

  it('a host whose sessions the idle shells hold (MaxSessions 2): a command of its own still runs, an idle shell making room', async () => {
    const tight = await startSshd({ user: sshd.user, extraConfig: ['MaxSessions 2'] });
    try {
      const r = await new SshConnector().connect(targetFor(tight));
      try {
        // Two read-only commands side by side: two shells, both idle afterwards.
        const shells = await Promise.all([r.run('sleep 0.2; echo $$', RO), r.run('sleep 0.2; echo $$', RO)]);
        expect(new Set(shells.map((o) => o.stdout)).size).toBe(2);
        // A remediation, say: a session of its own, which the host refuses while both shells run.
        expect((await r.run('echo own', T)).stdout).toBe('own\n');
        expect((await r.run('echo $$', RO)).stdout).toMatch(/^\d+\n$/);
      } finally {
        await r.close();
      }
    } finally {
      await tight.stop();
    }
  });

  it('a command that hangs does not hold up the others: past the patience they get another shell, three at most', async () => {
    const r = await new SshConnector({ shellPatienceMs: 50 }).connect(targetFor(sshd));
    try {
      const hung = r.run('sleep 30', { ...RO, timeoutMs: 20_000 }).catch((e: unknown) => e);
      const started = performance.now();
      const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => r.run(`sleep 0.3; echo $$ ${i}`, RO)));
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(outs.map((o) => o.stdout.trim().split(' ')[1])).toEqual(Array.from({ length: 8 }, (_, i) => String(i)));
      const shells = new Set(outs.map((o) => o.stdout.split(' ')[0]));
      // The hung command keeps the first shell: the others ran in one or two more.
      expect(shells.size).toBeGreaterThanOrEqual(1);
      expect(shells.size).toBeLessThanOrEqual(2);
      await r.close();
      expect(await hung).toMatchObject({ code: 'SSH_LOST' });
    } finally {
      await r.close();
    }
  });

  it('idle shells give their session back to a command that needs its own, so a small channel limit never deadlocks', async () => {
    const r = await new SshConnector({ maxChannels: 2 }).connect(targetFor(sshd));
    try {
      await Promise.all([r.run('sleep 0.2; echo a', RO), r.run('sleep 0.2; echo b', RO)]);
      const own = await Promise.all([r.run('echo x', T), r.run('echo y', T)]);
      expect(own.map((o) => o.stdout)).toEqual(['x\n', 'y\n']);
      expect((await r.run('echo again', RO)).stdout).toBe('again\n');
    } finally {
      await r.close();
    }
  });

  it('close() ends the shells on the host', async () => {
    const r = await new SshConnector().connect(targetFor(sshd));
    const pid = await shellPid(r);
    expect(isAlive(pid)).toBe(true);
    await r.close();
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
    await expect(r.run('echo', RO)).rejects.toMatchObject({ code: 'SSH_LOST' });
  });
});

describe('a login that runs no shell for us', () => {
  it('a forced command that refuses a bare shell: every command falls back to a session of its own, with its own result', async () => {
    // A common narrow setup: the key may only run what a wrapper lets through.
    const dir = await mkdtemp(join(tmpdir(), 'medic-forced-'));
    await chmod(dir, 0o755);
    const wrapper = join(dir, 'only-commands.sh');
    await writeFile(
      wrapper,
      '#!/bin/sh\ncase "$SSH_ORIGINAL_COMMAND" in *"exec /bin/sh"*) echo "refused: no shells" >&2; exit 1 ;; esac\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n',
    );
    await chmod(wrapper, 0o755);
    const forced = await startSshd({ user: sshd.user, dir, extraConfig: [`ForceCommand ${wrapper}`] });
    try {
      const r = await new SshConnector().connect(targetFor(forced));
      try {
        const first = await r.run('echo out; echo err >&2; exit 3', RO);
        expect(first).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
        const pids = [];
        for (let i = 0; i < 3; i++) pids.push(Number((await r.run('echo $$', RO)).stdout.trim()));
        expect(new Set(pids).size).toBe(3);
      } finally {
        await r.close();
      }
    } finally {
      await forced.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the connection lost while a shell runs a command: SSH_LOST, as for a session of its own', async () => {
    const doomed = await startSshd({ user: sshd.user });
    try {
      const r = await new SshConnector().connect(targetFor(doomed));
      const running = r.run('sleep 20', RO);
      // Another shell answers while the first one runs the long command.
      expect((await r.run('echo up', RO)).stdout).toBe('up\n');
      void doomed.stop();
      await expect(running).rejects.toMatchObject({ code: 'SSH_LOST' });
      await r.close();
    } finally {
      await doomed.stop();
    }
  });
});
