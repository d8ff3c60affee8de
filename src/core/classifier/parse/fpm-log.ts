import type { Dated } from '../evidence.ts';
import { localToEpoch, monthIndex, syslogToEpoch } from '../time.ts';
import { outputLines } from './lines.ts';

export type FpmEvent =
  | { kind: 'max_children'; pool: string; maxChildren: number }
  | { kind: 'signal'; pool: string; child: number; signal: string }
  | { kind: 'terminated'; pool: string; child: number }
  | { kind: 'busy'; pool: string }
  /** The [global] process.max was reached: no pool may start another worker. */
  | { kind: 'process_max' }
  /** request_slowlog_timeout: a request ran longer, and its stack went to the slow log. */
  | { kind: 'slow'; pool: string; child: number; script: string; seconds: number }
  | { kind: 'other' };

export interface FpmLogEntry extends Dated {
  level: string;
  event: FpmEvent;
}

// [23-Nov-2026 22:54:01] WARNING: …   (php-fpm's own log file, local time)
const FPM_STAMP = /^\[(\d{2})-(\w{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\] (\w+): /;
// Nov 23 22:54:01 host php-fpm8.2[598]: [WARNING] …   (syslog / journal)
const SYSLOG_STAMP = /^(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) \S+ [^:]+: (?:\[(\w+)\] )?/;

// `php_1  | ` (compose) and `2024-04-10T14:39:26.708084488Z ` (docker logs -t), in either order; the container
// runtime's own files (CRI, /var/log/pods) add the stream and a partial-line flag: `… stderr F `.
const CONTAINER_PREFIX =
  /^(?:[\w.-]{1,100} +\| )?(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}) (?:(?:stdout|stderr) [FP] )?)?(?:[\w.-]{1,100} +\| )?/;

function event(message: string): FpmEvent {
  let m = /\[pool ([^[\]]+)\] server reached (?:pm\.)?max_children setting \((\d+)\)/.exec(message);
  if (m !== null) return { kind: 'max_children', pool: m[1] as string, maxChildren: Number(m[2]) };
  m = /\[pool ([^[\]]+)\] child (\d+) exited on signal \d+ \((SIG\w+)/.exec(message);
  if (m !== null) return { kind: 'signal', pool: m[1] as string, child: Number(m[2]), signal: m[3] as string };
  // request_terminate_timeout: the master kills a worker in the middle of its request.
  m = /\[pool ([^[\]]+)\] child (\d+), script '[^']*' \(request: "[^"]*"\) execution timed out/.exec(message);
  if (m !== null) return { kind: 'terminated', pool: m[1] as string, child: Number(m[2]) };
  m = /\[pool ([^[\]]+)\] child (\d+), script '([^']{0,4096})' \(request: "[^"]*"\) executing too slow \((\d+(?:\.\d+)?) sec\)/.exec(
    message,
  );
  if (m !== null) return { kind: 'slow', pool: m[1] as string, child: Number(m[2]), script: m[3] as string, seconds: Number(m[4]) };
  if (message.startsWith('The maximum number of processes has been reached')) return { kind: 'process_max' };
  m = /\[pool ([^[\]]+)\] seems busy/.exec(message);
  if (m !== null) return { kind: 'busy', pool: m[1] as string };
  return { kind: 'other' };
}

/** Reads php-fpm's log (its file, or syslog lines); times are the host's local time. */
export function parseFpmLog(text: string, utcOffsetMinutes: number, now: number): FpmLogEntry[] {
  const out: FpmLogEntry[] = [];
  for (const raw of outputLines(text)) {
    let at: number | undefined;
    let level = '';
    // `docker logs -t` and `docker compose logs` put their own prefix before php-fpm's line.
    const line = raw.replace(CONTAINER_PREFIX, '');
    let rest = line;
    const f = FPM_STAMP.exec(line);
    const s = f === null ? SYSLOG_STAMP.exec(line) : null;
    if (f !== null) {
      const month = monthIndex(f[2] as string);
      if (month !== undefined)
        at = localToEpoch(Number(f[3]), month, Number(f[1]), Number(f[4]), Number(f[5]), Number(f[6]), utcOffsetMinutes);
      level = f[7] as string;
      rest = line.slice(f[0].length);
    } else if (s !== null) {
      at = syslogToEpoch(s[1] as string, Number(s[2]), Number(s[3]), Number(s[4]), Number(s[5]), now, utcOffsetMinutes);
      level = s[6] ?? '';
      rest = line.slice(s[0].length);
    }
    const entry: FpmLogEntry = { text: raw, level, event: event(rest) };
    if (at !== undefined) entry.at = at;
    out.push(entry);
  }
  return out;
}
