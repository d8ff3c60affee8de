import type { Diagnosis } from '../finding.ts';
import { renderJson } from './render-json.ts';
import { formatDuration } from './render-terminal.ts';
import { sanitizeLine } from './sanitize.ts';

/** What diagnosing one host of a group or pattern came to: its diagnosis, or why there is none. */
export type FleetOutcome =
  { host: string; diagnosis: Diagnosis } | { host: string; error: { code: string; message: string }; durationMs: number };

/** Error codes that mean the host could not be reached (exit status 3). */
export const isUnreachable = (o: FleetOutcome): boolean => 'error' in o && o.error.code.startsWith('SSH_');

/**
 * One line of `medic diagnose <group> --json` (newline-delimited JSON): a diagnosis is the same
 * object as a single host's `--json`; a host without one is `{ host, error: { code, message } }`.
 */
export function renderFleetJsonLine(o: FleetOutcome): string {
  // The single-host object, compacted onto one line.
  if ('diagnosis' in o) return JSON.stringify(JSON.parse(renderJson(o.diagnosis)));
  return JSON.stringify({ host: o.host, error: { code: o.error.code, message: sanitizeLine(o.error.message) }, durationMs: o.durationMs });
}

/** `  37/100 diagnosed · 2 unreachable · 8 running` (no newline: the caller rewrites it in place). */
export function fleetProgressLine(p: { done: number; total: number; unreachable: number; running: number }): string {
  return `  ${p.done}/${p.total} diagnosed${p.unreachable > 0 ? ` · ${p.unreachable} unreachable` : ''} · ${p.running} running`;
}

/**
 * The table `medic diagnose <group>` prints: one row per host, sorted by name, with its verdict
 * (cause and title, or the error code and message) and how long it took; then a count per verdict.
 */
export function renderFleetTable(outcomes: readonly FleetOutcome[], opts: { color: boolean; totalMs: number }): string {
  const paint = (code: string, text: string): string => (opts.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const rows = [...outcomes]
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .map((o) => {
      if ('diagnosis' in o) {
        const d = o.diagnosis;
        const tone = d.verdict.cause === 'healthy' ? '32' : d.findings[0]?.severity === 'critical' ? '31' : '33';
        return {
          host: sanitizeLine(o.host),
          cause: d.verdict.cause,
          tone,
          time: formatDuration(d.durationMs),
          note: sanitizeLine(`${d.verdict.title}${d.incomplete ? ' (incomplete)' : ''}`, 100),
        };
      }
      return {
        host: sanitizeLine(o.host),
        cause: isUnreachable(o) ? 'unreachable' : 'error',
        tone: '31',
        time: formatDuration(o.durationMs),
        note: sanitizeLine(`${o.error.code}: ${o.error.message}`, 100),
      };
    });
  const head = { host: 'HOST', cause: 'VERDICT', time: 'TIME', note: '' };
  const w = {
    host: Math.max(head.host.length, ...rows.map((r) => r.host.length)),
    cause: Math.max(head.cause.length, ...rows.map((r) => r.cause.length)),
    time: Math.max(head.time.length, ...rows.map((r) => r.time.length)),
  };
  const lines = [`${head.host.padEnd(w.host)}  ${head.cause.padEnd(w.cause)}  ${head.time.padStart(w.time)}  DETAIL`];
  for (const r of rows)
    lines.push(`${r.host.padEnd(w.host)}  ${paint(r.tone, r.cause.padEnd(w.cause))}  ${r.time.padStart(w.time)}  ${r.note}`);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.cause, (counts.get(r.cause) ?? 0) + 1);
  const summary = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([cause, n]) => `${n} ${cause}`)
    .join(', ');
  lines.push('', `${rows.length} host${rows.length === 1 ? '' : 's'} in ${formatDuration(opts.totalMs)}: ${summary}`);
  return `${lines.join('\n')}\n`;
}
