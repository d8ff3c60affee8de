import { describe, expect, it } from 'vitest';
import { wildcardMatch } from '../../src/core/wildcard-match.ts';

describe('wildcardMatch: the one `*` loop behind host globs, known_hosts patterns and nginx includes', () => {
  it.each([
    ['web-*', 'web-01', true],
    ['web-0?', 'web-01', true],
    ['web-0?', 'web-010', false],
    ['*.example.com', 'shop.example.com', true],
    ['*.example.com', 'example.com', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['**', '', true],
    ['*', '*', true],
    ['', 'x', false],
  ])('%s against %s: %s', (pattern, text, expected) => {
    expect(wildcardMatch(pattern, text)).toBe(expected);
  });

  it('a syntax adds its own tokens: here `#` is any digit', () => {
    const digit = (p: string, at: number, c: string): number => (p[at] === '#' ? (/\d/.test(c) ? 1 : 0) : p[at] === c ? 1 : 0);
    expect(wildcardMatch('web-##*', 'web-01a', digit)).toBe(true);
    expect(wildcardMatch('web-##*', 'web-a1', digit)).toBe(false);
  });

  it('a long near-miss costs at most pattern × text steps (a `.*` regex per star would not finish)', () => {
    const text = 'a'.repeat(100_000);
    expect(wildcardMatch(`${'*a'.repeat(8)}Z`, text)).toBe(false);
  });
});
