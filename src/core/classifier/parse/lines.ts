import { redactPemBlocks } from '../../report/sanitize.ts';

/** The non-empty lines of a command's output; PEM blocks are redacted while the lines are still together. */
export function outputLines(text: string): string[] {
  return redactPemBlocks(text)
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
}
