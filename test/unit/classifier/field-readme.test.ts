import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFieldFile } from './field-cases.ts';
import { readFixture } from './fixtures.ts';

/**
 * The field fixtures' README says what the files hold: the counts per kind, the verdicts of each
 * table and the address of every report the tables quote. This keeps it true as lines are added.
 */

const README = readFixture('field/README.md');
const TABLES = readdirSync(new URL('../../fixtures/field/', import.meta.url))
  .filter((f) => f.endsWith('.lines'))
  .sort();
const cases = (file: string) => parseFieldFile(readFixture(`field/${file}`));
const lineCount = (file: string): number => {
  if (file.endsWith('.lines')) return cases(file).length;
  return readFixture(`field/${file}`)
    .split('\n')
    .filter((l) => l.trim() !== '').length;
};
const section = (heading: string): string => {
  const start = README.indexOf(heading);
  const end = README.indexOf('\n#', start + heading.length);
  return README.slice(start, end === -1 ? undefined : end);
};

describe('the field fixtures README', () => {
  it('counts every kind of line as the files hold them, and the total', () => {
    const rows = [...section('## Counts').matchAll(/^\| [^|]+ \| ([^|]*) \| ([\d +]+) \|$/gm)];
    let sum = 0;
    const counted = new Set<string>();
    for (const [, files = '', numbers = ''] of rows) {
      const names = [...files.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
      if (names.length === 0) {
        expect(Number(numbers), 'the total').toBe(sum);
        continue;
      }
      expect(
        numbers.split('+').map((n) => Number(n.trim())),
        files,
      ).toEqual(names.map(lineCount));
      names.forEach((n) => counted.add(n));
      sum += names.map(lineCount).reduce((a, b) => a + b, 0);
    }
    expect([...counted].filter((f) => f.endsWith('.lines')).sort()).toEqual(TABLES);
    expect(sum).toBeGreaterThanOrEqual(300);
  });

  it("the project's docs give the same total", () => {
    const main = readFileSync(new URL('../../../docs/command-line.md', import.meta.url), 'utf8');
    expect(/held, line by line, to (\d+) real lines/.exec(main.replace(/\s+/g, ' '))?.[1]).toBe(String(allLines().length));
  });

  it('says how many of the lines are distinct', () => {
    const all = allLines().map((l) => l.trim());
    const m = /(\d+) of the (\d+) are distinct/.exec(README);
    expect(m?.slice(1, 3).map(Number)).toEqual([new Set(all).size, all.length]);
  });

  it.each(TABLES)('%s: the verdicts and their counts', (file) => {
    const table = [...section(`### \`${file}\``).matchAll(/^\| `([^`]+)` \| (\d+) \|$/gm)].map((m) => [m[1], Number(m[2])]);
    const counts = new Map<string, number>();
    for (const c of cases(file)) {
      const head = [`${c.cause}${c.severity === (c.cause === 'healthy' ? 'info' : 'critical') ? '' : `:${c.severity}`}`, ...c.context].join(
        ' ',
      );
      counts.set(head, (counts.get(head) ?? 0) + 1);
    }
    expect(new Map(table as [string, number][])).toEqual(counts);
  });

  it('lists the address of every report the tables quote, and no other', () => {
    const listed = [...section('## Addresses of the tables').matchAll(/^- (\S+) \(/gm)].map((m) => m[1]);
    const quoted = new Set(TABLES.flatMap((f) => cases(f).map((c) => c.source.split(' ')[0] as string)));
    expect(new Set(listed)).toEqual(quoted);
    expect(listed.length).toBe(quoted.size);
    expect(/The tables quote (\d+) reports/.exec(README)?.[1]).toBe(String(quoted.size));
  });
});

/** Every real line from public reports: the tables' lines and the other programs' log files. */
function allLines(): string[] {
  const logs = ['php-fpm.log', 'kernel.log', 'gunicorn.log', 'uwsgi.log', 'audit-avc.log'];
  return [
    ...TABLES.flatMap((f) => cases(f).map((c) => c.line)),
    ...logs.flatMap((f) =>
      readFixture(`field/${f}`)
        .split('\n')
        .filter((l) => l.trim() !== ''),
    ),
  ];
}
