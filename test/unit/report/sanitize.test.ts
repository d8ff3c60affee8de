import { describe, expect, it } from 'vitest';
import {
  capLine,
  MAX_LINE_CHARS,
  redactPemBlocks,
  redactSecrets,
  sanitizeLine,
  sanitizeLines,
  sanitizeText,
} from '../../../src/core/report/sanitize.ts';

describe('sanitizeLine: what reaches people is safe', () => {
  it.each([
    ['password=', 'db connect password=hunter2 host=db', 'db connect password=[REDACTED] host=db'],
    ['passwd', 'passwd: s3cr3t!', 'passwd: [REDACTED]'],
    ['DB_PASSWORD in env', "DB_PASSWORD='correct horse battery'", "DB_PASSWORD='[REDACTED]'"],
    ['secret in JSON', '{"client_secret":"abc123","id":"x"}', '{"client_secret":"[REDACTED]","id":"x"}'],
    [
      'token in a query string',
      'request: "GET /reset?token=9f8e7d6c&next=/ HTTP/1.1"',
      'request: "GET /reset?token=[REDACTED]&next=/ HTTP/1.1"',
    ],
    ['access_token', 'GET /cb?access_token=ya29.A0ARrdaM HTTP/1.1', 'GET /cb?access_token=[REDACTED] HTTP/1.1'],
    ['api_key', 'api_key=AIzaSyD-123456', 'api_key=[REDACTED]'],
    ['apiKey with a colon', 'apiKey: live_abcdef', 'apiKey: [REDACTED]'],
    ['Authorization: Bearer', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'Authorization: Bearer [REDACTED]'],
    ['Authorization: Basic', 'authorization: Basic dXNlcjpwYXNz', 'authorization: Basic [REDACTED]'],
    ['a bare Bearer value', 'sent Bearer abc.def-ghi to upstream', 'sent Bearer [REDACTED] to upstream'],
    ['Slack bot token', 'SLACK_BOT_TOKEN xoxb-1234-5678-abcdefghijkl', 'SLACK_BOT_TOKEN [REDACTED]'],
    ['Slack user token inside text', 'token xoxp-11-22-33-abc leaked', 'token [REDACTED] leaked'],
    ['AWS access key id', 'aws key AKIAIOSFODNN7EXAMPLE in env', 'aws key [REDACTED] in env'],
    ['password in a URL', 'upstream redis://app:s3cret@10.0.0.5:6379/0', 'upstream redis://app:[REDACTED]@10.0.0.5:6379/0'],
    [
      'PEM key on one line',
      'key=-----BEGIN RSA PRIVATE KEY-----MIIEabc-----END RSA PRIVATE KEY----- done',
      'key=[REDACTED PRIVATE KEY] done',
    ],
  ])('redacts %s', (_name, input, expected) => {
    expect(sanitizeLine(input)).toBe(expected);
  });

  it('leaves ordinary nginx lines alone (paths with "secret" in them are not values)', () => {
    const line =
      '2026/11/23 23:08:40 [error] 12785#12785: *65 open() "/var/www/secret/token.php" failed (2: No such file or directory), client: 127.0.0.1';
    expect(sanitizeLine(line)).toBe(line);
  });

  it('strips ANSI escapes and shows other control characters', () => {
    expect(sanitizeLine('\u001b[31mred\u001b[0m \u001b]0;owned\u0007title \u009b2Jx')).toBe('red title x');
    expect(sanitizeLine('a\u0000b\u0007c\u007fd\u0085e')).toBe('a\\x00b\\x07c\\x7fd\\x85e');
    expect(sanitizeLine('line1\nline2\r\n\tx')).toBe('line1\\nline2\\n x');
  });

  it('shows bidirectional overrides and replaces broken UTF-16 with U+FFFD', () => {
    expect(sanitizeLine('evil\u202Egnp.exe')).toBe('evil\\u202egnp.exe');
    expect(sanitizeLine('bad \ud800 half')).toBe('bad \ufffd half');
  });

  it('caps long lines, saying how much was cut, and never leaves half a secret at the cut', () => {
    const huge = `${'x'.repeat(MAX_LINE_CHARS - 10)} password=${'p'.repeat(50)}`;
    const out = sanitizeLine(huge);
    expect(out.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    expect(out).toMatch(/… \[\d+ more characters cut\]$/);
    expect(out).not.toContain('ppppp');
    expect(capLine('short')).toBe('short');
  });

  it('is idempotent: sanitizing twice changes nothing', () => {
    for (const input of [
      'password=x Authorization: Bearer abc',
      '\u001b[1mbold\u0000',
      'https://u:p@h/ xoxb-1-2',
      'y'.repeat(5000),
      'Authorization: Bearer [REDACTED]',
    ]) {
      const once = sanitizeLine(input);
      expect(sanitizeLine(once)).toBe(once);
    }
  });

  it("leaves <, > and & as text: escaping them is the Slack renderer's job", () => {
    expect(sanitizeLine('request: "GET /?q=<!channel>&x=<@U123> HTTP/1.1"')).toBe('request: "GET /?q=<!channel>&x=<@U123> HTTP/1.1"');
  });

  it('redacts a PEM private key spread over lines of one output', () => {
    const text = [
      'before',
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU=',
      'AAAAC3NzaC1lZDI1NTE5AAAAIB==',
      '-----END OPENSSH PRIVATE KEY-----',
      'after',
    ];
    expect(sanitizeLines(text)).toEqual([
      'before',
      '[REDACTED PRIVATE KEY]',
      '[REDACTED PRIVATE KEY]',
      '[REDACTED PRIVATE KEY]',
      '[REDACTED PRIVATE KEY]',
      'after',
    ]);
    expect(redactPemBlocks('-----BEGIN PRIVATE KEY-----\nMIIE\n(cut)')).toBe(
      '[REDACTED PRIVATE KEY]\n[REDACTED PRIVATE KEY]\n[REDACTED PRIVATE KEY]',
    );
    expect(redactSecrets('no secrets here')).toBe('no secrets here');
  });
});

describe('redaction of the common secret forms', () => {
  it.each([
    [
      'a JWT',
      'cookie jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c seen',
      'cookie jwt [REDACTED] seen',
    ],
    ['a JWT in a path', 'GET /magic/eyJhbGciOiJub25lIn0.eyJ1IjoxfQ. HTTP/1.1', 'GET /magic/[REDACTED] HTTP/1.1'],
    ['a Stripe live key', 'stripe sk_live_51H8xYzAbCdEfGhIjKlMn failed', 'stripe [REDACTED] failed'],
    ['a Stripe restricted test key', 'using rk_test_abcdefgh12345678', 'using [REDACTED]'],
    ['a GitHub token', 'clone with ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok', 'clone with [REDACTED] ok'],
    ['a fine-grained GitHub token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop', '[REDACTED]'],
    ['a Google API key', 'maps key AIzaSyA-abcdefghijklmnopqrstuvwxyz012345 used', 'maps key [REDACTED] used'],
    [
      'an S3 presigned URL',
      'GET /b/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAXX%2F20260101&X-Amz-Signature=9f86d081884c7d65 HTTP/1.1',
      'GET /b/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED] HTTP/1.1',
    ],
    ['an OAuth code', 'GET /oauth/callback?code=4/0AX4XfWh&state=xyz HTTP/1.1', 'GET /oauth/callback?code=[REDACTED]&state=xyz HTTP/1.1'],
    ['pass= in a query', 'GET /login.php?user=bob&pass=hunter2 HTTP/1.1', 'GET /login.php?user=bob&pass=[REDACTED] HTTP/1.1'],
    ['pass= as a key', 'db_pass=hunter2 db_host=x', 'db_pass=[REDACTED] db_host=x'],
    ['a signature parameter', 'GET /dl?file=a.zip&sig=abcdef123 HTTP/1.1', 'GET /dl?file=a.zip&sig=[REDACTED] HTTP/1.1'],
    ['a URL-encoded secret name', 'GET /x?client%5Fsecret=abc HTTP/1.1', 'GET /x?client%5Fsecret=[REDACTED] HTTP/1.1'],
    [
      'redis with a password and no user',
      'connect redis://:s3cret@10.0.0.5:6379/0 failed',
      'connect redis://:[REDACTED]@10.0.0.5:6379/0 failed',
    ],
    ['a PHP session cookie', 'Cookie: PHPSESSID=9c1185a5c5e9fc54612808977ee8f548; theme=dark', 'Cookie: PHPSESSID=[REDACTED]; theme=dark'],
    ['a Java session cookie', 'Set-Cookie: JSESSIONID=ABC123DEF; Path=/', 'Set-Cookie: JSESSIONID=[REDACTED]; Path=/'],
    ['a Laravel session cookie', 'laravel_session=eyJpdiI6IjEyMyJ9abc', 'laravel_session=[REDACTED]'],
    ['an Express session cookie', 'cookie connect.sid=s%3Aabc.def', 'cookie connect.sid=[REDACTED]'],
  ])('redacts %s', (_name, input, expected) => {
    expect(sanitizeLine(input)).toBe(expected);
    expect(sanitizeLine(sanitizeLine(input))).toBe(expected);
  });

  it.each([
    ['a query without secrets', 'GET /search?q=shoes&page=2&code_style=x HTTP/1.1'],
    ['words that contain "pass" or "sid"', 'bypass=1 passenger=on inside=yes fastcgi_pass unix:/run/php.sock'],
    ['an exit code', 'php-fpm exited with code=255'],
    ['a plain URL with a port', 'upstream: "http://127.0.0.1:3000/api/" host: "shop"'],
  ])('leaves %s alone', (_name, line) => {
    expect(sanitizeLine(line)).toBe(line);
  });

  it('sanitizeText keeps the lines of an output and makes each safe', () => {
    const out = sanitizeText(
      'line one\r\n\u001b[31mtoken=abc\u001b[0m\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\nlast',
    );
    expect(out.split('\n')).toEqual([
      'line one',
      'token=[REDACTED]',
      '[REDACTED PRIVATE KEY]',
      '[REDACTED PRIVATE KEY]',
      '[REDACTED PRIVATE KEY]',
      'last',
    ]);
  });
});
