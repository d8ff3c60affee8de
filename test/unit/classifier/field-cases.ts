import type { CauseId, Severity } from '../../../src/core/causes.ts';
import { CAUSE_IDS, SEVERITIES } from '../../../src/core/causes.ts';
import { NOW, readFixture } from './fixtures.ts';

/**
 * Real nginx error-log lines from public reports (test/fixtures/field/nginx-error.lines, each
 * under its source), with the verdict and the host state they need.
 */

export interface FieldCase {
  source: string;
  cause: CauseId;
  severity: Severity;
  context: string[];
  line: string;
}

export function parseFieldFile(text: string): FieldCase[] {
  const cases: FieldCase[] = [];
  let source = '';
  let cause: CauseId | undefined;
  let severity: Severity = 'critical';
  let context: string[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    if (raw.startsWith('@ ')) {
      source = raw.slice(2).trim();
      continue;
    }
    if (raw.startsWith('= ')) {
      const [head = '', ...rest] = raw.slice(2).trim().split(/\s+/);
      const [id, sev] = head.split(':');
      if (!(CAUSE_IDS as readonly string[]).includes(id ?? '')) throw new Error(`unknown cause ${id}`);
      cause = id as CauseId;
      severity = sev === undefined ? (cause === 'healthy' ? 'info' : 'critical') : (sev as Severity);
      if (!(SEVERITIES as readonly string[]).includes(severity)) throw new Error(`unknown severity ${sev}`);
      context = rest;
      continue;
    }
    if (cause === undefined || source === '') throw new Error(`line before its "=" and "@" headers: ${raw}`);
    cases.push({ source, cause, severity, context, line: raw });
  }
  return cases;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const STAMP = (() => {
  const t = new Date(NOW.getTime() - 60_000);
  return `${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} `;
})();

/** The line as nginx wrote it, a minute before the diagnosis: container prefixes before the date dropped. */
export function asCurrentLine(line: string): string {
  const date = /\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} /.exec(line);
  if (date !== null) return STAMP + line.slice(date.index + date[0].length);
  let rest = line.trim();
  if (!/^\[\w+\] /.test(rest)) rest = `[error] 1#1: ${rest}`;
  else if (!/^\[\w+\] \d+#\d+: /.test(rest)) rest = rest.replace(/^(\[\w+\] )/, '$11#1: ');
  return STAMP + rest;
}

export const FIELD_CASES = parseFieldFile(readFixture('field/nginx-error.lines'));
