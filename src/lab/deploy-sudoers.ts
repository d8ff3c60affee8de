/**
 * The sudo rules the Deploying section (docs/deploying.md) tells operators to write on a stock Debian 12
 * host (nginx and php8.2-fpm as systemd units), rendered for one login user. The systemd lab
 * writes exactly this file, so the documented rules are the ones proven there.
 */

/** Each command exactly as the bot runs it through `sudo -n --` on that layout. */
export const DEPLOY_REMEDIATION_COMMANDS: readonly (readonly string[])[] = [
  ['/usr/bin/systemctl', 'reload', 'php8.2-fpm.service'],
  ['/usr/bin/systemctl', 'start', 'php8.2-fpm.service'],
  ['/usr/bin/systemctl', 'restart', 'php8.2-fpm.service'],
  ['/usr/sbin/nginx', '-t'],
  ['/usr/sbin/nginx', '-t', '-c', '/etc/nginx/nginx.conf'],
  ['/usr/bin/systemctl', 'reload', 'nginx.service'],
];

/** The playbook's checks marked `sudo: true`, rendered with that layout's paths (for `sudo: true` in the inventory). */
export const DEPLOY_CHECK_COMMANDS: readonly (readonly string[])[] = [
  ['/usr/sbin/nginx', '-T', '-c', '/etc/nginx/nginx.conf'],
  ['/usr/bin/grep', '-H', '-v', '-e', '^\\s*;', '-e', '^\\s*$', '/etc/php/8.2/fpm/php-fpm.conf'],
  ['/usr/bin/grep', '-r', '-H', '--include=*.conf', '-v', '-e', '^\\s*;', '-e', '^\\s*$', '/etc/php/8.2/fpm/pool.d'],
  ['/usr/bin/tail', '-n', '3000', '/var/log/nginx/error.log'],
  ['/usr/bin/tail', '-n', '3000', '/var/log/nginx/access.log'],
  ['/usr/bin/tail', '-n', '3000', '/var/log/php8.2-fpm.log'],
  ['/usr/bin/journalctl', '-u', 'php8.2-fpm.service', '--no-pager', '-n', '3000'],
  ['/usr/bin/ss', '-H', '-l', '-n', '-x', '-t', '-p'],
  ['/usr/sbin/ausearch', '-m', 'avc', '-ts', 'recent'],
  [
    '/usr/bin/journalctl',
    '--no-pager',
    '-o',
    'short-iso',
    '--since',
    '-1h',
    '-n',
    '500',
    '-g',
    'WORKER.TIMEOUT|was.terminated.due.to.signal|was.sent.SIG|invalid.request.block.size|invalid.HTTP.request.size|listen.queue.of.socket|HARAKIRI',
  ],
  ['/usr/bin/dmesg', '--time-format', 'iso'],
  ['/usr/bin/journalctl', '-k', '-o', 'short-iso', '--no-pager', '-n', '3000'],
];

/**
 * Checks whose argument is a name discovered on the host (a backend's systemd unit), as sudo
 * regular expressions: any `*.service` unit name of plain characters, every other argument fixed.
 * The systemd lab runs them with its own backend's unit.
 */
export const DEPLOY_CHECK_PATTERNS: readonly string[] = [
  '/usr/bin/journalctl ^-u [A-Za-z0-9@_.-]+\\.service --no-pager -o short-iso --since -1h -n 500$',
];

/**
 * One sudoers command spec that matches exactly these arguments. Plain arguments are written as
 * they are; any with a glob or sudoers special character make the whole spec a regular
 * expression (`^…$`, sudo ≥ 1.9.10), because sudo's globs match across arguments: `*` in
 * `--include=*.conf` would otherwise let extra files be read.
 */
export function sudoersCommand(argv: readonly string[]): string {
  const [binary, ...args] = argv;
  if (binary === undefined) throw new Error('empty command');
  if (args.every((a) => /^[A-Za-z0-9/._-]+$/.test(a))) return [binary, ...args].join(' ');
  return `${binary} ^${args.map((a) => a.replace(/[.^$*+?()[\]{}|\\,:=]/g, '\\$&')).join(' ')}$`;
}

export function renderDeploySudoers(user: string): string {
  const list = (cmds: readonly (readonly string[])[]): string => cmds.map((c) => `    ${sudoersCommand(c)}`).join(', \\\n');
  return [
    '# /etc/sudoers.d/medic (write it with visudo -f): the remediations, exactly as the bot runs them',
    `Cmnd_Alias MEDIC_FIX = \\\n${list(DEPLOY_REMEDIATION_COMMANDS)}`,
    '# with sudo: true in the inventory, the read-only checks that need root',
    `Cmnd_Alias MEDIC_READ = \\\n${[list(DEPLOY_CHECK_COMMANDS), ...DEPLOY_CHECK_PATTERNS.map((p) => `    ${p}`)].join(', \\\n')}`,
    `${user} ALL=(root) NOPASSWD: MEDIC_FIX, MEDIC_READ`,
    '',
  ].join('\n');
}
