import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { sanitizeLine } from '../../../src/core/report/sanitize.ts';
import { asCurrentLine, FIELD_CASES, type FieldCase } from './field-cases.ts';
import { baseResults, picture, result, run } from './fixtures.ts';

/**
 * Real nginx error-log lines from public reports (test/fixtures/field/nginx-error.lines, each
 * under its source) through the whole classifier: one line at a time, as the only evidence, on a
 * host whose state the fixture names (php-fpm down, what the probe answers, upstream keepalive).
 * The line keeps its text; only its time is moved into the diagnosis window, and lines quoted
 * without nginx's `date [level] pid#tid:` prefix get one.
 */

function inputFor(c: FieldCase): { results: CheckResult[]; fpmDown: boolean; keepalive: boolean } {
  const probe = c.context.find((k) => k.startsWith('probe='))?.slice('probe='.length) ?? '502';
  const base = baseResults(probe === '200' ? 'ok' : probe === '404' ? 'script-filename' : 'fpm-down');
  return {
    results: [...base, result('nginx_error_log', `${asCurrentLine(c.line)}\n`)],
    fpmDown: c.context.includes('fpm=down'),
    keepalive: c.context.includes('keepalive'),
  };
}

const CASES = FIELD_CASES;

describe('real nginx lines from public reports → the verdict', () => {
  it('the fixture holds lines for every new cause and the false alarms', () => {
    const causes = new Set(CASES.map((c) => c.cause));
    for (const c of ['upstream_tls', 'upstream_dns', 'resource_limits', 'selinux_denied', 'keepalive_mismatch', 'healthy'] as const)
      expect(causes).toContain(c);
    expect(CASES.length).toBeGreaterThanOrEqual(200);
    expect(CASES.map((c) => c.source)).toEqual(CASES.map(() => expect.stringMatching(/^https:\/\//)));
  });

  it.each(CASES.map((c) => [`${c.cause}${c.severity === 'critical' ? '' : `:${c.severity}`} ← ${c.line.slice(0, 90)}`, c] as const))(
    '%s',
    (_name, c) => {
      const input = inputFor(c);
      const p = picture({
        fpmRunning: !input.fpmDown,
        ...(input.keepalive
          ? { directives: [{ name: 'keepalive', value: '32', file: '/etc/nginx/conf.d/upstream.conf', line: 'keepalive 32;' }] }
          : {}),
      });
      const { findings } = run({ picture: p, results: input.results });
      const verdict = findings[0];
      expect({ cause: verdict?.cause, severity: verdict?.severity }, `${c.source}\n${verdict?.title}`).toEqual({
        cause: c.cause,
        severity: c.severity,
      });
      if (c.cause === 'healthy') {
        // Nothing at all is reported from a client-side line, not even as unknown_502.
        expect(findings.filter((f) => f.cause !== 'healthy')).toEqual([]);
      } else {
        expect(verdict?.evidence).toContain(sanitizeLine(asCurrentLine(c.line)));
        expect(verdict?.nextSteps.length).toBeGreaterThan(0);
      }
    },
  );
});
