import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { sanitizeLine } from '../../../src/core/report/sanitize.ts';
import {
  asCurrentAvcLine,
  asCurrentBackendLine,
  asCurrentFpmLine,
  asCurrentKernelLine,
  asCurrentLine,
  AVC_CASES,
  BACKEND_CASES,
  FIELD_CASES,
  FPM_CASES,
  KERNEL_CASES,
  type FieldCase,
} from './field-cases.ts';
import { baseResults, picture, result, run } from './fixtures.ts';

/**
 * Real php-fpm and kernel log lines from public reports (test/fixtures/field/php-fpm.lines,
 * kernel.lines, each under its source) through the whole classifier: one line at a time, with
 * nginx's error log silent (rotated, elsewhere), on a host whose state the fixture names. The line
 * keeps its text; only its time is moved into the diagnosis window (a line quoted without a stamp
 * gets one).
 */

function verdictOf(c: FieldCase, parse: 'fpm_log' | 'kernel_log', line: string) {
  const probe = c.context.find((k) => k.startsWith('probe='))?.slice('probe='.length) ?? '502';
  const base = baseResults(probe === '200' ? 'ok' : probe === '404' ? 'script-filename' : 'fpm-down');
  const results: CheckResult[] = [...base, result('nginx_error_log', ''), result(parse, `${line}\n`)];
  return run({ picture: picture({ fpmRunning: !c.context.includes('fpm=down') }), results }).findings;
}

const title = (c: FieldCase): string =>
  `${c.cause}${c.severity === (c.cause === 'healthy' ? 'info' : 'critical') ? '' : `:${c.severity}`} ← ${c.line.slice(0, 100)}`;

describe.each([
  ['php-fpm', FPM_CASES, 'fpm_log', asCurrentFpmLine],
  ['kernel', KERNEL_CASES, 'kernel_log', asCurrentKernelLine],
] as const)('real %s lines from public reports → the verdict', (_kind, cases, parse, current) => {
  it('every line has its source', () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.every((c) => /^https:\/\//.test(c.source))).toBe(true);
  });

  it.each(cases.map((c) => [title(c), c] as const))('%s', (_name, c) => {
    const line = current(c.line);
    const findings = verdictOf(c, parse, line);
    const verdict = findings[0];
    expect({ cause: verdict?.cause, severity: verdict?.severity }, `${c.source}\n${verdict?.title}`).toEqual({
      cause: c.cause,
      severity: c.severity,
    });
    if (c.cause === 'healthy') expect(findings.filter((f) => f.cause !== 'healthy')).toEqual([]);
    else
      expect(
        findings.flatMap((f) => f.evidence),
        `${c.source}\n${verdict?.title}`,
      ).toContain(sanitizeLine(line.trim()));
  });
});

/** One reset nginx logged from a kept-alive proxied upstream (a real line of nginx-error.lines). */
const RESET = FIELD_CASES.find((c) => c.line.includes('127.0.0.1:8501')) as FieldCase;

describe('real gunicorn and uWSGI lines from public reports → the verdict on a reset nginx logged', () => {
  it('every line has its source, and the lines name every kind of backend event', () => {
    expect(BACKEND_CASES.every((c) => /^https:\/\//.test(c.source))).toBe(true);
    expect(new Set(BACKEND_CASES.map((c) => c.cause))).toEqual(new Set(['upstream_reset', 'keepalive_mismatch']));
  });

  it.each(BACKEND_CASES.map((c) => [title(c), c] as const))('%s', (_name, c) => {
    const line = asCurrentBackendLine(c.line);
    const { findings } = run({
      picture: picture({
        directives: [{ name: 'keepalive', value: '32', file: '/etc/nginx/conf.d/upstream.conf', line: 'keepalive 32;' }],
      }),
      results: [...baseResults('ok'), result('nginx_error_log', `${asCurrentLine(RESET.line)}\n`), result('backend_log', `${line}\n`)],
    });
    const verdict = findings[0];
    expect({ cause: verdict?.cause, severity: verdict?.severity }, `${c.source}\n${verdict?.title}`).toEqual({
      cause: c.cause,
      severity: c.severity,
    });
    // The backend's own line is quoted exactly when it is what decided the verdict.
    expect(verdict?.evidence.includes(sanitizeLine(line)), `${c.source}\n${verdict?.evidence.join('\n')}`).toBe(
      c.cause === 'upstream_reset',
    );
  });
});

/** nginx refused by a security policy on a TCP upstream (a real line of nginx-error.lines). */
const REFUSED = FIELD_CASES.find((c) => c.cause === 'selinux_denied' && c.line.includes('127.0.0.1:9000 failed (13')) as FieldCase;

describe("real SELinux AVC denials from public reports, read with nginx's (13: Permission denied)", () => {
  it('every line has its source; both denials that explain it and denials of something else', () => {
    expect(AVC_CASES.every((c) => /^https:\/\//.test(c.source))).toBe(true);
    expect(new Set(AVC_CASES.map((c) => c.context.join(' ')))).toEqual(new Set(['avc=quoted', 'avc=ignored']));
  });

  it.each(AVC_CASES.map((c) => [`${c.context.join(' ')} ← ${c.line.slice(0, 110)}`, c] as const))('%s', (_name, c) => {
    const avc = asCurrentAvcLine(c.line);
    const { findings } = run({
      results: [
        ...baseResults('fpm-down'),
        result('nginx_error_log', `${asCurrentLine(REFUSED.line)}\n`),
        result('security_policy', 'Enforcing\n'),
        result('security_policy', `${avc}\n`),
      ],
    });
    const verdict = findings[0];
    expect(verdict?.cause, `${c.source}\n${verdict?.title}`).toBe(c.cause);
    expect(verdict?.evidence.includes(sanitizeLine(avc)), `${c.source}\n${verdict?.evidence.join('\n')}`).toBe(
      c.context.includes('avc=quoted'),
    );
  });
});
