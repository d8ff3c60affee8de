import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/logger.ts';

describe('redactSecrets', () => {
  it('replaces secret names up to three objects deep, in objects and arrays, and leaves the rest as it was', () => {
    const input = {
      token: 'a',
      host: 'web-01',
      list: [{ password: 'b', keep: 1 }],
      config: { slack: { botToken: 'c', team: 'T1' } },
      deep: { a: { b: { c: { token: 'four levels' } } } },
    };
    const out = redactSecrets(input) as typeof input;
    expect(out).toEqual({
      token: '[redacted]',
      host: 'web-01',
      list: [{ password: '[redacted]', keep: 1 }],
      config: { slack: { botToken: '[redacted]', team: 'T1' } },
      deep: { a: { b: { c: { token: 'four levels' } } } },
    });
    // Copies, never changes in place: the caller's object still holds its values.
    expect(input.token).toBe('a');
    expect(input.config.slack.botToken).toBe('c');
    // What holds no secret is the same object, not a copy.
    expect(out.deep).toBe(input.deep);
  });

  it('keeps an Error an Error (message, stack) and copies frozen objects', () => {
    const err = Object.assign(new Error('boom'), { config: { headers: { authorization: 'Bearer x' } } });
    const out = redactSecrets({ err, frozen: Object.freeze({ REDIS_URL: 'redis://:pw@h' }) }) as {
      err: Error & { config: { headers: { authorization: string } } };
      frozen: { REDIS_URL: string };
    };
    expect(out.err).toBeInstanceOf(Error);
    expect(out.err.message).toBe('boom');
    expect(out.err.stack).toBe(err.stack);
    expect(out.err.config.headers.authorization).toBe('[redacted]');
    expect(err.config.headers.authorization).toBe('Bearer x');
    expect(out.frozen.REDIS_URL).toBe('[redacted]');
  });

  it('passes values that are not objects through', () => {
    for (const v of [null, undefined, 1, 'token', true]) expect(redactSecrets(v)).toBe(v);
  });
});
