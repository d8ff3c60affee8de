import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withErrorTable } from '../../scripts/write-error-table.ts';
import { asRedisError, ERROR_CODES, errorMessage, MedicError } from '../../src/errors.ts';

const readme = readFileSync(new URL('../../docs/error-codes.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it.each(Object.keys(ERROR_CODES))('%s is documented in docs/error-codes.md', (code) => {
    expect(readme).toContain(`| \`${code}\` |`);
  });

  it("the docs' table is the hints themselves (npm run errors rewrites it)", () => {
    expect(withErrorTable(readme)).toBe(readme);
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

  it('Redis outages become REDIS_UNAVAILABLE, in words people can act on; other errors pass through', () => {
    // What ioredis throws when its retries for one command run out (Redis stopped).
    const raw = new Error('Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.');
    const e = asRedisError(raw, 'the diagnosis was not queued');
    expect(e).toBeInstanceOf(MedicError);
    expect((e as MedicError).code).toBe('REDIS_UNAVAILABLE');
    expect((e as MedicError).message).toBe(
      'Redis did not answer, so the diagnosis was not queued. Nothing is lost: ask again once Redis is back (the bot reconnects by itself).',
    );
    expect((e as MedicError).cause).toBe(raw);
    expect(
      (asRedisError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }), 'x') as MedicError).code,
    ).toBe('REDIS_UNAVAILABLE');
    expect((asRedisError(new Error('Connection is closed.'), 'x') as MedicError).code).toBe('REDIS_UNAVAILABLE');
    const other = new Error('chat.postMessage returned no ts');
    expect(asRedisError(other, 'x')).toBe(other);
    const coded = new MedicError('HOST_UNKNOWN', 'no');
    expect(asRedisError(coded, 'x')).toBe(coded);
  });

  it('a hung host and a diagnosis past its bound are not retried: they already waited their whole bound', () => {
    expect(new MedicError('SSH_NOT_ANSWERING', 'x').retryable).toBe(false);
    expect(new MedicError('DIAGNOSIS_TIMEOUT', 'x').retryable).toBe(false);
  });
});

describe('errorMessage', () => {
  it("is an Error's message, and anything else thrown as a string", () => {
    expect(errorMessage(new MedicError('HOST_UNKNOWN', 'no such host'))).toBe('no such host');
    expect(errorMessage(new TypeError('x is not a function'))).toBe('x is not a function');
    expect(errorMessage('a thrown string')).toBe('a thrown string');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
  });
});
