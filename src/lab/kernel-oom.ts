import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * A real OOM kill is not safe to cause on a shared machine, so the `oom_killed` scenario kills
 * php-fpm with SIGKILL itself and puts a recorded kernel OOM report into the kernel log file the
 * inventory's `kernel.log` fact points at (see test/fixtures/kernel/README.md).
 */
export const RECORDED_OOM = fileURLToPath(new URL('../../test/fixtures/kernel/oom-php-fpm.kern.log', import.meta.url));

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})([+-]\d{2}:\d{2}) /;
const RECORDED_PID = '5324';

/**
 * The recorded lines with their timestamps moved to `now` (keeping the gaps between them, in
 * the host's local time and offset, as rsyslog writes them) and the victim's pid replaced by `pid`.
 */
export function replayOom(recorded: string, now: Date, pid: number): string {
  const lines = recorded.split('\n').filter((l) => l.trim() !== '');
  const times = lines.map((l) => {
    const m = STAMP.exec(l);
    if (m === null) throw new Error(`recorded OOM line without an RFC 3339 timestamp: ${l}`);
    return Date.parse(`${m[1]}${m[2]}`);
  });
  const last = Math.max(...times);
  return lines
    .map((line, i) => {
      const at = new Date(now.getTime() - (last - (times[i] as number)));
      const rest = line.replace(STAMP, '').replace(new RegExp(`(?<=\\b(?:pid=|process ))${RECORDED_PID}\\b`, 'g'), String(pid));
      return `${rfc3339Local(at)} ${rest}\n`;
    })
    .join('');
}

export async function readRecordedOom(): Promise<string> {
  return readFile(RECORDED_OOM, 'utf8');
}

/** `2026-11-23T22:40:01.123000+01:00`: rsyslog's high-precision format, in local time. */
export function rfc3339Local(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');
  const sign = offset < 0 ? '-' : '+';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(d.getMilliseconds(), 3)}000${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}
