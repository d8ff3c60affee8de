import { NEAR_MISS_BYTES, NEAR_MISS_CASES } from '../test/helpers/near-miss-inputs.ts';
import { type Row, median } from './bench-table.ts';

async function time(run: () => unknown, rounds: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await run();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

/**
 * What a hostile host, Slack user or alert can cost us: each parser and regex that reads their
 * text, fed a 100 KB near miss (the input that made a backtracking regex retry from every
 * position), against an ordinary input of the same size. The test suite holds a generous bound;
 * these are the real figures.
 */
export async function benchHostileInput(rounds = 5): Promise<Row[]> {
  const results: { name: string; nearMiss: number; ordinary: number }[] = [];
  for (const c of NEAR_MISS_CASES) {
    await c.run(c.ordinary); // warm up the code path
    results.push({
      name: c.name,
      nearMiss: await time(() => c.run(c.nearMiss), rounds),
      ordinary: await time(() => c.run(c.ordinary), rounds),
    });
  }
  const worst = results.reduce((a, b) => (b.nearMiss > a.nearMiss ? b : a));
  const total = results.reduce((s, r) => s + r.nearMiss, 0);
  const totalOrdinary = results.reduce((s, r) => s + r.ordinary, 0);
  const f = (x: number): string => `${x.toFixed(1)} ms`;
  return [
    {
      measure: `${NEAR_MISS_BYTES / 1024} KB near-miss inputs, ${results.length} parsers and regexes: the slowest (${worst.name}; median of ${rounds})`,
      medic: f(worst.nearMiss),
      baseline: `${f(worst.ordinary)} (an ordinary input of the same size)`,
      ratio: `${(worst.nearMiss / Math.max(worst.ordinary, 0.01)).toFixed(1)}x`,
      target: `< 50 ms: ${worst.nearMiss < 50 ? 'met' : 'MISSED'}`,
    },
    {
      measure: `the same, all ${results.length} near misses one after another`,
      medic: f(total),
      baseline: `${f(totalOrdinary)} (ordinary inputs)`,
      ratio: `${(total / Math.max(totalOrdinary, 0.01)).toFixed(1)}x`,
      target: '',
    },
  ];
}
