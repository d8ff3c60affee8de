import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SlackBudget } from '../../src/adapters/slack/slack-budget.ts';

/**
 * The budget's order and pace, with a clock the test moves (fake timers and performance.now):
 * `send` records what goes out; no real time passes, so nothing depends on the machine's load.
 */
function harness(o: { rateLimitFirst?: string } = {}) {
  const sent: { method: string; args: Record<string, unknown> }[] = [];
  let limited = o.rateLimitFirst;
  const budget = new SlackBudget({
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    send: async (method, args) => {
      if (limited !== undefined && method === limited) {
        limited = undefined;
        throw Object.assign(new Error('rate limited'), { code: 'slack_webapi_rate_limited_error', retryAfter: 2 });
      }
      sent.push({ method, args });
      return { ok: true, ts: `1.${sent.length}` };
    },
  });
  return { budget, sent, advance: (ms: number) => vi.advanceTimersByTimeAsync(ms) };
}

describe('SlackBudget', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends what a person waits for first, then summaries, then bulk; first come first served within a priority', async () => {
    const { budget, sent, advance } = harness();
    const all = [
      budget.call('chat.postMessage', { channel: 'C1', text: 'bulk 1' }, 'bulk'),
      budget.call('chat.postMessage', { channel: 'C1', text: 'bulk 2' }, 'bulk'),
      budget.call('chat.postMessage', { channel: 'C1', text: 'normal' }, 'normal'),
      budget.call('chat.postMessage', { channel: 'C1', text: 'urgent' }, 'urgent'),
    ];
    // The first call went out before the others were handed in (concurrency 1), the rest by priority.
    await advance(1000);
    await Promise.all(all);
    expect(sent.map((s) => s.args.text)).toEqual(['bulk 1', 'urgent', 'normal', 'bulk 2']);
  });

  it('keeps chat.postMessage to a channel within its burst, then about one a second; other channels are not held up', async () => {
    const { budget, sent, advance } = harness();
    for (let i = 0; i < 5; i++) void budget.call('chat.postMessage', { channel: 'C1', text: `c1 ${i}` });
    void budget.call('chat.postMessage', { channel: 'C2', text: 'c2' });
    await advance(10);
    expect(sent.map((s) => s.args.text)).toEqual(['c1 0', 'c1 1', 'c1 2', 'c2']);
    await advance(1000);
    expect(sent.map((s) => s.args.text)).toEqual(['c1 0', 'c1 1', 'c1 2', 'c2', 'c1 3']);
    await advance(1000);
    expect(sent).toHaveLength(6);
    expect(budget.pending).toBe(0);
  });

  it('coalesces waiting updates of one message: the latest state is sent, every caller is answered', async () => {
    const { budget, sent, advance } = harness();
    // Tier 3 allows a burst of 5: use it up with other messages so the updates of m1 wait.
    for (let i = 0; i < 5; i++) void budget.call('chat.update', { channel: 'C1', ts: `other.${i}`, text: 'x' });
    const updates = [1, 2, 3, 4].map((i) => budget.call('chat.update', { channel: 'C1', ts: 'm1', text: `state ${i}` }));
    expect(budget.stats.coalesced).toBe(3);
    await advance(5000);
    await Promise.all(updates);
    expect(sent.filter((s) => s.args.ts === 'm1').map((s) => s.args.text)).toEqual(['state 4']);
  });

  it('a 429 shuts the method for Retry-After and the call goes again: answered, not failed', async () => {
    const { budget, sent, advance } = harness({ rateLimitFirst: 'chat.update' });
    const update = budget.call('chat.update', { channel: 'C1', ts: 'm1', text: 'after 429' });
    await advance(1900);
    expect(sent).toEqual([]);
    expect(budget.stats.rateLimited).toBe(1);
    await advance(200);
    await expect(update).resolves.toMatchObject({ ok: true });
    expect(sent.map((s) => s.args.text)).toEqual(['after 429']);
  });

  it('passes other errors to the caller', async () => {
    const budget = new SlackBudget({ logger: pino({ level: 'silent' }), send: () => Promise.reject(new Error('channel_not_found')) });
    await expect(budget.call('chat.postMessage', { channel: 'C1' })).rejects.toThrow('channel_not_found');
    await budget.idle();
  });
});
