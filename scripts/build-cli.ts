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
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * A module that the one-host commands load but never call, replaced by a stand-in that requires
 * the real one the first time it is called (in the bundle, a `require` runs where it is written).
 * `stub` is the stand-in's source, in which `require(REAL)` is the real module.
 */
function onFirstUse(name: string, stub: string, options: { external?: boolean } = {}): Plugin {
  const namespace = `${name}-on-first-use`;
  const filter = new RegExp(`^${name}$`);
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter }, (args) => {
        if (args.namespace !== namespace) return { path: name, namespace, pluginData: args.resolveDir };
        // From the stand-in: the real module, found from where it was first imported.
        return options.external === true ? { path: name, external: true } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace }, (args) => ({
        contents: stub.replaceAll('require(REAL)', `require(${JSON.stringify(name)})`),
        resolveDir: args.pluginData as string,
        loader: 'js',
      }));
    },
  };
}

/**
 * pino requires thread-stream (its transports' worker threads) when it loads, and with it
 * worker_threads: a module resolution in node_modules, four files compiled without the code
 * cache and two built-in modules, in every call. The command line writes its log to stderr
 * synchronously and starts no transport; the server roles do (pino-pretty), and get the real
 * thread-stream, required from node_modules (external: its worker is a file of its own) the
 * first time one is created. A constructor that returns an object makes `new` return it.
 */
const threadStreamOnUse = onFirstUse(
  'thread-stream',
  'let Real; module.exports = function ThreadStream(options) { Real ??= require(REAL); return new Real(options); };',
  { external: true },
);

/** node-ssh loads make-dir (and semver) for its directory downloads, which medic never does. */
const makeDirOnUse = onFirstUse(
  'make-dir',
  'module.exports = function makeDir(...a) { return require(REAL)(...a); }; module.exports.sync = (...a) => require(REAL).sync(...a);',
);

await rm(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
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
    // Started as worker threads from files of their own, found from their own folders
    // (thread-stream through the plugin below, when a transport is first created).
    'pino-pretty',
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
  plugins: [ssh2Unused, threadStreamOnUse, makeDirOnUse],
  // A smaller file (1.8 MB instead of 2.6, no comments) is quicker to read and to load from
  // the code cache on every call. Names are not minified: pino's error serializer, zod and
  // ssh2 read constructors' names, and stack traces keep them (esbuild's keepNames would
  // cost a defineProperty for every function it names, some in loops).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  metafile: true,
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
// V8 keeps a source with any non-ASCII character as two bytes a character: twice the memory,
// and slower to read and compile on every call. esbuild escapes strings but copies regular
// expressions as they are written: write such characters as \u escapes there.
const nonAscii = /[\u0080-\u{10ffff}]/u.exec(code);
if (nonAscii !== null) {
  console.error(
    `build: dist/cli/medic.cjs holds a non-ASCII character (${JSON.stringify(code.slice(Math.max(0, nonAscii.index - 60), nonAscii.index + 20))}); write it as a \\u escape in the source.`,
  );
  process.exit(1);
}
// The source files the bundle was built from: bin/entry.js runs the sources instead while any
// of them is newer than the bundle (or gone), without walking all of src/ on every call.
const sources = Object.keys(result.metafile.inputs)
  .filter((path) => path.startsWith('src/'))
  .sort();
await writeFile(join(out, 'medic.cjs.sources.json'), `${JSON.stringify(sources)}\n`);
console.log(`built dist/cli/medic.cjs in ${Math.round(performance.now() - started)} ms`);
