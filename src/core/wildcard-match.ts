/**
 * How many pattern characters one text character `c` consumes at `at` (never a `*`); 0 when it
 * does not match there.
 */
export type TokenMatcher = (pattern: string, at: number, c: string) => number;

/** `?` is any one character, everything else itself. */
const plainToken: TokenMatcher = (pattern, at, c) => (pattern[at] === '?' || pattern[at] === c ? 1 : 0);

/**
 * Whether `text` matches `pattern` as a whole, `*` being any run of characters. Greedy with one
 * backtrack point: on a mismatch the last `*` takes one more character, so no earlier choice is
 * revisited and the cost is at most pattern × text steps, whatever the input (a regex of `.*`
 * per star backtracks polynomially). Host globs, known_hosts patterns and nginx's `include`
 * globs all match through this one loop; `token` adds what a syntax has beyond `?`.
 */
export function wildcardMatch(pattern: string, text: string, token: TokenMatcher = plainToken): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starAt = 0;
  while (t < text.length) {
    if (pattern[p] === '*') {
      star = p++;
      starAt = t;
      continue;
    }
    const step = p < pattern.length ? token(pattern, p, text[t] as string) : 0;
    if (step > 0) {
      p += step;
      t++;
    } else if (star !== -1) {
      p = star + 1;
      t = ++starAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
