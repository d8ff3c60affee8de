import { sanitizeLine } from '../report/sanitize.ts';

/** A line as read from a host, with its time when the line has one. */
export interface Dated {
  text: string;
  /** Epoch milliseconds. */
  at?: number;
}

/** Most of one kind of line a finding quotes; the rest are counted. */
export const MAX_PRIMARY_LINES = 8;
/** Most supporting lines (config, stat, status) a finding quotes. */
export const MAX_SUPPORTING_LINES = 6;

const moreMarker = (n: number): string => `… and ${n} more similar line${n === 1 ? '' : 's'}`;

/** Sanitized, exact duplicates dropped, in the order given. */
function unique(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of lines) {
    const line = sanitizeLine(raw);
    if (line.trim() === '' || seen.has(line)) continue;
    seen.add(line);
    out.push(line);
  }
  return out;
}

/**
 * The evidence of a finding: the lines that show the problem (most recent first, duplicates
 * dropped, at most MAX_PRIMARY_LINES and then a count of the rest), followed by the lines that
 * explain it (config directives, socket owner and mode, status page fields).
 */
export function buildEvidence(primary: readonly Dated[], supporting: readonly string[] = []): string[] {
  const sorted = [...primary].sort((a, b) => (b.at ?? -Infinity) - (a.at ?? -Infinity));
  const lines = unique(sorted.map((d) => d.text));
  const shown = lines.slice(0, MAX_PRIMARY_LINES);
  if (lines.length > shown.length) shown.push(moreMarker(lines.length - shown.length));
  const support = unique(supporting).filter((l) => !shown.includes(l));
  const extra = support.slice(0, MAX_SUPPORTING_LINES);
  if (support.length > extra.length) extra.push(`… and ${support.length - extra.length} more`);
  return [...shown, ...extra];
}

/** `file: line` when the file is known, as `grep -H` would show it. */
export const located = (line: string, file?: string): string => (file === undefined ? line : `${file}: ${line}`);

/** The newest time among lines, if any has one. */
export const newest = (lines: readonly Dated[]): number | undefined =>
  lines.reduce<number | undefined>((max, l) => (l.at !== undefined && (max === undefined || l.at > max) ? l.at : max), undefined);
