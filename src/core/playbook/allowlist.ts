import { pathProblem } from '../facts.ts';
import { RESOLVE_TO_LOOPBACK } from './each-lists.ts';

/**
 * The read-only allowlist. A check's command is accepted only when its program is listed
 * here and every argument matches one of the forms listed for that program. Anything else
 * (an unknown flag, a write mode such as `dmesg -c`, `find -delete`, `curl -d`, `tail -f`,
 * a redirection, a shell) is refused. It is a list of what is allowed, never of what is not.
 */

type ValueCheck = (value: string) => boolean;

interface ProgramSpec {
  /** Flags that take no value; for `combinable`, letters that may be combined as `-tlnp`. */
  flags?: readonly string[];
  combinable?: string;
  /** Flags that take one value (as the next argument or `--flag=value`). */
  options?: Readonly<Record<string, ValueCheck>>;
  /** Positional arguments: each must pass; `maxPositional` bounds their count. */
  positional?: ValueCheck;
  maxPositional?: number;
  minPositional?: number;
  /** Extra whole-command rule, e.g. systemctl's verb. Returns an error or null. */
  whole?: (positionals: string[]) => string | null;
  /** Extra rule over all arguments, e.g. nginx's mode flag. Returns an error or null. */
  wholeArgs?: (args: readonly string[]) => string | null;
}

const isPath: ValueCheck = (v) => pathProblem(v) === null;
/**
 * The few files under /proc a check reads, each a fixed form (facts as paths are refused there):
 * memory, a process's resource limits, control groups and mounts (the pid is digits only, or our
 * own `self`) and the ephemeral port range. Nothing that could block or hold secrets (environ,
 * mem, kmsg, cmdline).
 */
const PROC_FILES =
  /^\/proc\/(?:meminfo|[1-9]\d{0,8}\/(?:limits|cgroup|mountinfo)|self\/(?:cgroup|mountinfo)|sys\/net\/ipv4\/ip_local_port_range)$/;
const isPathOrMeminfo: ValueCheck = (v) => PROC_FILES.test(v) || isPath(v);
const isCount: ValueCheck = (v) => /^\+?\d{1,9}$/.test(v);
const isSeconds: ValueCheck = (v) => /^\d{1,4}(\.\d{1,3})?$/.test(v);
const isUnit: ValueCheck = (v) => /^[A-Za-z0-9@._:\\*-]{1,200}$/.test(v) && !v.startsWith('-');
const isFormat: ValueCheck = (v) => /^[A-Za-z0-9%{}_,:=+ ./\\|-]{1,200}$/.test(v);
const oneOf =
  (...values: string[]): ValueCheck =>
  (v) =>
    values.includes(v);
const isLoopbackOrSiteUrl: ValueCheck = (v) =>
  /^https?:\/\/[A-Za-z0-9.[\]:-]+(?::\d{1,5})?(?:\/[A-Za-z0-9._~%/?=&+,:@-]*)?$/.test(v) && URL.canParse(v);
const isGlobName: ValueCheck = (v) => /^[A-Za-z0-9._*?[\]-]{1,100}$/.test(v);

/**
 * curl's `-w` variables a probe may print. `%output{file}` writes a file, `-w @file` reads one,
 * `%{stderr}`/`%{stdout}` switch streams and `%{json}`/`%header{}` dump more than a probe needs:
 * none are listed, so all are refused.
 */
const CURL_WRITE_OUT_VARIABLES = new Set([
  'http_code',
  'response_code',
  'http_version',
  'time_total',
  'time_namelookup',
  'time_connect',
  'time_appconnect',
  'time_pretransfer',
  'time_starttransfer',
  'size_download',
  'size_header',
  'num_redirects',
  'remote_ip',
  'remote_port',
  'scheme',
  'ssl_verify_result',
  'content_type',
  'exitcode',
  'errormsg',
]);

/** A write-out format: literal text of plain characters and `%{variable}`s of the fixed set; nothing else. */
const isCurlWriteOut: ValueCheck = (v) => {
  if (v.length === 0 || v.length > 300 || v.startsWith('@')) return false;
  for (const m of v.matchAll(/%(?:\{([a-z_]{1,40})\}|(.?))/g)) {
    if (m[1] === undefined || !CURL_WRITE_OUT_VARIABLES.has(m[1])) return false;
  }
  return /^[A-Za-z0-9%{}_,:=+ ./|-]*(?:\\n[A-Za-z0-9%{}_,:=+ ./|-]*)*$/.test(v);
};

/**
 * A probe pinned with `--resolve` must ask for exactly the name and port it pins: any other
 * name or port in the URL would be looked up in DNS and leave the host. An address in the URL
 * is never resolved, so it is refused beside `--resolve`.
 */
function resolveMatchesUrl(args: readonly string[]): string | null {
  const pins: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--resolve') pins.push(args[++i] ?? '');
    else if (a.startsWith('--resolve=')) pins.push(a.slice('--resolve='.length));
    else if (['-o', '--output', '-w', '--write-out', '-m', '--max-time', '--connect-timeout', '--max-filesize', '-H'].includes(a)) i++;
    else if (!a.startsWith('-')) url = a;
  }
  if (pins.length === 0) return null;
  if (pins.length > 1) return 'curl: one --resolve per probe';
  if (url === undefined || !URL.canParse(url)) return 'curl: --resolve needs the URL it pins';
  const u = new URL(url);
  const host = u.hostname.toLowerCase();
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.startsWith('['))
    return 'curl: --resolve with an address in the URL (an address is never resolved)';
  const port = u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port;
  const pin = pins[0] as string;
  const m = /^([A-Za-z0-9.-]{1,253}):(\d{1,5}):/.exec(pin);
  if (m === null || (m[1] as string).toLowerCase() !== host || String(Number(m[2])) !== port)
    return `curl: --resolve ${pin} does not pin the URL's ${host}:${port}, which would be looked up in DNS`;
  return null;
}

/** nginx without one of these would start a server (or signal one with -s): a check must name one. */
const NGINX_MODES = ['-T', '-t', '-V'] as const;

const isGrepPattern: ValueCheck = (v) => v.length > 0 && v.length <= 300 && !v.includes('\n') && !v.startsWith('-');

const SPECS: Readonly<Record<string, ProgramSpec>> = {
  cat: { flags: ['--'], positional: isPathOrMeminfo, minPositional: 1, maxPositional: 64 },
  tail: { flags: ['--', '-q', '-v'], options: { '-n': isCount, '-c': isCount }, positional: isPath, minPositional: 1, maxPositional: 64 },
  head: { flags: ['--'], options: { '-n': isCount, '-c': isCount }, positional: isPath, minPositional: 1, maxPositional: 64 },
  grep: {
    flags: ['-E', '-F', '-i', '-n', '-h', '-H', '-v', '-c', '-s', '-r', '--'],
    options: { '-e': isGrepPattern, '-m': isCount, '--include': isGlobName },
    positional: (v) => isPath(v) || isGrepPattern(v),
    minPositional: 1,
    maxPositional: 65,
  },
  ps: {
    flags: ['-e', '-A', '-f', '-l', '-w', '-ww', '--no-headers'],
    options: {
      '-o': isFormat,
      '-eo': isFormat,
      '-Ao': isFormat,
      '-C': isGlobName,
      '-p': (v) => /^\d{1,7}(,\d{1,7})*$/.test(v),
      '--sort': isFormat,
    },
    maxPositional: 0,
  },
  ss: { combinable: 'ltuxnpaeHmoi', flags: ['--no-header'], maxPositional: 0 },
  stat: { flags: ['-L', '--'], options: { '-c': isFormat, '--format': isFormat }, positional: isPath, minPositional: 1, maxPositional: 32 },
  ls: { combinable: 'ladLnhi', flags: ['--'], positional: isPath, minPositional: 1, maxPositional: 32 },
  find: {
    // find's actions that write or run (-exec, -delete, -fprint, -ok) are not listed, so refused.
    options: { '-maxdepth': isCount, '-mindepth': isCount, '-name': isGlobName, '-type': oneOf('f', 'd', 's', 'l') },
    positional: isPath,
    minPositional: 1,
    maxPositional: 1,
  },
  nginx: {
    // Exactly one of -T (dump the config), -t (test it) or -V (version); -s (signals) is never listed.
    flags: [...NGINX_MODES, '-q'],
    options: { '-c': isPath, '-p': isPath },
    maxPositional: 0,
    wholeArgs: (args) => {
      const modes = args.filter((a) => (NGINX_MODES as readonly string[]).includes(a));
      if (modes.length !== 1) return `nginx: exactly one of ${NGINX_MODES.join(', ')} is required (without one nginx starts a server)`;
      if (modes[0] === '-V' && args.length !== 1) return 'nginx: -V takes no other argument';
      return null;
    },
  },
  'php-fpm': {
    // `-i` prints what php-fpm reports about itself (the php.ini it loads); nothing else it does is read-only.
    flags: ['-i'],
    maxPositional: 0,
    wholeArgs: (args) => (args.length === 1 && args[0] === '-i' ? null : 'php-fpm: only "-i" (PHP information) is allowed'),
  },
  systemctl: {
    flags: ['--no-pager', '--plain', '--no-legend', '--all', '--full', '--value', '-a', '-l'],
    options: {
      '--type': oneOf('service', 'socket'),
      '-p': isFormat,
      '--property': isFormat,
      '--lines': isCount,
      '-n': isCount,
      '--state': isFormat,
    },
    positional: isUnit,
    minPositional: 1,
    maxPositional: 16,
    whole: (pos) =>
      ['status', 'show', 'is-active', 'is-failed', 'list-units', 'cat'].includes(pos[0] ?? '')
        ? null
        : `systemctl verb "${pos[0] ?? ''}" is not read-only (allowed: status, show, is-active, is-failed, list-units, cat)`,
  },
  journalctl: {
    flags: ['-k', '--dmesg', '--no-pager', '-q', '--quiet', '-b', '--utc', '-r', '--reverse', '--no-hostname'],
    options: {
      '-u': isUnit,
      '--unit': isUnit,
      '-n': isCount,
      '--lines': isCount,
      '-o': oneOf('short', 'short-iso', 'short-iso-precise', 'cat'),
      '--output': oneOf('short', 'short-iso', 'short-iso-precise', 'cat'),
      '--since': isFormat,
      '-S': isFormat,
      '-g': isGrepPattern,
      '--grep': isGrepPattern,
    },
    maxPositional: 0,
  },
  dmesg: {
    // dmesg -c/-C clear the ring buffer and -n/-E/-D change the console: none are listed.
    flags: ['-T', '--ctime', '-x', '--decode', '-k', '--kernel', '--nopager', '-P'],
    options: { '--time-format': oneOf('iso', 'ctime', 'reltime', 'delta', 'notime'), '-l': isFormat, '--level': isFormat },
    maxPositional: 0,
  },
  free: { flags: ['-b', '-k', '-m', '-g', '-h', '-w', '--wide', '-t'], maxPositional: 0 },
  curl: {
    // Only GET/HEAD probes: no -d/-F/-T/-X, no -o except /dev/null, no -K config files.
    flags: ['-s', '-S', '-sS', '-I', '--head', '-k', '--insecure', '-L', '--http1.1', '--compressed', '-f', '-i'],
    options: {
      '-o': oneOf('/dev/null'),
      '--output': oneOf('/dev/null'),
      '-w': isCurlWriteOut,
      '--write-out': isCurlWriteOut,
      '-m': isSeconds,
      '--max-time': isSeconds,
      '--connect-timeout': isSeconds,
      '--max-filesize': isCount,
      '-H': (v) => /^Host: [A-Za-z0-9.-]{1,253}$/.test(v),
      // A virtual host's name pinned to this host's loopback: never DNS, never another machine.
      '--resolve': (v) => RESOLVE_TO_LOOPBACK.test(v),
    },
    positional: isLoopbackOrSiteUrl,
    minPositional: 1,
    maxPositional: 1,
    wholeArgs: resolveMatchesUrl,
  },
  date: { flags: ['-u', '-R', '--utc'], positional: (v) => /^\+[A-Za-z0-9%:_ ./-]{1,100}$/.test(v), maxPositional: 1 },
  uname: { combinable: 'anrsm', maxPositional: 0 },
  hostname: { maxPositional: 0 },
  uptime: { maxPositional: 0 },
  id: { flags: ['-u', '-n', '-g', '-G'], maxPositional: 0 },
  // SELinux, read only: the mode, named booleans (setsebool is another program, not listed), and
  // AVC denials from the audit log (no -if: it reads only the system's audit log).
  getenforce: { maxPositional: 0 },
  getsebool: { positional: (v) => /^[a-z][a-z0-9_]{0,99}$/.test(v), minPositional: 1, maxPositional: 8 },
  ausearch: {
    flags: ['-i', '--interpret', '--just-one'],
    options: {
      '-m': oneOf('avc', 'AVC', 'USER_AVC', 'SELINUX_ERR'),
      '--message': oneOf('avc', 'AVC', 'USER_AVC', 'SELINUX_ERR'),
      '-ts': oneOf('recent', 'this-hour', 'today', 'boot'),
      '--start': oneOf('recent', 'this-hour', 'today', 'boot'),
      '-c': isGlobName,
      '--comm': isGlobName,
    },
    maxPositional: 0,
  },
};

/** Program names a check may run. */
export const READ_ONLY_PROGRAMS: readonly string[] = Object.keys(SPECS);

/** Where a program named by its path may live: root's own folders, never a path a host reported. */
export const SYSTEM_PROGRAM_DIRS: readonly string[] = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Options of {@link checkReadOnly}. */
export interface ReadOnlyOptions {
  /**
   * Program paths outside {@link SYSTEM_PROGRAM_DIRS} that may run: the inventory's own facts
   * (`nginx.binary`, `fpm.binary`), which a person wrote. Never what discovery found.
   * @defaultValue none
   */
  trustedPrograms?: readonly string[];
}

/** `php-fpm8.2`, `php-fpm82` and `php-fpm` share one spec. */
const specName = (name: string): string => (/^php-fpm[0-9.]{0,8}$/.test(name) ? 'php-fpm' : name);

/**
 * Returns null when `argv` is an allowed read-only command, otherwise why it is not.
 * argv[0] is a bare program name, or an absolute path in a system folder (or given by the
 * inventory) whose base name is a listed program.
 */
export function checkReadOnly(argv: readonly string[], options: ReadOnlyOptions = {}): string | null {
  const [program, ...args] = argv;
  if (program === undefined || program === '') return 'empty command';
  let name = program;
  if (program.includes('/')) {
    if (!isPath(program)) return `program path "${program}" is not a plain absolute path`;
    const dir = program.slice(0, program.lastIndexOf('/'));
    if (!SYSTEM_PROGRAM_DIRS.includes(dir) && !(options.trustedPrograms ?? []).includes(program)) {
      return `program path "${program}" is neither in a system folder (${SYSTEM_PROGRAM_DIRS.join(', ')}) nor set in the inventory's facts`;
    }
    name = program.slice(program.lastIndexOf('/') + 1);
  }
  name = specName(name);
  const spec = SPECS[name];
  if (spec === undefined) {
    return `program "${name}" is not on the read-only allowlist (${READ_ONLY_PROGRAMS.join(', ')})`;
  }
  const positionals: string[] = [];
  let afterDashDash = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (/[\n\r\0]/.test(arg)) return `${name}: argument ${i + 1} contains a newline or NUL`;
    if (!afterDashDash && arg.startsWith('-') && arg !== '-') {
      if (arg === '--') {
        if (!spec.flags?.includes('--')) return `${name}: "--" is not allowed`;
        afterDashDash = true;
        continue;
      }
      if (spec.flags?.includes(arg)) continue;
      const eq = arg.indexOf('=');
      if (arg.startsWith('--') && eq > 0) {
        const check = spec.options?.[arg.slice(0, eq)];
        if (check === undefined) return `${name}: option "${arg.slice(0, eq)}" is not allowed`;
        if (!check(arg.slice(eq + 1))) return `${name}: value of "${arg.slice(0, eq)}" is not allowed: "${arg.slice(eq + 1)}"`;
        continue;
      }
      const check = spec.options?.[arg];
      if (check !== undefined) {
        const value = args[i + 1];
        if (value === undefined) return `${name}: option "${arg}" needs a value`;
        if (!check(value)) return `${name}: value of "${arg}" is not allowed: "${value}"`;
        i++;
        continue;
      }
      if (spec.combinable !== undefined && /^-[A-Za-z]+$/.test(arg) && [...arg.slice(1)].every((c) => spec.combinable?.includes(c))) {
        continue;
      }
      return `${name}: flag "${arg}" is not on the read-only allowlist`;
    }
    positionals.push(arg);
  }
  const max = spec.maxPositional ?? 0;
  if (positionals.length > max) return `${name}: takes at most ${max} operand(s), got ${positionals.length}`;
  if (positionals.length < (spec.minPositional ?? 0)) return `${name}: needs at least ${spec.minPositional} operand(s)`;
  for (const p of positionals) {
    if (spec.positional !== undefined && !spec.positional(p)) return `${name}: operand "${p}" is not allowed`;
  }
  return spec.wholeArgs?.(args) ?? spec.whole?.(positionals) ?? null;
}
