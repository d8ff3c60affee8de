import { describe, expect, it } from 'vitest';
import { asCurrentLine, FIELD_CASES } from './field-cases.ts';
import { baseResults, picture, result, run } from './fixtures.ts';

/**
 * Malformed answers from the backend have no cause id of their own (unknown_502), but the real
 * lines of public reports say what went wrong: the finding explains that much, and where to look.
 */
const verdictFor = (line: string) => {
  const { findings } = run({
    picture: picture(),
    results: [...baseResults('fpm-down'), result('nginx_error_log', `${asCurrentLine(line)}\n`)],
  });
  return findings[0];
};

const fieldLine = (pattern: RegExp): string => {
  const found = FIELD_CASES.find((c) => pattern.test(c.line));
  if (found === undefined) throw new Error(`no field line matches ${pattern}`);
  return found.line;
};

describe('unknown_502 on a malformed answer says what the line means', () => {
  it('no valid HTTP/1.0 header (rancher): the backend does not speak HTTP there; which directive fits which backend', () => {
    const v = verdictFor(fieldLine(/upstream sent no valid HTTP\/1\.0 header.*upstream: "http/));
    expect(v?.cause).toBe('unknown_502');
    expect(v?.explanation).toMatch(/does not begin with an HTTP status line/);
    expect(v?.nextSteps.join('\n')).toMatch(/fastcgi_pass for php-fpm, uwsgi_pass .* grpc_pass .* proxy_pass https:\/\//);
    expect(v?.nextSteps[0]).toMatch(/^See what listens there: sudo ss -ltnp \| grep ':\d+ '$/);
  });

  it("invalid header (FreshRSS, PHP's header('HTTP 1.1 500')): the status line without its slash", () => {
    const v = verdictFor(fieldLine(/upstream sent invalid header: "HTTP\\x20/));
    expect(v?.cause).toBe('unknown_502');
    expect(v?.explanation).toMatch(/status line without its slash/);
    expect(v?.nextSteps[0]).toMatch(/http_response_code\(500\)/);
  });

  it('unexpected FastCGI record: 3 (snuffleupagus): the script ended the request before any header; php-fpm logs and the socket', () => {
    const v = verdictFor(fieldLine(/unexpected FastCGI record: 3/));
    expect(v?.cause).toBe('unknown_502');
    expect(v?.explanation).toMatch(/type 3 ends the request/);
    expect(v?.nextSteps.join('\n')).toMatch(/sudo ss -lxp \| grep -F '\/opt\/alt\/php-fpm74\/usr\/var\/sockets\/name\.sock'/);
  });

  it('any other upstream error keeps the general advice', () => {
    const v = verdictFor(
      '2026/01/01 00:00:00 [error] 1#1: *1 upstream sent something new while reading response header from upstream, client: 10.0.0.1, server: a, request: "GET / HTTP/1.1", upstream: "http://10.0.0.5:8080/", host: "a"',
    );
    expect(v?.cause).toBe('unknown_502');
    expect(v?.explanation).toMatch(/match none of the known causes/);
  });
});
