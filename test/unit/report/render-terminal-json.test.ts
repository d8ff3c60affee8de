import { describe, expect, it } from 'vitest';
import type { Classification } from '../../../src/core/classifier/classify.ts';
import type { Diagnosis } from '../../../src/core/finding.ts';
import { renderJson } from '../../../src/core/report/render-json.ts';
import { formatDuration, renderTerminal } from '../../../src/core/report/render-terminal.ts';
import { baseResults, log, picture, result, run } from '../classifier/fixtures.ts';

function diagnosis(c: Classification, host = 'web-01'): Diagnosis {
  const verdict = c.findings[0];
  return {
    host,
    playbook: 'nginx-502',
    startedAt: '2026-11-23T23:09:51.000Z',
    durationMs: 2345,
    verdict: { cause: verdict?.cause ?? 'unknown_502', title: verdict?.title ?? '' },
    findings: c.findings,
    incomplete: c.incomplete,
    gaps: c.gaps,
    facts: { nginx: { running: true } },
    checks: [{ id: 'nginx_error_log', status: 'ok', durationMs: 12, truncated: false }],
  };
}

const fpmDown = () =>
  diagnosis(
    run({
      picture: picture({ fpmRunning: false }),
      results: [
        ...baseResults('fpm-down'),
        result('nginx_error_log', log('fpm-stopped.error.log')),
        { ...result('nginx_access_log', ''), status: 'error', exitCode: null, reason: 'sudo: a password is required' },
        { ...result('kernel_log', ''), status: 'timeout', exitCode: null, reason: 'timed out after 10s' },
      ],
    }),
  );

describe('renderTerminal', () => {
  it('puts the verdict first, then host and duration, the INCOMPLETE banner, evidence, steps and remediate hints', () => {
    const text = renderTerminal(fpmDown(), { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^✖ php_fpm_down: PHP-FPM is not running: nginx could not connect to unix:\S+ \(3 times in the last 15 min\)$/,
    );
    expect(lines[1]).toBe('  host web-01 · playbook nginx-502 · 2.3 s · started 2026-11-23T23:09:51.000Z');
    expect(text).toContain(
      '  INCOMPLETE: 1 check of core evidence could not run; this is not a clean bill of health\n    - nginx_access_log: could not read the nginx access log: sudo: a password is required',
    );
    expect(text).toContain(
      '  Not read (supplementary; the verdict stands, but these could hide a cause):\n    - kernel_log: could not read the kernel log: timed out after 10s (could hide an OOM kill of php-fpm by the kernel (oom_killed))',
    );
    expect(text).toMatch(/\n {3}Evidence:\n {5}\d{4}\/\d{2}\/\d{2} [\d:]+ \[crit\] .*\(2: No such file or directory\)/);
    expect(text).toContain('   Next steps:\n     - ');
    expect(text).toContain('   Remediate (asks before it runs):\n     npx medic remediate web-01 start_php_fpm');
    expect(text).toMatch(/\n$/);
  });

  it('carries the inventory the diagnosis used into the remediate hints', () => {
    const text = renderTerminal(fpmDown(), { color: false, remediateArgs: ['--inventory', '.lab/inventory.yaml'] });
    expect(text).toContain('     npx medic remediate web-01 start_php_fpm --inventory .lab/inventory.yaml\n');
  });

  it('colors only when asked', () => {
    expect(renderTerminal(fpmDown(), { color: false })).not.toContain('\u001b');
    expect(renderTerminal(fpmDown(), { color: true })).toContain('\u001b[31m');
  });

  it('a hostile diagnosis (from a queue or a file) cannot drive the terminal', () => {
    const d = fpmDown();
    const hostile: Diagnosis = {
      ...d,
      host: 'web-01\u001b]0;pwned\u0007',
      findings: d.findings.map((f, i) => (i === 0 ? { ...f, evidence: ['\u001b[2J\u001b[Hcleared password=hunter2', ...f.evidence] } : f)),
    };
    const text = renderTerminal(hostile, { color: false });
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(text).toContain('cleared password=[REDACTED]');
    expect(text).toContain('npx medic remediate web-01 start_php_fpm');
  });

  it('marks the all-clear and history findings', () => {
    const c = run({ results: [...baseResults('ok'), result('nginx_error_log', log('fpm-stopped.error.log'))], windowMs: 1000 });
    const text = renderTerminal(diagnosis(c), { color: false });
    expect(text.split('\n')[0]).toMatch(/^✔ healthy: The site answers 200/);
    expect(text).toMatch(/\n2\. \[info\] php_fpm_down \(history\): Last seen \d+ min ago: /);
  });

  it('formats durations', () => {
    expect([formatDuration(850), formatDuration(4210), formatDuration(72_000)]).toEqual(['850 ms', '4.2 s', '1 min 12 s']);
  });
});

describe('renderJson', () => {
  it('is exactly one JSON object with the contract fields, then the extras', () => {
    const text = renderJson(fpmDown());
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed).slice(0, 4)).toEqual(['host', 'verdict', 'findings', 'durationMs']);
    expect(parsed).toMatchObject({
      host: 'web-01',
      verdict: { cause: 'php_fpm_down', title: expect.stringMatching(/^PHP-FPM is not running/) },
      durationMs: 2345,
      incomplete: true,
      gaps: [
        { check: 'nginx_access_log', reason: 'could not read the nginx access log: sudo: a password is required' },
        {
          check: 'kernel_log',
          reason: 'could not read the kernel log: timed out after 10s',
          supplementary: true,
          couldHide: 'an OOM kill of php-fpm by the kernel (oom_killed)',
        },
      ],
      playbook: 'nginx-502',
      startedAt: '2026-11-23T23:09:51.000Z',
      facts: { nginx: { running: true } },
      checks: [{ id: 'nginx_error_log', status: 'ok', durationMs: 12, truncated: false }],
    });
    const findings = parsed.findings as Record<string, unknown>[];
    expect(findings[0]).toMatchObject({ cause: 'php_fpm_down', severity: 'critical', remediations: ['start_php_fpm'], current: true });
    for (const f of findings) {
      expect(Object.keys(f)).toEqual(['cause', 'severity', 'title', 'evidence', 'remediations', 'explanation', 'nextSteps', 'current']);
      expect(f.evidence).toBeInstanceOf(Array);
    }
    // One object: nothing before or after it.
    expect(text.trim()).toBe(text);
    expect(() => JSON.parse(`[${text}]`)).not.toThrow();
  });

  it('on a host with several stacks, each finding says its stack and the key `medic remediate --stack` takes', () => {
    const d = fpmDown();
    const f = {
      ...(d.findings[0] as Diagnosis['findings'][number]),
      stack: 'nginx /srv/b/nginx.conf + php-fpm /srv/b/php-fpm.conf',
      stackKey: '/srv/b/nginx.conf',
    };
    const parsed = JSON.parse(renderJson({ ...d, findings: [f] })) as { findings: Record<string, unknown>[] };
    expect(parsed.findings[0]).toMatchObject({
      stack: 'nginx /srv/b/nginx.conf + php-fpm /srv/b/php-fpm.conf',
      stackKey: '/srv/b/nginx.conf',
    });
  });

  it('keeps <!channel> as text for the Slack layer, and control characters cannot break the document', () => {
    const d = fpmDown();
    const tricky: Diagnosis = {
      ...d,
      findings: [{ ...(d.findings[0] as Diagnosis['findings'][number]), evidence: ['GET /?x=<!channel>&y="q" \u0000\u001b[31m'] }],
    };
    const parsed = JSON.parse(renderJson(tricky)) as { findings: { evidence: string[] }[] };
    expect(parsed.findings[0]?.evidence).toEqual(['GET /?x=<!channel>&y="q" \\x00']);
  });
});
