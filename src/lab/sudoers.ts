import { execFile } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { NGINX_BINARY, fpmStartCommand, type LabLayout } from './lab-layout.ts';
import { errorMessage } from '../errors.ts';

const run = promisify(execFile);

export const sudoersPath = (labId: string): string => `/etc/sudoers.d/medic-lab-${labId}`;

/** A pid as the bot passes it: sudo matches the whole argument string against this regular expression (sudo ≥ 1.9.10). */
const PID = '[1-9][0-9]{0,6}';

/**
 * The lab login user's sudo rules: the contract's remediations in their no-systemd form,
 * exactly as the bot runs them, and nothing else.
 *
 * - `kill -USR2 <pid>` (reload_php_fpm), `kill -HUP <pid>` (reload_nginx) and `kill -TERM <pid>`
 *   (restart_php_fpm's stop): the masters' pids change on every start (and php-fpm's on every
 *   USR2 re-exec), so the rule takes any pid but only those three signals.
 * - `nginx -t -c <this lab's nginx.conf>`, and the exact php-fpm start command: fixed argv.
 */
export function renderSudoers(user: string, layout: LabLayout): string {
  const cmd = (argv: string[]): string => argv.map(escapeArg).join(' ');
  const rules = [
    `/usr/bin/kill ^-USR2 ${PID}$`,
    `/usr/bin/kill ^-HUP ${PID}$`,
    `/usr/bin/kill ^-TERM ${PID}$`,
    cmd([NGINX_BINARY, '-t', '-c', layout.nginxConf]),
    cmd(fpmStartCommand(layout)),
  ];
  return [
    `# gateway-medic lab ${layout.dir}: only the contract's remediations (no systemd here).`,
    `# Removed when the lab stops.`,
    `${user} ALL=(root) NOPASSWD: ${rules.join(', ')}`,
    '',
  ].join('\n');
}

/** sudoers needs `\`, `,`, `:` and `=` escaped in command arguments; whitespace cannot be expressed at all. */
function escapeArg(arg: string): string {
  if (/\s/.test(arg)) throw new Error(`the lab's paths must not contain whitespace: ${JSON.stringify(arg)}`);
  return arg.replace(/[\\,:=]/g, '\\$&');
}

/** Validates the rules with `visudo -cf` before they go live: a broken file in sudoers.d breaks sudo for everyone. */
export async function installSudoers(labId: string, text: string): Promise<string> {
  const path = sudoersPath(labId);
  // sudo ignores files in sudoers.d whose name holds a dot, so write the candidate under such a name first.
  const candidate = `${path}.candidate`;
  await writeFile(candidate, text, { mode: 0o440 });
  try {
    await run('/usr/sbin/visudo', ['-cf', candidate]);
  } catch (e) {
    await rm(candidate, { force: true });
    throw new Error(`visudo refused the lab's sudo rules: ${(e as { stderr?: string }).stderr ?? errorMessage(e)}`, { cause: e });
  }
  await writeFile(path, text, { mode: 0o440 });
  await chmod(path, 0o440);
  await rm(candidate, { force: true });
  return path;
}

export async function removeSudoers(labId: string): Promise<void> {
  await rm(sudoersPath(labId), { force: true });
}

/** What `sudo -l -U <user>` lists, to check the rules took effect. */
export async function listSudo(user: string): Promise<string> {
  const { stdout } = await run('/usr/bin/sudo', ['-l', '-U', user]);
  return stdout;
}
