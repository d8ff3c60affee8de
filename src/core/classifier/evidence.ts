import { sanitizeLine } from '../report/sanitize.ts';

/** A line as read from a host, with its time when the line has one. */
export interface Dated {
  text: string;
  /** Epoch milliseconds. */
  at?: number;
  /** The virtual host (server_name) the line is about, when that can be told. */
  server?: string;
}

/** Most of one kind of line a finding quotes; the rest are counted. */
export const MAX_PRIMARY_LINES = 8;
/** Most supporting lines (config, stat, status) a finding quotes. */
export const MAX_SUPPORTING_LINES = 6;

const moreMarker = (n: number): string => `… and ${n} more similar line${n === 1 ? '' : 's'}`;

/**
 * At most `max` sanitized lines, exact duplicates dropped, in the order given, and how many
 * distinct lines were left out. Only what is shown is sanitized: a log may hold thousands.
 */
function pick(lines: readonly string[], max: number, exclude: readonly string[] = []): { shown: string[]; more: number } {
  const distinct = [...new Set(lines)];
  const shown: string[] = [];
  let i = 0;
  for (; i < distinct.length && shown.length < max; i++) {
    const line = sanitizeLine(distinct[i] as string);
    // Two raw lines may sanitize to one (their secrets both become [REDACTED]).
    if (line.trim() !== '' && !shown.includes(line) && !exclude.includes(line)) shown.push(line);
  }
  return { shown, more: distinct.slice(i).filter((l) => l.trim() !== '').length };
}

/**
 * The evidence of a finding: the lines that show the problem (most recent first, duplicates
 * dropped, at most MAX_PRIMARY_LINES and then a count of the rest), followed by the lines that
 * explain it (config directives, socket owner and mode, status page fields).
 */
export function buildEvidence(primary: readonly Dated[], supporting: readonly string[] = []): string[] {
  const sorted = [...primary].sort((a, b) => (b.at ?? -Infinity) - (a.at ?? -Infinity));
  const main = pick(
    sorted.map((d) => d.text),
    MAX_PRIMARY_LINES,
  );
  const lines = [...main.shown];
  if (main.more > 0) lines.push(moreMarker(main.more));
  const extra = pick(supporting, MAX_SUPPORTING_LINES, main.shown);
  lines.push(...extra.shown);
  if (extra.more > 0) lines.push(`… and ${extra.more} more`);
  return lines;
}

/** `file: line` when the file is known, as `grep -H` would show it. */
export const located = (line: string, file?: string): string => (file === undefined ? line : `${file}: ${line}`);

/** The newest time among lines, if any has one. */
export const newest = (lines: readonly Dated[]): number | undefined =>
  lines.reduce<number | undefined>((max, l) => (l.at !== undefined && (max === undefined || l.at > max) ? l.at : max), undefined);
