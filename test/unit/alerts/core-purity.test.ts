import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../../src/core/alerts/', import.meta.url);

describe('src/core/alerts is pure', () => {
  it('imports no I/O, clock or logger', () => {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      for (const i of imports) expect(i, `${file} imports ${i}`).toMatch(/^(\.{1,2}\/|zod$)/);
      expect(text, file).not.toMatch(/Date\.now|new Date\(|process\.|console\./);
    }
  });
});
