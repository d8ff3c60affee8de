import { describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS } from '../../../src/core/report/sanitize.ts';
import { baseResults, log, picture, result, run } from './fixtures.ts';

/** A real (2: No such file) line of the capture, with its request replaced by what a client might send. */
const realLine = log('fpm-stopped.error.log').split('\n')[0] as string;
const withRequest = (request: string): string => realLine.replace(/request: "[^"]*"/, `request: "${request}"`);
// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const classifyLines = (lines: string[]) =>
  run({
    picture: picture({ fpmRunning: false }),
    results: [...baseResults('fpm-down'), result('nginx_error_log', `${lines.join('\n')}\n`)],
  });

describe('hostile host output', () => {
  it('a megabyte-long request line is cut in the evidence, and the cause still found', () => {
    const { findings } = classifyLines([withRequest(`GET /${'A'.repeat(1_000_000)} HTTP/1.1`)]);
    expect(findings[0]?.cause).toBe('php_fpm_down');
    const evidence = findings[0]?.evidence[0] ?? '';
    expect(evidence.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    expect(evidence).toMatch(/^\d{4}\/\d{2}\/\d{2} .*connect\(\) to unix:.*… \[\d+ more characters cut\]$/);
  });

  it('binary garbage and terminal escapes between the lines change nothing and never reach the evidence raw', () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256)).toString('latin1');
    const lines = [bytes, withRequest('GET /\u001b[2J\u001b]0;owned\u0007 HTTP/1.1'), '\u0000\u0001\u0002', realLine];
    const { findings } = classifyLines(lines);
    expect(findings[0]?.cause).toBe('php_fpm_down');
    for (const f of findings) for (const e of [f.title, ...f.evidence]) expect(e).not.toMatch(CONTROL);
  });

  it('secrets in requests and PHP output are redacted before anyone sees them', () => {
    const { findings } = classifyLines([
      withRequest('GET /login?user=bob&password=hunter2&api_key=k-123 HTTP/1.1'),
      withRequest('GET /hook?token=xoxb-1111-2222-abcdef HTTP/1.1'),
    ]);
    const text = findings.flatMap((f) => f.evidence).join('\n');
    expect(text).toContain('password=[REDACTED]&api_key=[REDACTED]');
    expect(text).not.toMatch(/hunter2|k-123|xoxb-1111/);
  });

  it('<!channel> and <@U…> in a request survive as plain text for the Slack layer to escape', () => {
    const { findings } = classifyLines([withRequest('GET /?q=<!channel>&who=<@U0123> HTTP/1.1')]);
    expect(findings[0]?.evidence[0]).toContain('request: "GET /?q=<!channel>&who=<@U0123> HTTP/1.1"');
  });

  it('a host that writes 20 000 failures: evidence stays short, counted, newest first', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) =>
      realLine.replace(/\*\d+ /, `*${i} `).replace(/\d{2}:\d{2}:\d{2} \[/, `23:08:${String(i % 50).padStart(2, '0')} [`),
    );
    const started = performance.now();
    const { findings } = classifyLines(lines);
    expect(performance.now() - started).toBeLessThan(5000);
    const evidence = findings[0]?.evidence ?? [];
    expect(evidence.length).toBeLessThanOrEqual(10);
    expect(evidence.find((l) => l.startsWith('… and '))).toBe('… and 19992 more similar lines');
    expect(evidence[0]).toContain('23:08:49 [crit]');
    expect(findings[0]?.title).toMatch(/20000 times/);
  });

  it('exact duplicate lines are quoted once', () => {
    const { findings } = classifyLines([realLine, realLine, realLine]);
    expect(findings[0]?.evidence.filter((e) => e === realLine)).toHaveLength(1);
  });

  it('output that is not what the parser expects gives no finding rather than a wrong one', () => {
    const { findings } = run({
      results: [
        ...baseResults('ok'),
        result('nginx_error_log', '<html>not a log</html>\n{"json": true}\n'),
        result('nginx_access_log', 'garbage 502 garbage\n'),
        result('kernel_log', 'Killed process in a sentence with no pid\n'),
        result('sockets', 'Netid State\nnonsense'),
        result('fpm_status', '<h1>502 Bad Gateway</h1>'),
      ],
    });
    expect(findings.map((f) => f.cause)).toEqual(['healthy']);
  });

  it('long near-misses for the new parsers run in linear time', () => {
    const n = 200_000;
    const near = [
      `type=AVC msg=audit(1.1:1): avc:  denied  { ${'a '.repeat(n)}`,
      `${'x'.repeat(n)} could not be resolved (`,
      `no resolver defined to resolve ${'a'.repeat(n)}`,
      `users:(("${'n'.repeat(n)}`,
      `[CRITICAL] WORKER TIMEOUT (pid:${'9'.repeat(n)}`,
      `uWSGI listen queue of socket "${'"'.repeat(n)}`,
      `php-fpm[${'1'.repeat(n)}]: segfault`,
      `traps: ${'p'.repeat(n)}[1] general`,
      `${'[pool x] '.repeat(n / 10)}exited on signal`,
      `${'app_1 | '.repeat(n / 10)}[01-Jan-2020 00:00:00] WARNING: x`,
      `Max open files ${' '.repeat(n)}x`,
    ].map((l) => `2026/11/23 23:08:00 [error] 1#1: *1 ${l}`);
    const started = performance.now();
    run({
      results: [
        ...baseResults('ok'),
        result('nginx_error_log', `${near.join('\n')}\n`),
        result('security_policy', `${near.join('\n')}\n`),
        result('backend_log', `${near.join('\n')}\n`),
        result('sockets', `${near.join('\n')}\n`),
        result('kernel_log', `${near.join('\n')}\n`),
        result('fpm_log', `${near.join('\n')}\n`),
        result('limits', `${near.join('\n')}\n`),
      ],
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
