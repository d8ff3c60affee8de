#!/usr/bin/env node
// The `medic` command line. The sources are TypeScript run through tsx, so a checkout
// needs no build step: `npm ci` and `npx medic` are enough.
import { register } from 'tsx/esm/api';
import { createInterface } from 'node:readline/promises';

register();
const { runCli } = await import('../src/cli/main.ts');
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
