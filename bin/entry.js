// Which code `medic` runs: the precompiled command line (dist/cli/medic.cjs, built by `npm run build`,
// which `npm ci` runs) while it is newer than every source file, else the TypeScript sources
// through tsx. Plain JavaScript: it runs before any loader is registered.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Newest modification time of the files below `dir`, in ms (0 when there are none). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * @param {URL} root the package's folder, ending in `/`
 * @returns {{ kind: 'built' | 'source', url: string }}
 */
export function chooseEntry(root) {
  const built = new URL('dist/cli/medic.cjs', root);
  const source = { kind: 'source', url: new URL('src/cli/main.ts', root).href };
  let builtAt;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    return source; // not built: a checkout without `npm run build`, or an image that skipped it
  }
  return newest(fileURLToPath(new URL('src/', root))) > builtAt ? source : { kind: 'built', url: built.href };
}
