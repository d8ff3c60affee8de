import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importsOf } from '../helpers/imports.ts';

/**
 * Which way the arrows point in src/: the core depends on nothing around it, the jobs depend
 * only on the core and on the ports they declare, adapters never reach up to the app that
 * wires them, the command line's commands never reach back into its entry point, and no
 * module takes part in an import cycle (type-only imports included).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each source file (relative to the repo) and the source files it imports, static or dynamic. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const path of sourceFiles(join(ROOT, 'src'))) {
    const deps = importsOf(readFileSync(path, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => relative(ROOT, resolve(dirname(path), s)));
    graph.set(relative(ROOT, path), deps);
  }
  return graph;
}

/** Every strongly connected group of more than one module (or a module importing itself). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph();
const importers = (from: (file: string) => boolean, to: (dep: string) => boolean): string[] =>
  [...graph].flatMap(([file, deps]) => (from(file) ? deps.filter(to).map((d) => `${file} → ${d}`) : []));

describe('layering of src/', () => {
  it('the cycle finder finds a cycle, and only a cycle', () => {
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
    expect(cycles(new Map([['a', ['a']]]))).toEqual([['a']]);
  });

  it('sees the whole tree', () => {
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get('src/cli/main.ts')).toContain('src/cli/commands/diagnose.ts');
  });

  it('no import cycles anywhere in src/', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('the core imports nothing outside src/core but the shared error type', () => {
    expect(
      importers(
        (f) => f.startsWith('src/core/'),
        (d) => !d.startsWith('src/core/') && d !== 'src/errors.ts',
      ),
    ).toEqual([]);
  });

  it('jobs import only the core, the error type and their own folder (their ports), never an adapter', () => {
    expect(
      importers(
        (f) => f.startsWith('src/jobs/'),
        (d) => !d.startsWith('src/core/') && !d.startsWith('src/jobs/') && d !== 'src/errors.ts',
      ),
    ).toEqual([]);
  });

  it('adapters never import the app or the entry point that wire them', () => {
    expect(
      importers(
        (f) => f.startsWith('src/adapters/'),
        (d) => d === 'src/app.ts' || d === 'src/main.ts',
      ),
    ).toEqual([]);
  });

  it("the command line's commands never import its entry point", () => {
    expect(
      importers(
        (f) => f.startsWith('src/cli/commands/'),
        (d) => d === 'src/cli/main.ts',
      ),
    ).toEqual([]);
  });
});
