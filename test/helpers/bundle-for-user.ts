import { build } from 'esbuild';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One program (a TypeScript entry and everything it imports) bundled into a single file in a
 * world-readable temp dir, for tests that run it as another user (`nobody`): that user may not
 * enter the checkout (a clone under /root or any 0700 directory), so node_modules/.bin/tsx and
 * the sources are out of its reach, while node and this file are not.
 */
export async function bundleForUser(entry: string): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-bundle-'));
  await chmod(dir, 0o755);
  const file = join(dir, 'main.mjs');
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Native addons (ssh2's optional crypto binding) stay out: their loaders fall back without them.
    external: ['*.node', 'cpu-features'],
    // CommonJS dependencies use require() and __dirname: give the ESM bundle both.
    banner: {
      js: [
        "import { createRequire as __medicRequire } from 'node:module';",
        "import { dirname as __medicDirname } from 'node:path';",
        "import { fileURLToPath as __medicFilePath } from 'node:url';",
        'const require = __medicRequire(import.meta.url);',
        'const __filename = __medicFilePath(import.meta.url);',
        'const __dirname = __medicDirname(__filename);',
      ].join('\n'),
    },
    logLevel: 'error',
  });
  await chmod(file, 0o644);
  // The program finds its package root by our package.json (packageRoot()); this dir stands in for it.
  await copyFile(new URL('../../package.json', import.meta.url), join(dir, 'package.json'));
  await chmod(join(dir, 'package.json'), 0o644);
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}
