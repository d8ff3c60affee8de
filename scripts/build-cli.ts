// `npm run build` (also run by `npm ci` and `npm install`, as `prepare`): precompiles the
// command line into one file, dist/cli/medic.cjs, with esbuild, so that `medic` starts without
// transpiling TypeScript or resolving hundreds of modules at run time. bin/medic.js uses it only
// while it is newer than every file under src/, and the sources through tsx otherwise: an edit
// never runs stale code.
//
// Start-up time is part of every `medic diagnose`, so the file holds everything the one-host
// commands need (yaml, zod, ssh2, pino…): one read, no module resolution, and one V8 code cache
// (see bin/load-bundle.js). What only the long-running roles (`start`, `bot`, `worker`) use stays
// in node_modules and is required when such a role starts: modules reached through `import()`
// are only initialised when that import runs, so they cost a one-host command nothing.
import { build, type Plugin } from 'esbuild';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { playbookDigest } from '../src/adapters/files/precompiled-playbooks.ts';
import { parsePlaybook } from '../src/core/playbook/parse-playbook.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'cli');
const outfile = join(out, 'medic.cjs');
const started = performance.now();

/**
 * The shipped playbooks, parsed and checked now, keyed by the digest of their text (see
 * src/adapters/files/precompiled-playbooks.ts). Only what survives JSON unchanged is kept.
 */
async function precompilePlaybooks(): Promise<Record<string, unknown>> {
  const dir = join(root, 'playbooks');
  const table: Record<string, unknown> = {};
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))) {
    const text = await readFile(join(dir, file), 'utf8');
    const playbook = parsePlaybook(text, join(dir, file));
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(playbook)), playbook)) {
      console.error(`build: playbooks/${file} does not survive JSON unchanged; it cannot be precompiled.`);
      process.exit(1);
    }
    table[playbookDigest(text)] = playbook;
  }
  return table;
}

/**
 * ssh2 loads, whether used or not, its SSH server, its SSH-agent clients (child_process, dgram)
 * and its HTTP agents over SSH (http, https, tls): a few milliseconds of every start-up. medic
 * is a client that authenticates with the inventory's key only (no agent), so the bundle gets
 * stand-ins that say so if anything ever reaches them.
 */
const ssh2Unused: Plugin = {
  name: 'ssh2-unused',
  setup(b) {
    const stubs: Record<string, string> = {
      'agent.js':
        'const no = () => { throw new Error("gateway-medic bundles ssh2 without SSH-agent support"); }; module.exports = { AgentContext: no, AgentProtocol: no, BaseAgent: class BaseAgent {}, createAgent: no, CygwinAgent: no, isAgent: () => false, OpenSSHAgent: no, PageantAgent: no };',
      'http-agents.js':
        'const no = () => { throw new Error("gateway-medic bundles ssh2 without its HTTP agents"); }; module.exports = { SSHTTPAgent: no, SSHTTPSAgent: no };',
      'server.js': 'module.exports = function Server() { throw new Error("gateway-medic bundles ssh2 without its SSH server"); };',
    };
    b.onResolve({ filter: /^\.\/(agent|http-agents|server)\.js$/ }, (args) =>
      /[\\/]ssh2[\\/]lib$/.test(args.resolveDir) ? { path: args.path.slice(2), namespace: 'ssh2-unused' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'ssh2-unused' }, (args) => ({ contents: stubs[args.path] ?? '', loader: 'js' }));
  },
};

await rm(out, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  // CommonJS: V8's code cache (vm.Script cachedData) works for scripts, not for ES modules, on Node 20.
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: [
    // The server roles' dependencies: large, and (bullmq's Lua scripts) read from their own folders.
    'bullmq',
    'ioredis',
    '@slack/bolt',
    '@slack/web-api',
    'prom-client',
    // Started as worker threads from files of their own, found from their own folders.
    'pino-pretty',
    'thread-stream',
    // Optional native add-ons ssh2 tries in a try/catch.
    'cpu-features',
    '*.node',
  ],
  // The sources are ES modules; the few that need their own location get the bundle's.
  // The shipped playbooks come precompiled (parsing YAML is the slowest part of a cold start).
  define: {
    'import.meta.url': '__medic_bundle_url',
    MEDIC_PRECOMPILED_PLAYBOOKS: JSON.stringify(JSON.stringify(await precompilePlaybooks())),
  },
  banner: { js: 'const __medic_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [ssh2Unused],
  sourcemap: 'linked',
  logLevel: 'warning',
});
// A path relative to one module would point elsewhere from dist/cli/: such files are found
// from the package root (src/adapters/files/package-root.ts). Refuse a build that has one.
const code = await readFile(outfile, 'utf8');
if (/new URL\([^)]*__medic_bundle_url/.test(code)) {
  console.error(
    'build: dist/cli/medic.cjs resolves a path against its own location (new URL(…, import.meta.url)); use packageRoot() instead.',
  );
  process.exit(1);
}
console.log(`built dist/cli/medic.cjs in ${Math.round(performance.now() - started)} ms`);
