import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AfterAcks } from '../../src/adapters/slack/after-acks.ts';

describe('AfterAcks: work after an ack waits for the burst', () => {
  it('holds the work of a burst until the requests stop, then starts all of it together', async () => {
    const afterAcks = new AfterAcks({ quietMs: 5, maxDelayMs: 1000 });
    const started: number[] = [];
    const waits = [0, 1, 2].map((i) => afterAcks.wait().then(() => started.push(i)));
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([]); // not on the next turn of the loop: a request may still be unread
    // More requests keep coming within the quiet time: still nothing starts.
    for (let i = 3; i < 6; i++) {
      await sleep(1);
      waits.push(afterAcks.wait().then(() => started.push(i)));
      expect(started).toEqual([]);
    }
    await Promise.all(waits);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('lets a steady stream make progress: the first waiter starts within maxDelayMs', async () => {
    const afterAcks = new AfterAcks({ quietMs: 50, maxDelayMs: 20 });
    const t0 = performance.now();
    let firstStartedAt: number | undefined;
    const waits: Promise<void>[] = [];
    // A request every 2 ms for 100 ms: never quiet for 50 ms.
    while (performance.now() - t0 < 100) {
      waits.push(afterAcks.wait().then(() => void (firstStartedAt ??= performance.now() - t0)));
      await sleep(2);
    }
    expect(firstStartedAt).toBeDefined();
    expect(firstStartedAt).toBeLessThan(100);
    await Promise.all(waits);
  });

  it('starts a lone request after quietMs', async () => {
    const afterAcks = new AfterAcks({ quietMs: 3 });
    let started = false;
    const wait = afterAcks.wait().then(() => (started = true));
    expect(started).toBe(false);
    await wait;
    expect(started).toBe(true);
  });
});
