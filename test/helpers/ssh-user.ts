import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A plain login user for sshd tests, created once on this machine when we are root.
 *
 * Why not root: sshd runs root sessions without privilege separation and then refuses "signal"
 * requests, so a timed-out command could not be killed; and root's shell start-up files on a dev
 * box (pyenv, nvm…) make every command slow. A fresh user with /bin/sh is what a real
 * deployment's read-only account looks like.
 *
 * The password field is set to `*`: with `UsePAM no`, sshd refuses accounts whose password starts
 * with `!` (useradd's default, "locked"), even for key logins.
 */
export async function sshTestUser(name = 'medic-ssh-test'): Promise<string> {
  if (process.getuid?.() !== 0) return userInfo().username;
  try {
    await run('id', ['-u', name]);
  } catch {
    await withLockRetry(() => run('useradd', ['--create-home', '--shell', '/bin/sh', '--password', '*', name]));
  }
  return name;
}

// Parallel test files may create users at the same moment; useradd then fails on the lock.
async function withLockRetry(fn: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fn();
      return;
    } catch (e) {
      const text = String((e as { stderr?: unknown }).stderr ?? e);
      if (/already exists/.test(text)) return;
      if (attempt >= 10 || !/lock/i.test(text)) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
