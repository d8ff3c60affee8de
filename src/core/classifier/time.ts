/**
 * Timestamps of the logs a diagnosis reads. Some carry their UTC offset (access log, dmesg
 * --time-format iso, journalctl -o short-iso, rsyslog's RFC 3339); nginx's error log, php-fpm's
 * log and classic syslog lines are written in the host's local time without one, so the host's
 * offset is an argument. Results are epoch milliseconds.
 */

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

export const monthIndex = (name: string): number | undefined => MONTHS[name];

/** A wall-clock time on a host whose clock is `utcOffsetMinutes` east of UTC. */
export function localToEpoch(
  y: number,
  month0: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  utcOffsetMinutes: number,
): number | undefined {
  if (month0 < 0 || month0 > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  return Date.UTC(y, month0, d, h, mi, s) - utcOffsetMinutes * 60_000;
}

/** `+0100`, `+01:00`, `-05:30`, `Z` → minutes east of UTC. */
export function parseOffset(text: string): number | undefined {
  if (text === 'Z') return 0;
  // Every line of a log has the same offset (a 3,000-line access log: 3,000 calls).
  if (text === lastOffset.text) return lastOffset.value;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(text);
  const value = m === null ? undefined : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  lastOffset = { text, value };
  return value;
}
let lastOffset: { text: string; value: number | undefined } = { text: 'Z', value: 0 };

/** ISO 8601 with an offset, as dmesg (`2026-11-23T22:26:43,474101+00:00`), journalctl and rsyslog write it. */
export const ISO_STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})/;

export function parseIsoStamp(m: RegExpExecArray): number | undefined {
  const offset = parseOffset(m[8] as string);
  if (offset === undefined) return undefined;
  const base = localToEpoch(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), offset);
  if (base === undefined) return undefined;
  const frac = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  return base + frac;
}

/** "just now", "12 min ago", "5 h ago", "3 days ago". */
export function ago(ms: number): string {
  if (ms < 60_000) return 'just now';
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 48 * 3_600_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} days ago`;
}

/** "15 min", "2 h", "1 day": a window's length for titles. */
export function span(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 48 * 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

/**
 * Classic syslog stamps (`Nov 23 22:41:07`) have no year: it is the host's current year, or the
 * previous one for a December line read in January.
 */
export function syslogToEpoch(
  month: string,
  d: number,
  h: number,
  mi: number,
  s: number,
  now: number,
  utcOffsetMinutes: number,
): number | undefined {
  const m = monthIndex(month);
  if (m === undefined) return undefined;
  const year = new Date(now + utcOffsetMinutes * 60_000).getUTCFullYear();
  const at = localToEpoch(year, m, d, h, mi, s, utcOffsetMinutes);
  if (at === undefined) return undefined;
  return at > now + 86_400_000 ? localToEpoch(year - 1, m, d, h, mi, s, utcOffsetMinutes) : at;
}
