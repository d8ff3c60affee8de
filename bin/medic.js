#!/usr/bin/env node
// The `medic` command line. The sources are TypeScript run through tsx, so a checkout
// needs no build step: `npm ci` and `npx medic` are enough.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
