import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript (bin/ runs before any TypeScript loader); typed by its JSDoc
import { chooseEntry } from '../../bin/entry.js';

const choose = chooseEntry as (root: URL) => { kind: 'built' | 'source'; url: string };

describe('which code `medic` runs', () => {
  let root: string;
  const at = (path: string, seconds: number) => utimes(join(root, path), seconds, seconds);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'medic-entry-'));
    await mkdir(join(root, 'src', 'cli'), { recursive: true });
    await mkdir(join(root, 'src', 'core', 'report'), { recursive: true });
    await writeFile(join(root, 'src', 'cli', 'main.ts'), '');
    await writeFile(join(root, 'src', 'core', 'report', 'render.ts'), '');
    await at('src/cli/main.ts', 1000);
    await at('src/core/report/render.ts', 1000);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const url = () => new URL(`${pathToFileURL(root).href}/`);

  it('runs the sources when nothing was built', () => {
    expect(choose(url())).toEqual({ kind: 'source', url: `${url().href}src/cli/main.ts` });
  });

  it('runs the precompiled command line while it is newer than every source file', async () => {
    await mkdir(join(root, 'dist', 'cli'), { recursive: true });
    await writeFile(join(root, 'dist', 'cli', 'medic.cjs'), '');
    await at('dist/cli/medic.cjs', 2000);
    expect(choose(url())).toEqual({ kind: 'built', url: `${url().href}dist/cli/medic.cjs` });
  });

  it('runs the sources again once any source file, however deep, is newer than the build', async () => {
    await mkdir(join(root, 'dist', 'cli'), { recursive: true });
    await writeFile(join(root, 'dist', 'cli', 'medic.cjs'), '');
    await at('dist/cli/medic.cjs', 2000);
    await at('src/core/report/render.ts', 3000);
    expect(choose(url()).kind).toBe('source');
  });

  describe('with the list of sources the build wrote', () => {
    const built = async (sources: unknown) => {
      await mkdir(join(root, 'dist', 'cli'), { recursive: true });
      await writeFile(join(root, 'dist', 'cli', 'medic.cjs'), '');
      await writeFile(join(root, 'dist', 'cli', 'medic.cjs.sources.json'), JSON.stringify(sources));
      await at('dist/cli/medic.cjs', 2000);
    };

    it('runs the build while every listed source is older, whatever else src/ holds', async () => {
      await built(['src/cli/main.ts']);
      // Not part of the command line (e.g. the lab): not looked at.
      await at('src/core/report/render.ts', 3000);
      expect(choose(url())).toEqual({ kind: 'built', url: `${url().href}dist/cli/medic.cjs` });
    });

    it('runs the sources once a listed source is newer than the build', async () => {
      await built(['src/cli/main.ts', 'src/core/report/render.ts']);
      await at('src/core/report/render.ts', 3000);
      expect(choose(url()).kind).toBe('source');
    });

    it('runs the sources when a listed source is gone', async () => {
      await built(['src/cli/main.ts', 'src/core/report/gone.ts']);
      expect(choose(url()).kind).toBe('source');
    });

    it('walks src/ when the list is not a list', async () => {
      await built({ not: 'a list' });
      await at('src/core/report/render.ts', 3000);
      expect(choose(url()).kind).toBe('source');
    });
  });
});
