// Rewrites the error-code table of docs/error-codes.md from src/errors.ts, so the words people read
// in the docs are the very hints medic prints. `npm run errors` after adding or changing a code; a
// unit test fails when the table is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../src/errors.ts';

const HEADER = '| code | what to do |\n| --- | --- |\n';

/** The table as the docs show it: one row per code, in the order of ERROR_CODES. */
export function errorTable(): string {
  return (
    HEADER +
    Object.entries(ERROR_CODES)
      .map(([code, hint]) => `| \`${code}\` | ${hint.replaceAll('|', '\\|')} |\n`)
      .join('')
  );
}

/** `doc` with the table under "# Error codes" replaced by `errorTable()`. */
export function withErrorTable(readme: string): string {
  const section = readme.indexOf('# Error codes\n');
  const start = readme.indexOf(HEADER, section);
  if (section < 0 || start < 0) throw new Error('docs/error-codes.md has no "# Error codes" table');
  let end = start + HEADER.length;
  while (readme.startsWith('| `', end)) end = readme.indexOf('\n', end) + 1;
  return readme.slice(0, start) + errorTable() + readme.slice(end);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../docs/error-codes.md', import.meta.url));
  writeFileSync(target, withErrorTable(readFileSync(target, 'utf8')));
  console.log(`wrote the error table of ${target}`);
}
