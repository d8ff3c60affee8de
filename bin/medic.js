#!/bin/sh
//usr/bin/env true; case "$1" in diagnose | remediate | hosts | playbooks | --help | -h | "") unset NODE_EXTRA_CA_CERTS ;; esac; exec node "$0" "$@"
// The line above is a comment to Node and, run as `medic` (through the first line), the launcher:
// the commands that make no TLS connection, and the usage text, start Node without
// NODE_EXTRA_CA_CERTS, which Node 20 otherwise reads and parses, with its own root certificates,
// before any JavaScript runs: tens of milliseconds of every call. The bot's roles keep it, and so
// does Node started any other way (`node bin/medic.js`).
// The `medic` command line: the precompiled dist/cli/medic.cjs when it is up to date (`npm ci`
// builds it), else the TypeScript sources through tsx, so that an edit is never run stale.
// CommonJS (bin/package.json), like everything it loads before the command runs: Node starts a
// CommonJS entry about 10 ms sooner than an ES module one.
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { chooseEntry } = require('./entry.js');

async function main() {
  const argv = process.argv.slice(2);
  const entry = chooseEntry(pathToFileURL(join(__dirname, '..', '/')));
  let runCli;
  let saveCache = () => {};
  if (entry.kind === 'built') {
    const bundle = require('./load-bundle.js').loadBundle(entry.url, argv);
    ({ runCli } = bundle.exports);
    saveCache = bundle.saveCache;
  } else {
    (await import('tsx/esm/api')).register();
    ({ runCli } = await import(entry.url));
  }
  const io = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    interactive: process.stderr.isTTY === true,
    confirm: process.stdin.isTTY
      ? async (question) => {
          const { createInterface } = require('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return /^y(es)?$/i.test((await rl.question(question)).trim());
          } finally {
            rl.close();
          }
        }
      : undefined,
  };
  process.exitCode = await runCli(argv, process.env, io);
  // Only a call that ran its command through compiles what later calls of it will need.
  if (process.exitCode === 0 && !argv.includes('--help') && !argv.includes('-h')) saveCache();
}

main().catch((e) => {
  // runCli reports what it can; anything that escapes it is a bug, shown as Node would.
  process.exitCode = 1;
  console.error(e);
});
