import { describe, expect, it } from 'vitest';
import { parseFpmConfig } from '../../../src/core/discovery/parse-fpm-config.ts';
import { CAPTURE, baseResults, output, picture, POOLS, result, run } from './fixtures.ts';

/**
 * php-fpm's [global] process.max caps the workers of all pools together. The warning it writes
 * when the cap is reached is the real line of a public report (php/php-src pull request 1311),
 * here stamped at the capture's time so that it is current.
 */
const CAP_LINE = `[23-Nov-2026 23:08:51] WARNING: The maximum number of processes has been reached. Please review your configuration and consider raising 'process.max'`;
const T = CAPTURE.dir;

describe("php-fpm's global process.max", () => {
  it('is read from the [global] section of php-fpm.conf, as grep -H prints it; a pool cannot set it', () => {
    const summary = parseFpmConfig(
      [
        `${T}/php-fpm.conf:[global]`,
        `${T}/php-fpm.conf:process.max = 10`,
        `${T}/pool.d/www.conf:[www]`,
        `${T}/pool.d/www.conf:process.max = 99`,
      ].join('\n'),
    );
    expect(summary.processMax).toEqual({ value: 10, line: 'process.max = 10', file: `${T}/php-fpm.conf` });
  });

  it('reached while requests wait in a pool socket: max_children_exhausted names the global cap, and raising it comes first', () => {
    const p = picture({ pools: [POOLS.www(), POOLS.small()] });
    p.fpm.processMax = { value: 10, line: 'process.max = 10', file: `${T}/php-fpm.conf` };
    const { findings } = run({
      picture: p,
      results: [...baseResults('ok'), result('sockets', output('ss-busy.txt')), result('fpm_log', `${CAP_LINE}\n`)],
    });
    const verdict = findings[0];
    expect(verdict?.cause).toBe('max_children_exhausted');
    expect(verdict?.severity).toBe('critical');
    expect(verdict?.title).toMatch(/^PHP-FPM is at its global process\.max \(10\): requests queue/);
    expect(verdict?.evidence).toContain(CAP_LINE);
    expect(verdict?.evidence).toContain(`${T}/php-fpm.conf: process.max = 10`);
    expect(verdict?.nextSteps[0]).toMatch(
      new RegExp(`^Raise process\\.max in the \\[global\\] section of ${T.replace(/\./g, '\\.')}/php-fpm\\.conf`),
    );
  });

  it('reached with nothing queued now: a warning that says no pool could start another worker', () => {
    const { findings } = run({ picture: picture(), results: [...baseResults('ok'), result('fpm_log', `${CAP_LINE}\n`)] });
    expect(findings[0]?.cause).toBe('max_children_exhausted');
    expect(findings[0]?.severity).toBe('warning');
    expect(findings[0]?.title).toMatch(/^PHP-FPM reached its global process\.max in the last 15 min: no pool could start another worker/);
  });
});
