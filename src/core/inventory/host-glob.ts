import { wildcardMatch } from '../wildcard-match.ts';

/**
 * Host patterns such as `web-*` or `db-0?`: `*` is any run of characters, `?` any one. They come
 * from Slack, the command line and the inventory's groups, so matching must cost little whatever
 * is typed: a regex of `.*` per star backtracks polynomially (`**************Z` took 27 s), this
 * matcher takes at most pattern × name steps, and a pattern may have only a few wildcards.
 */

/** More wildcards than this in one pattern are refused; no real host naming scheme needs them. */
export const MAX_GLOB_WILDCARDS = 8;

export const isGlob = (pattern: string): boolean => pattern.includes('*') || pattern.includes('?');

/** Why a pattern is refused, in words for the person who typed it; undefined when it is fine. */
export function globProblem(pattern: string): string | undefined {
  let wildcards = 0;
  for (const c of pattern) if (c === '*' || c === '?') wildcards++;
  if (wildcards <= MAX_GLOB_WILDCARDS) return undefined;
  return `a host pattern may have at most ${MAX_GLOB_WILDCARDS} wildcards (\`*\`, \`?\`); this one has ${wildcards}. Name the hosts, a group, or a shorter pattern such as \`web-*\``;
}

/** Whether `name` matches `pattern` as a whole, in at most pattern × name steps. */
export const matchGlob = (pattern: string, name: string): boolean => wildcardMatch(pattern, name);
