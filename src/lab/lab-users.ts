import { execFile } from 'node:child_process';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { sleep } from './pids.ts';
import { errorMessage } from '../errors.ts';

const run = promisify(execFile);

export interface UnixUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * Creates a system user with a group of the same name unless it exists, and returns its ids.
 * Idempotent and safe when two labs start at once: useradd losing the race is fine.
 */
export async function ensureUser(name: string, shell: string): Promise<UnixUser> {
  for (let attempt = 0; ; attempt++) {
    const found = await lookupUser(name);
    if (found !== undefined) return found;
    try {
      await run('/usr/sbin/useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        shell,
        name,
      ]);
    } catch (e) {
      // 9: the user appeared meanwhile; 10: /etc/passwd was locked by another useradd. Both resolve by looking again.
      if (attempt >= 20) throw new Error(`could not create the lab user ${name}: ${errorMessage(e)}`, { cause: e });
      await sleep(100);
    }
  }
}

/**
 * Makes a user able to log in with a key: a home that exists (else sshd prints "Could not chdir
 * to home directory" into every command's stderr) and a password field that is empty of any
 * password but not locked (`!` makes sshd refuse the account when PAM is off).
 */
export async function ensureLoginUser(name: string): Promise<UnixUser> {
  const user = await ensureUser(name, '/bin/sh');
  const home = `/var/lib/${name}`;
  await mkdir(home, { recursive: true });
  await chown(home, user.uid, user.gid);
  await chmod(home, 0o750);
  const shadow = await run('/usr/bin/getent', ['shadow', name]).then(
    (r) => r.stdout.split(':')[1] ?? '',
    () => '',
  );
  if (user.home !== home) await usermod(['--home', home, name]);
  if (shadow.startsWith('!')) await usermod(['--password', '*', name]);
  return { ...user, home };
}

/** usermod fails while another useradd/usermod holds /etc/passwd's lock; two labs starting at once do that. */
async function usermod(args: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await run('/usr/sbin/usermod', args);
      return;
    } catch (e) {
      if (attempt >= 20) throw new Error(`usermod ${args.join(' ')} failed: ${errorMessage(e)}`, { cause: e });
      await sleep(100);
    }
  }
}

export async function lookupUser(name: string): Promise<UnixUser | undefined> {
  try {
    const { stdout } = await run('/usr/bin/getent', ['passwd', name]);
    const [, , uid, gid, , home] = stdout.trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid), home: home ?? '' };
  } catch {
    return undefined;
  }
}
