// Which code `medic` runs: the precompiled command line (dist/cli/medic.cjs, built by `npm run build`,
// which `npm ci` runs) while it is newer than every source file, else the TypeScript sources
// through tsx. Plain JavaScript: it runs before any loader is registered.
'use strict';
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { fileURLToPath } = require('node:url');

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
 * Newest modification time of the source files the bundle was built from, as the build listed
 * them (dist/cli/medic.cjs.sources.json): a few stat calls instead of a walk of all of src/ in
 * every call. A file it lists that is gone counts as changed (Infinity); without the list
 * (a build from before it), the whole of src/.
 * @param {string} rootDir
 * @param {URL} built
 */
function newestSource(rootDir, built) {
  let sources;
  try {
    sources = JSON.parse(readFileSync(new URL('medic.cjs.sources.json', built), 'utf8'));
  } catch {
    return newest(join(rootDir, 'src'));
  }
  if (!Array.isArray(sources)) return newest(join(rootDir, 'src'));
  let latest = 0;
  for (const path of sources) {
    const stat = statSync(join(rootDir, path), { throwIfNoEntry: false });
    if (stat === undefined) return Infinity;
    latest = Math.max(latest, stat.mtimeMs);
  }
  return latest;
}

/**
 * @param {URL} root the package's folder, ending in `/`
 * @returns {{ kind: 'built' | 'source', url: string }}
 */
function chooseEntry(root) {
  const built = new URL('dist/cli/medic.cjs', root);
  const source = { kind: 'source', url: new URL('src/cli/main.ts', root).href };
  let builtAt;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    return source; // not built: a checkout without `npm run build`, or an image that skipped it
  }
  return newestSource(fileURLToPath(root), built) > builtAt ? source : { kind: 'built', url: built.href };
}

module.exports = { chooseEntry };
