import type { Dated } from '../evidence.ts';
import { localToEpoch, monthIndex } from '../time.ts';
import { outputLines } from './lines.ts';

/** One request of php-fpm's slow log: when, which pool and worker, the script and its stack. */
export interface SlowlogEntry extends Dated {
  pool: string;
  pid: number;
  script?: string;
  /** Stack frames, innermost first, as php-fpm wrote them: `[0x00007f…] usleep() /var/www/html/slow.php:4`. */
  frames: string[];
}

/** Frames kept per entry: the innermost ones say where the time goes. */
export const MAX_FRAMES = 20;

// [25-Nov-2026 19:40:01]  [pool www] pid 12345
const HEADER = /^\[(\d{2})-(\w{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2})\] +\[pool ([^[\]]{1,200})\] pid (\d{1,9})$/;
const FRAME = /^\[0x[0-9a-f]{1,16}\] \S/;

/**
 * Reads php-fpm's slow log (`slowlog =`, written when a request runs longer than
 * `request_slowlog_timeout`): a header, `script_filename = …`, then the stack. Times are the
 * host's local time.
 */
export function parseFpmSlowlog(text: string, utcOffsetMinutes: number): SlowlogEntry[] {
  const out: SlowlogEntry[] = [];
  let current: SlowlogEntry | undefined;
  for (const raw of outputLines(text)) {
    const line = raw.trim();
    const h = HEADER.exec(line);
    if (h !== null) {
      current = { text: line, pool: h[7] as string, pid: Number(h[8]), frames: [] };
      const month = monthIndex(h[2] as string);
      const at =
        month === undefined
          ? undefined
          : localToEpoch(Number(h[3]), month, Number(h[1]), Number(h[4]), Number(h[5]), Number(h[6]), utcOffsetMinutes);
      if (at !== undefined) current.at = at;
      out.push(current);
      continue;
    }
    if (current === undefined) continue;
    const script = /^script_filename = (.{1,4096})$/.exec(line);
    if (script !== null) current.script = script[1] as string;
    else if (FRAME.test(line) && current.frames.length < MAX_FRAMES) current.frames.push(line);
  }
  return out;
}
