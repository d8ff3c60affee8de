import { sanitizeLine } from '../report/sanitize.ts';

/** Safe for a title: one line, no controls, secrets redacted, short. */
export const clean = (text: string, max = 300): string => sanitizeLine(text, max);

/** "a", "a and b", "a, b and 2 more". */
export function listOf(items: readonly string[], max = 2): string {
  if (items.length <= 1) return items[0] ?? '';
  if (items.length <= max) return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** `1 alert`, `3 alerts`. */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
