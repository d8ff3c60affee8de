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
  // A quote that lost the level's opening bracket: `crit] 14#14: …`.
  if (/^(?:emerg|alert|crit|error|warn|notice|info)\] /.test(rest)) rest = `[${rest}`;
  if (!/^\[\w+\] /.test(rest)) rest = `[error] 1#1: ${rest}`;
  else if (!/^\[\w+\] \d+#\d+: /.test(rest)) rest = rest.replace(/^(\[\w+\] )/, '$11#1: ');
  return STAMP + rest;
}

export const FIELD_CASES = parseFieldFile(readFixture('field/nginx-error.lines'));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MINUTE_AGO = new Date(NOW.getTime() - 60_000);
const hms = (t: Date): string => `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
const FPM_NOW = `[${pad(MINUTE_AGO.getUTCDate())}-${MONTHS[MINUTE_AGO.getUTCMonth()]}-${MINUTE_AGO.getUTCFullYear()} ${hms(MINUTE_AGO)}]`;
const SYSLOG_NOW = `${MONTHS[MINUTE_AGO.getUTCMonth()]} ${String(MINUTE_AGO.getUTCDate()).padStart(2, ' ')} ${hms(MINUTE_AGO)}`;
const ISO_NOW = `${MINUTE_AGO.toISOString().slice(0, 19)}+00:00`;
const CTIME_NOW = `[${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][MINUTE_AGO.getUTCDay()]} ${MONTHS[MINUTE_AGO.getUTCMonth()]} ${String(MINUTE_AGO.getUTCDate()).padStart(2, ' ')} ${hms(MINUTE_AGO)} ${MINUTE_AGO.getUTCFullYear()}]`;

const FPM_STAMP = /\[\d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?\]/;
const SYSLOG_STAMP = /^\w{3} +\d{1,2} \d{2}:\d{2}:\d{2}(?= )/;
const ISO_STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})/;
const CTIME_STAMP = /^\[\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}\]/;

/**
 * A php-fpm log line a minute before the diagnosis: its own `[23-Nov-2026 22:54:01]` stamp (or a
 * syslog/journal stamp) moved; a line quoted without a stamp gets php-fpm's. Container prefixes stay.
 */
export function asCurrentFpmLine(line: string): string {
  if (FPM_STAMP.test(line)) return line.replace(FPM_STAMP, FPM_NOW);
  if (SYSLOG_STAMP.test(line)) return line.replace(SYSLOG_STAMP, SYSLOG_NOW);
  if (ISO_STAMP.test(line)) return line.replace(ISO_STAMP, ISO_NOW);
  return `${FPM_NOW} ${line.trim()}`;
}

/** A kernel line a minute before the diagnosis: syslog, ISO or dmesg -T stamps moved; uptime-only lines get a syslog stamp and host. */
export function asCurrentKernelLine(line: string): string {
  if (SYSLOG_STAMP.test(line)) return line.replace(SYSLOG_STAMP, SYSLOG_NOW);
  if (ISO_STAMP.test(line)) return line.replace(ISO_STAMP, ISO_NOW);
  if (CTIME_STAMP.test(line)) return line.replace(CTIME_STAMP, CTIME_NOW);
  return `${SYSLOG_NOW} web-01 kernel: ${line.trim()}`;
}

export const FPM_CASES = parseFieldFile(readFixture('field/php-fpm.lines'));
export const KERNEL_CASES = parseFieldFile(readFixture('field/kernel.lines'));

const GUNICORN_STAMP = /\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\]/;
const GUNICORN_NOW = `[${MINUTE_AGO.toISOString().slice(0, 19).replace('T', ' ')} +0000]`;

/**
 * A backend's line as `journalctl -o short-iso` shows it a minute before the diagnosis: gunicorn's
 * own stamp moved; a syslog stamp becomes the journal's ISO one; any other line gets the journal's
 * stamp, host and unit in front.
 */
export function asCurrentBackendLine(line: string): string {
  if (GUNICORN_STAMP.test(line)) return line.replace(GUNICORN_STAMP, GUNICORN_NOW);
  if (SYSLOG_STAMP.test(line)) return line.replace(SYSLOG_STAMP, ISO_NOW);
  return `${ISO_NOW} web-01 app[812]: ${line.trim()}`;
}

export const BACKEND_CASES = parseFieldFile(readFixture('field/backend.lines'));

/** An AVC denial as `ausearch -m avc -ts recent` shows it a minute before the diagnosis: its audit(epoch) moved. */
export const asCurrentAvcLine = (line: string): string =>
  line.replace(/audit\(\d{1,12}\.\d{1,3}:/, `audit(${Math.floor(MINUTE_AGO.getTime() / 1000)}.000:`);

export const AVC_CASES = parseFieldFile(readFixture('field/audit-avc.lines'));
