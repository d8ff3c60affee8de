import { describe, expect, it } from 'vitest';
import { NEAR_MISS_BYTES, NEAR_MISS_CASES } from '../helpers/near-miss-inputs.ts';

/**
 * Every parser and regex that reads host, Slack or alert text, fed a 100 KB near miss: the input
 * that made a backtracking regex retry from every position. Linear code takes milliseconds; the
 * bound only catches a return of polynomial or exponential behaviour (the quadratic cases took
 * seconds to minutes), so it holds on a loaded machine. `npm run bench` prints the real figures.
 */
const BOUND_MS = 2000;

describe(`near-miss inputs of ${NEAR_MISS_BYTES / 1024} KB cost what ordinary ones do`, () => {
  it.each(NEAR_MISS_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expect(c.nearMiss.length).toBeGreaterThan(0);
    await c.run(c.ordinary);
    const t0 = performance.now();
    await c.run(c.nearMiss);
    const ms = performance.now() - t0;
    expect(ms, `${c.name}: ${ms.toFixed(0)} ms`).toBeLessThan(BOUND_MS);
  });
});
