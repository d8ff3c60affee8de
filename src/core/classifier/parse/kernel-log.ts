import type { Dated } from '../evidence.ts';
import { ISO_STAMP, localToEpoch, monthIndex, parseIsoStamp, syslogToEpoch } from '../time.ts';
import { outputLines } from './lines.ts';

export interface KernelEntry extends Dated {
  /** The kernel's message, without time, host and uptime prefixes. */
  message: string;
  /** The OOM killer's victim, when the line names one. */
  victim?: { pid?: number; process: string };
  /** `X invoked oom-killer`: the start of an OOM report. */
  invoked?: boolean;
  /** The process that invoked the OOM killer (`php-fpm invoked oom-killer: …`). */
  invoker?: string;
  /** A process that crashed: `php-fpm[9527]: segfault at 41 ip …`, `traps: php5-fpm[9539] general protection …`, `traps: php-fpm[169416] trap stack segment …`. */
  crashed?: { pid: number; process: string };
}

// Nov 23 22:41:07 web-01 kernel: [ 9123.118990] msg
const SYSLOG = /^(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) (.*)$/;
const HOST_KERNEL = /^\S+ kernel: /;
const UPTIME = /^\[\s*\d+\.\d+\]\s*/;
// dmesg -T: [Mon Aug 31 18:23:18 2015]
const CTIME = /^\[\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\]\s*/;

function victim(message: string): KernelEntry['victim'] {
  // "Out of memory: Killed process 5324 (php-fpm8.2)", "Memory cgroup out of memory: Killed process …",
  // older kernels: "Killed process 1234 (php-fpm) total-vm:…", "Out of memory: Kill process 1234 (php-fpm) score …"
  // RHEL 6 (2.6.32): "Killed process 2592, UID 48, (php-fpm) total-vm:…"
  // A process name (comm) is at most 15 characters: the bound keeps each try short on a long line.
  let m = /\bKill(?:ed)? process (\d+),? (?:UID \d+, )?\(([^)]{0,64})\)/.exec(message);
  if (m !== null) return { pid: Number(m[1]), process: m[2] as string };
  m = message.startsWith('oom-kill:') ? /[:,]task=([^,]{1,64}),pid=(\d+)/.exec(message) : null;
  if (m !== null) return { pid: Number(m[2]), process: m[1] as string };
  m = /^oom_reaper: reaped process (\d+) \(([^)]*)\)/.exec(message);
  if (m !== null) return { pid: Number(m[1]), process: m[2] as string };
  return undefined;
}

/**
 * Reads kernel messages as `dmesg --time-format iso`, `journalctl -k -o short-iso`, rsyslog's
 * kern.log (RFC 3339 or classic syslog stamps) or plain `dmesg` write them. Lines stamped only
 * with uptime have no time: they can never count as current.
 */
export function parseKernelLog(text: string, now: number, utcOffsetMinutes: number): KernelEntry[] {
  const out: KernelEntry[] = [];
  for (const line of outputLines(text)) {
    let at: number | undefined;
    let rest = line;
    const iso = ISO_STAMP.exec(line);
    const sys = iso === null ? SYSLOG.exec(line) : null;
    if (iso !== null) {
      at = parseIsoStamp(iso);
      rest = line.slice(iso[0].length).trimStart();
    } else if (CTIME.test(line)) {
      const c = CTIME.exec(line) as RegExpExecArray;
      const month = monthIndex(c[1] as string);
      if (month !== undefined)
        at = localToEpoch(Number(c[6]), month, Number(c[2]), Number(c[3]), Number(c[4]), Number(c[5]), utcOffsetMinutes);
      rest = line.slice(c[0].length);
    } else if (sys !== null) {
      at = syslogToEpoch(sys[1] as string, Number(sys[2]), Number(sys[3]), Number(sys[4]), Number(sys[5]), now, utcOffsetMinutes);
      rest = `${sys[6]} ${sys[7]}`;
    }
    const message = rest.replace(HOST_KERNEL, '').replace(UPTIME, '');
    const entry: KernelEntry = { text: line, message };
    if (at !== undefined) entry.at = at;
    const v = victim(message);
    if (v !== undefined) entry.victim = v;
    const invoked = /^(\S+) invoked oom-killer:/.exec(message);
    if (invoked !== null || / invoked oom-killer:/.test(message)) entry.invoked = true;
    if (invoked !== null) entry.invoker = invoked[1] as string;
    // The kernel's do_trap() names the trap: `traps: php-fpm[169416] trap stack segment ip:…`, `trap invalid opcode`, `trap divide error`.
    const crash = /^(?:traps: )?([^\s[]{1,64})\[(\d{1,9})\](?::? segfault at | general protection | trap [a-z ]{1,40} ip:)/.exec(message);
    if (crash !== null) entry.crashed = { process: crash[1] as string, pid: Number(crash[2]) };
    out.push(entry);
  }
  return out;
}

/** php-fpm workers and masters: `php-fpm8.2`, `php-fpm`, `php-fpm: pool www`, `php8.2`. */
export const isPhpProcess = (name: string): boolean => /php/i.test(name);

/**
 * The PHP command line (`php`, `php8.2`, `php82`, `php7.4`): cron jobs, reindexes, imports. The
 * kernel names a process by its comm, which for php-fpm's masters and workers says `fpm`.
 */
export const isPhpCli = (name: string): boolean => /^php[0-9.]{0,5}$/i.test(name);

/** A PHP process that is php-fpm (or not known to be the CLI). */
export const isFpmProcess = (name: string): boolean => isPhpProcess(name) && !isPhpCli(name);
