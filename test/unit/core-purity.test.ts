import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importsOf } from '../helpers/imports.ts';

/**
 * src/core is pure (STYLE.md habit 1): no I/O, no clock, no environment, no logger. This guard
 * reads every core source file and fails on an import of an I/O module or a use of the clock,
 * the environment or the console.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORE = join(ROOT, 'src/core');

/** Modules outside src/core that the core may use; they are held to the same rules below. */
const SHARED_PURE = ['src/errors.ts'];

const IO_BUILTINS = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'os',
  'readline',
  'worker_threads',
  'cluster',
  'process',
  'inspector',
];
const IO_PACKAGES = ['pino', 'pino-pretty', 'ioredis', 'bullmq', 'node-ssh', 'ssh2', 'prom-client', 'playwright-core'];

export function isForbidden(specifier: string): boolean {
  const bare = specifier.replace(/^node:/, '');
  if (IO_BUILTINS.includes(bare)) return true;
  if (specifier.startsWith('@slack/')) return true;
  return IO_PACKAGES.some((p) => specifier === p || specifier.startsWith(`${p}/`));
}

/** Uses of the clock, the environment, randomness or the console (not in comments, nor in quoted strings: `'process.max'` is a php-fpm setting). */
export function impurities(source: string): string[] {
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
  const patterns = [
    /\bprocess\.\w+/g,
    /\bDate\.now\s*\(/g,
    /\bnew Date\s*\(\s*\)/g,
    /\bMath\.random\s*\(/g,
    /\bperformance\.now\s*\(/g,
    /\bconsole\.\w+/g,
    /\bglobalThis\.fetch\b|\bfetch\s*\(/g,
  ];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[0]));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const files = [...sourceFiles(CORE), ...SHARED_PURE.map((n) => join(ROOT, n))].map((path) => ({
  path,
  name: relative(ROOT, path),
  source: readFileSync(path, 'utf8'),
}));
const pure = files;

describe('src/core is pure', () => {
  it('the guard itself recognises what it forbids', () => {
    expect(
      importsOf(
        "import { readFile } from 'node:fs/promises';\nimport type { Logger } from 'pino';\nconst m = await import('node:child_process');",
      ),
    ).toEqual(['node:fs/promises', 'pino', 'node:child_process']);
    expect(
      [
        'node:fs',
        'fs/promises',
        'net',
        'node:child_process',
        'ioredis',
        'bullmq',
        'node-ssh',
        '@slack/bolt',
        '@slack/web-api',
        'pino',
      ].filter((m) => !isForbidden(m)),
    ).toEqual([]);
    expect(['zod', 'yaml', '../causes.ts', 'node:url', 'node:path'].filter(isForbidden)).toEqual([]);
    expect(impurities('const t = Date.now(); // new Date()\nconst e = process.env.X;')).toEqual(['process.env', 'Date.now(']);
    // A quoted string is text, not a use; a template literal is still read (its expressions run).
    expect(impurities("const k = 'process.max'; const q = \"it's process.env\";")).toEqual([]);
    expect(impurities('const t = `${process.env.X}`;')).toEqual(['process.env']);
  });

  it('finds the core sources', () => {
    expect(pure.length).toBeGreaterThan(20);
    expect(pure.map((f) => f.name)).toContain('src/core/classifier/classify.ts');
  });

  it.each(pure.map((f) => [f.name, f] as const))(
    `%s imports no I/O module, and nothing outside src/core but ${SHARED_PURE.join(', ')}`,
    (_name, f) => {
      const specifiers = importsOf(f.source);
      expect(specifiers.filter(isForbidden)).toEqual([]);
      const outside = specifiers
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(dirname(f.path), s))
        .filter((p) => !p.startsWith(`${CORE}/`) && !SHARED_PURE.includes(relative(ROOT, p)));
      expect(outside).toEqual([]);
    },
  );

  it.each(pure.map((f) => [f.name, f] as const))('%s reads no clock, environment, randomness or console', (_name, f) => {
    expect(impurities(f.source)).toEqual([]);
  });
});
