import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { missingOptionalEntries } from '../../scripts/lockfile-entries.ts';

// `npm ci` (CI, the README's first command) refuses a lock that lacks an optional dependency;
// npm drops those it cannot fetch from the registry it talks to. See scripts/complete-lockfile.ts.
describe('package-lock.json', () => {
  it('lists every platform-specific optional dependency, so that npm ci accepts it', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'));
    const missing = missingOptionalEntries(lock.packages).map(([k]) => k);
    expect(missing, 'run `npx tsx scripts/complete-lockfile.ts`').toEqual([]);
  });

  it('the check finds a dropped entry', () => {
    const packages = { 'node_modules/x': { optionalDependencies: { '@x/x-darwin-arm64': '1.2.3' } } };
    expect(missingOptionalEntries(packages)).toEqual([
      ['node_modules/@x/x-darwin-arm64', { version: '1.2.3', cpu: ['arm64'], license: 'MIT', optional: true, os: ['darwin'] }],
    ]);
  });
});
