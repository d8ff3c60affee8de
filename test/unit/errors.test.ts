import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, MedicError } from '../../src/errors.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it.each(Object.keys(ERROR_CODES))('%s is documented in the README', (code) => {
    expect(readme).toContain(`| \`${code}\` |`);
  });

  it('every hint tells the operator what to do', () => {
    for (const hint of Object.values(ERROR_CODES)) expect(hint).toMatch(/: /);
  });

  it('host key and auth problems are not retried; a dropped connection is', () => {
    expect(new MedicError('SSH_HOST_KEY_CHANGED', 'x').retryable).toBe(false);
    expect(new MedicError('SSH_AUTH_FAILED', 'x').retryable).toBe(false);
    expect(new MedicError('HOST_UNKNOWN', 'x').retryable).toBe(false);
    expect(new MedicError('SSH_LOST', 'x').retryable).toBe(true);
    expect(new MedicError('SSH_CONNECT_TIMEOUT', 'x').retryable).toBe(true);
  });
});
