import { describe, expect, it } from 'vitest';
import { LatestRun } from '../../src/adapters/slack/latest-run.ts';

/** A run the test finishes by hand: no timers. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

describe('LatestRun', () => {
  it('folds the requests made during a run into one more run, and answers each after a run that started after it asked', async () => {
    const latest = new LatestRun();
    const started: number[] = [];
    const gates = [gate(), gate()];
    let n = 0;
    const fn = async (): Promise<void> => {
      const i = n++;
      started.push(i);
      await gates[i]?.opened;
    };
    let firstDone = false;
    const first = latest.run('k', fn).then(() => (firstDone = true));
    await new Promise((r) => setImmediate(r));
    const later = [1, 2, 3, 4].map(() => latest.run('k', fn));
    expect(new Set(later).size).toBe(1);
    expect(started).toEqual([0]);
    gates[0]?.open();
    await first;
    expect(firstDone).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await Promise.all(later);
    expect(started).toEqual([0, 1]);
  });

  it('runs keys independently, and a failed run rejects only its callers', async () => {
    const latest = new LatestRun();
    await expect(latest.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    let ran = 0;
    await latest.run('a', async () => void ran++);
    await latest.run('b', async () => void ran++);
    expect(ran).toBe(2);
  });
});
