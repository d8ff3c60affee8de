/** One line of the benchmark table: a figure of ours beside the baseline it is compared with. */
export interface Row {
  measure: string;
  medic: string;
  baseline: string;
  ratio: string;
  target: string;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export const ms = (x: number): string => `${x.toFixed(0)} ms`;

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function printTable(rows: readonly Row[]): string {
  const head: Row = { measure: 'measure', medic: 'gateway-medic', baseline: 'baseline', ratio: 'ratio', target: 'target' };
  const cols = Object.keys(head) as (keyof Row)[];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))])) as Record<keyof Row, number>;
  const line = (r: Row): string => `| ${cols.map((c) => r[c].padEnd(width[c])).join(' | ')} |`;
  return [line(head), `|${cols.map((c) => '-'.repeat(width[c] + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
