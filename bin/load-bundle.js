// Runs the precompiled command line (dist/cli/medic.cjs, one CommonJS file) with a V8 code
// cache beside it: later calls skip compiling the functions an earlier call of the same command
// compiled (tens of milliseconds of every `medic diagnose`). The cache is only an optimisation:
// V8 checks it against the source and its own version and flags and ignores one that does not
// match, a cache that cannot be read or written (a read-only install) is simply not used, and
// `npm run build` removes it with the rest of dist/cli/. Plain JavaScript: it runs before any
// loader is registered.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { fileURLToPath } = require('node:url');
const { Script } = require('node:vm');

/** Commands whose code differs enough to keep a cache each; anything else shares one. */
const CACHED_COMMANDS = new Set(['diagnose', 'remediate', 'hosts', 'playbooks', 'start', 'bot', 'worker']);

/**
 * Loads the bundle and returns its exports, and `saveCache()`, to be called once the command has
 * run (so that the cache holds the functions it compiled): it writes the cache when there was
 * none or V8 refused it.
 * @param {string} url the bundle's file: URL
 * @param {readonly string[]} argv the command line (its first word picks the cache)
 * @returns {{ exports: { runCli: Function }, saveCache: () => void }}
 */
function loadBundle(url, argv) {
  const file = fileURLToPath(url);
  const command = argv[0] !== undefined && CACHED_COMMANDS.has(argv[0]) ? argv[0] : 'other';
  const cacheFile = `${file}.${command}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The same wrapper Node gives a CommonJS module.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const bundle = { exports: {} };
  script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dirname(file));
  const saveCache = () => {
    if (cachedData !== undefined && !script.cachedDataRejected) return;
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      // Atomic: concurrent calls each write their own file, and a reader never sees half of one.
      renameSync(tmp, cacheFile);
    } catch {
      // Read-only or full: run without a cache.
    }
  };
  return { exports: bundle.exports, saveCache };
}

module.exports = { loadBundle };
