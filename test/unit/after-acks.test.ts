import { createConnection, createServer, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AfterAcks } from '../../src/adapters/slack/after-acks.ts';

describe('AfterAcks in the real event loop', () => {
  it('goes on waiting when a request is read in the same loop turn its timer fired (timers run before sockets are read)', async () => {
    const afterAcks = new AfterAcks({ quietMs: 50, maxDelayMs: 10_000 });
    const started: string[] = [];
    const server = createServer((socket) => socket.once('data', () => void afterAcks.run(async () => void started.push('second'))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise((resolve) => server.once('connection', resolve));
    const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    await accepted;
    void afterAcks.run(async () => void started.push('first'));
    // Busy for 60 ms: when the loop turns again, the timer is overdue and the request is unread.
    client.write('request');
    const until = performance.now() + 60;
    while (performance.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(started).toEqual([]); // the timer fired, saw the request read after it, and waits on
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(started).toEqual(['first', 'second']);
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
});

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs what is due after `ms`, including the setImmediate that follows a timer. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await immediate();
  await immediate();
}

describe('AfterAcks: work after an ack waits for the burst', () => {
  // Fake timers: the test moves the clock itself, so a busy machine cannot change what it sees.
  // setImmediate stays real: the fake one waits for the next millisecond, the real one does not.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds the work of a burst while requests keep coming, then starts all of it together', async () => {
    const afterAcks = new AfterAcks({ quietMs: 5, maxDelayMs: 1000 });
    const started: number[] = [];
    const waits = [0, 1, 2].map((i) => afterAcks.run(async () => void started.push(i)));
    await advance(0);
    expect(started).toEqual([]);
    // A request every 4 ms: never 5 ms of quiet, so nothing starts.
    for (let i = 3; i < 10; i++) {
      await advance(4);
      waits.push(afterAcks.run(async () => void started.push(i)));
      expect(started).toEqual([]);
    }
    await advance(5);
    await Promise.all(waits);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('lets a steady stream make progress: the first waiters start after maxDelayMs', async () => {
    const afterAcks = new AfterAcks({ quietMs: 50, maxDelayMs: 20 });
    let firstStartedAt: number | undefined;
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      void afterAcks.run(async () => void (firstStartedAt ??= performance.now() - t0));
      await advance(2);
    }
    expect(firstStartedAt).toBeDefined();
    expect(firstStartedAt).toBeGreaterThanOrEqual(20);
    expect(firstStartedAt).toBeLessThanOrEqual(24);
  });

  it('starts a lone request after quietMs', async () => {
    const afterAcks = new AfterAcks({ quietMs: 3 });
    let started = false;
    void afterAcks.run(async () => void (started = true));
    await advance(2);
    expect(started).toBe(false);
    await advance(1);
    expect(started).toBe(true);
  });
});

describe('AfterAcks: the work of a burst runs a few pieces at a time', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A piece of work that runs until the test ends it. */
  const piece = (started: number[], i: number, ends: Map<number, () => void>) => () =>
    new Promise<void>((resolve) => {
      started.push(i);
      ends.set(i, resolve);
    });

  it('starts at most `concurrency` pieces; each one that ends lets the next start', async () => {
    const afterAcks = new AfterAcks({ quietMs: 3, concurrency: 2, slotMs: 10_000 });
    const started: number[] = [];
    const ends = new Map<number, () => void>();
    const runs = [0, 1, 2, 3, 4].map((i) => afterAcks.run(piece(started, i, ends)));
    await advance(3);
    expect(started).toEqual([0, 1]);
    ends.get(0)?.();
    await advance(0);
    expect(started).toEqual([0, 1, 2]);
    for (const i of [1, 2, 3, 4]) {
      ends.get(i)?.();
      await advance(0);
    }
    await Promise.all(runs);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('a new request holds back the next pieces while the ones under way go on', async () => {
    const afterAcks = new AfterAcks({ quietMs: 3, maxDelayMs: 1000, concurrency: 1, slotMs: 10_000 });
    const started: number[] = [];
    const ends = new Map<number, () => void>();
    void afterAcks.run(piece(started, 0, ends));
    void afterAcks.run(piece(started, 1, ends));
    await advance(3);
    expect(started).toEqual([0]);
    // A connection comes in, then the piece under way ends: the next one waits for quiet.
    afterAcks.arrived();
    ends.get(0)?.();
    await advance(1);
    expect(started).toEqual([0]);
    await advance(2);
    expect(started).toEqual([0, 1]);
  });

  it('a piece still running after slotMs (waiting on Slack) frees its place', async () => {
    const afterAcks = new AfterAcks({ quietMs: 3, concurrency: 1, slotMs: 50 });
    const started: number[] = [];
    const ends = new Map<number, () => void>();
    void afterAcks.run(piece(started, 0, ends));
    void afterAcks.run(piece(started, 1, ends));
    await advance(3);
    expect(started).toEqual([0]);
    await advance(49);
    expect(started).toEqual([0]);
    await advance(1);
    expect(started).toEqual([0, 1]);
    // Ending late does not free a second place.
    ends.get(0)?.();
    void afterAcks.run(piece(started, 2, ends));
    await advance(3);
    expect(started).toEqual([0, 1]);
  });

  it('passes on what the work returns or throws', async () => {
    const afterAcks = new AfterAcks({ quietMs: 1 });
    const ok = afterAcks.run(async () => 42);
    const failed = afterAcks.run(async () => {
      throw new Error('redis is down');
    });
    const failedSeen = expect(failed).rejects.toThrow('redis is down');
    await advance(1);
    expect(await ok).toBe(42);
    await failedSeen;
  });
});
