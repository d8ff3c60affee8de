#!/usr/bin/env node
// The `medic` command line: the precompiled dist/cli/ when it is up to date (`npm ci` builds
// it), else the TypeScript sources through tsx, so that an edit is never run stale.
import { createInterface } from 'node:readline/promises';
import { chooseEntry } from './entry.js';

const entry = chooseEntry(new URL('..', import.meta.url));
if (entry.kind === 'source') (await import('tsx/esm/api')).register();
const { runCli } = await import(entry.url);
const io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  interactive: process.stderr.isTTY === true,
  confirm: process.stdin.isTTY
    ? async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return /^y(es)?$/i.test((await rl.question(question)).trim());
        } finally {
          rl.close();
        }
      }
    : undefined,
};
process.exitCode = await runCli(process.argv.slice(2), process.env, io);
