import type { Dated } from '../evidence.ts';
import { ISO_STAMP, parseIsoStamp, syslogToEpoch } from '../time.ts';
import { outputLines } from './lines.ts';

export interface KernelEntry extends Dated {
  /** The kernel's message, without time, host and uptime prefixes. */
  message: string;
  /** The OOM killer's victim, when the line names one. */
  victim?: { pid?: number; process: string };
  /** `X invoked oom-killer`: the start of an OOM report. */
  invoked?: boolean;
}

// Nov 23 22:41:07 web-01 kernel: [ 9123.118990] msg
const SYSLOG = /^(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) (.*)$/;
const HOST_KERNEL = /^\S+ kernel: /;
const UPTIME = /^\[\s*\d+\.\d+\]\s*/;

function victim(message: string): KernelEntry['victim'] {
  // "Out of memory: Killed process 5324 (php-fpm8.2)", "Memory cgroup out of memory: Killed process …",
  // older kernels: "Killed process 1234 (php-fpm) total-vm:…", "Out of memory: Kill process 1234 (php-fpm) score …"
  let m = /\bKill(?:ed)? process (\d+) \(([^)]*)\)/.exec(message);
  if (m !== null) return { pid: Number(m[1]), process: m[2] as string };
  m = /^oom-kill:.*\btask=([^,]+),pid=(\d+)/.exec(message);
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
    } else if (sys !== null) {
      at = syslogToEpoch(sys[1] as string, Number(sys[2]), Number(sys[3]), Number(sys[4]), Number(sys[5]), now, utcOffsetMinutes);
      rest = `${sys[6]} ${sys[7]}`;
    }
    const message = rest.replace(HOST_KERNEL, '').replace(UPTIME, '');
    const entry: KernelEntry = { text: line, message };
    if (at !== undefined) entry.at = at;
    const v = victim(message);
    if (v !== undefined) entry.victim = v;
    if (/ invoked oom-killer:/.test(message)) entry.invoked = true;
    out.push(entry);
  }
  return out;
}

/** php-fpm workers and masters: `php-fpm8.2`, `php-fpm`, `php-fpm: pool www`, `php8.2`. */
export const isPhpProcess = (name: string): boolean => /php/i.test(name);
