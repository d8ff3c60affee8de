import { createConnection, createServer, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AfterAcks } from '../../src/adapters/slack/after-acks.ts';

describe('AfterAcks in the real event loop', () => {
  it('goes on waiting when a request is read in the same loop turn its timer fired (timers run before sockets are read)', async () => {
    const afterAcks = new AfterAcks({ quietMs: 50, maxDelayMs: 10_000 });
    const started: string[] = [];
    const server = createServer((socket) => socket.once('data', () => void afterAcks.wait().then(() => started.push('second'))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise((resolve) => server.once('connection', resolve));
    const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    await accepted;
    void afterAcks.wait().then(() => started.push('first'));
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
    const waits = [0, 1, 2].map((i) => afterAcks.wait().then(() => started.push(i)));
    await advance(0);
    expect(started).toEqual([]);
    // A request every 4 ms: never 5 ms of quiet, so nothing starts.
    for (let i = 3; i < 10; i++) {
      await advance(4);
      waits.push(afterAcks.wait().then(() => started.push(i)));
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
      void afterAcks.wait().then(() => void (firstStartedAt ??= performance.now() - t0));
      await advance(2);
    }
    expect(firstStartedAt).toBeDefined();
    expect(firstStartedAt).toBeGreaterThanOrEqual(20);
    expect(firstStartedAt).toBeLessThanOrEqual(24);
  });

  it('starts a lone request after quietMs', async () => {
    const afterAcks = new AfterAcks({ quietMs: 3 });
    let started = false;
    void afterAcks.wait().then(() => (started = true));
    await advance(2);
    expect(started).toBe(false);
    await advance(1);
    expect(started).toBe(true);
  });
});
