// Adds to package-lock.json the platform-specific optional packages that npm left out.
//
// npm records every optional dependency of every platform in the lock, then installs only the
// ones for the machine it runs on. When the registry it talks to lacks some of them (the
// registry mirror of this project's machines has no macOS or Windows builds of
// msgpackr-extract), `npm install` silently drops them from the lock, and `npm ci` then refuses
// the lock ("Missing: … from lock file") everywhere. This writes the entries back the way npm
// writes them (version, os, cpu, optional), so npm skips them on other platforms as it should.
// Run it after `npm install` when `test/unit/lockfile.test.ts` says so: `npx tsx scripts/complete-lockfile.ts`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { missingOptionalEntries } from './lockfile-entries.ts';

const path = fileURLToPath(new URL('../package-lock.json', import.meta.url));
const lock = JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, Record<string, unknown>> };
const missing = missingOptionalEntries(lock.packages);
for (const [key, entry] of missing) lock.packages[key] = entry;
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(missing.length === 0 ? 'package-lock.json is complete' : `added ${missing.map(([k]) => k).join(', ')}`);
