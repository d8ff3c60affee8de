import { describe, expect, it } from 'vitest';
import { FactPath, isSafePath, pathProblem, SAFE_PATH } from '../../src/core/facts.ts';

describe('path facts', () => {
  it.each(['/etc/nginx/nginx.conf', '/run/php/php8.2-fpm.sock', '/etc/php/8.2/fpm/pool.d/', '/var/log/nginx/shop.error.log', '/'])(
    'accepts %s',
    (p) => {
      expect(pathProblem(p)).toBeNull();
      expect(FactPath.safeParse(p).success).toBe(true);
    },
  );

  it.each([
    ['relative/path', /absolute path/],
    ['/tmp/a b', /absolute path/],
    ['/tmp/$(id)', /absolute path/],
    ['/var//log', /normalised/],
    ['/var/./log', /normalised/],
    ['/var/log/../../etc/shadow', /normalised/],
    ['/var/log/..', /normalised/],
    ['/dev/zero', /under \/dev/],
    ['/dev', /under \/dev/],
    ['/proc/self/environ', /under \/proc/],
    ['/proc/meminfo', /under \/proc/],
    ['/sys/kernel/x', /under \/sys/],
  ])('refuses %s', (p, why) => {
    expect(pathProblem(p)).toMatch(why);
    expect(isSafePath(p)).toBe(false);
    const parsed = FactPath.safeParse(p);
    expect(parsed.success).toBe(false);
  });

  // A near-miss (a long run of path characters, then one that is not) made the old
  // `^\/(?:[…]+\/?)*$` try every way of splitting the run: seconds for 30 characters.
  it.each([
    ['a run of letters then a space', `/${'a'.repeat(100_000)} `],
    ['alternating segments then a quote', `/${'a/'.repeat(50_000)}"`],
    ['dots and dashes then a newline', `/${'.-'.repeat(50_000)}\n`],
  ])('stays linear on a 100 KB near-miss: %s', (_, input) => {
    const t0 = performance.now();
    expect(input).not.toMatch(SAFE_PATH);
    expect(pathProblem(input)).not.toBeNull();
    expect(FactPath.safeParse(input).success).toBe(false);
    // Microseconds in practice; the bound only has to tell linear from exponential on a loaded machine.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
