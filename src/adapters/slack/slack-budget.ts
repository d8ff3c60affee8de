import type { Logger } from 'pino';
import { POST_MESSAGE_PER_CHANNEL, TIER_RULES, tierOf, type RateRule } from './slack-rate-limits.ts';
import type { ChatApi, SlackPriority } from './chat-api.ts';

export type { SlackPriority } from './chat-api.ts';

const RANK: Record<SlackPriority, number> = { urgent: 0, normal: 1, bulk: 2 };

type Args = Record<string, unknown>;

export interface SlackBudgetOptions {
  /** Sends one call. A 429 must reject with `code: 'slack_webapi_rate_limited_error'` and `retryAfter` (seconds), as @slack/web-api does with `rejectRateLimitedCalls`. */
  send: (method: string, args: Args) => Promise<unknown>;
  logger: Logger;
  /** Multiplies every rate (tests and the benchmark run Slack's rules faster). @defaultValue 1 */
  speedup?: number;
  /** At most this many calls in flight at once. @defaultValue 8 */
  concurrency?: number;
  /** @defaultValue performance.now */
  now?: () => number;
}

/** Refills continuously up to `burst`; a 429 shuts it until Slack's Retry-After has passed. */
class TokenBucket {
  private tokens: number;
  private at: number;
  private blockedUntil = 0;
  private readonly perMs: number;

  constructor(
    rule: RateRule,
    speedup: number,
    now: number,
    private readonly burst = rule.burst,
  ) {
    this.perMs = (rule.perMinute * speedup) / 60_000;
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, now - this.at) * this.perMs);
    this.at = Math.max(this.at, now);
  }

  /** How long until a call may go (0: now). */
  waitMs(now: number): number {
    if (now < this.blockedUntil) return this.blockedUntil - now;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }

  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  /** Shut until `until`; then one call may go (the one Slack refused), the rest at the sustained rate. */
  block(until: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, until);
    this.tokens = 1;
    this.at = Math.max(this.at, this.blockedUntil);
  }
}

interface Pending {
  method: string;
  args: Args;
  priority: SlackPriority;
  seq: number;
  buckets: string[];
  /** chat.update of one message: a newer state replaces one still waiting. */
  coalesce?: string;
  waiters: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[];
}

const isRateLimited = (e: unknown): e is { retryAfter: number } =>
  typeof e === 'object' &&
  e !== null &&
  (e as { code?: unknown }).code === 'slack_webapi_rate_limited_error' &&
  typeof (e as { retryAfter?: unknown }).retryAfter === 'number';

/**
 * The one place that decides the order and pace of the bot's Web API calls: a token bucket per
 * method tier and, for chat.postMessage, per channel; calls wait their turn in priority order
 * (then first come, first served); a waiting chat.update of a message is replaced by a newer
 * one (the latest state wins) and two updates of one message never fly at once, so they cannot
 * land out of order. A 429 is not a failure: the bucket stays shut for Slack's Retry-After and
 * the call goes again.
 */
export class SlackBudget {
  /** Calls sent, by method, and 429s met: for logs, metrics and the benchmark. */
  readonly stats = { sent: {} as Record<string, number>, rateLimited: 0, coalesced: 0 };
  private readonly queue: Pending[] = [];
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly busy = new Set<string>();
  private readonly idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly speedup: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(private readonly o: SlackBudgetOptions) {
    this.speedup = o.speedup ?? 1;
    this.concurrency = o.concurrency ?? 8;
    this.now = o.now ?? (() => performance.now());
  }

  call<T = unknown>(method: string, args: Args, priority: SlackPriority = 'normal'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = { resolve: resolve as (v: unknown) => void, reject };
      const channel = typeof args.channel === 'string' ? args.channel : '';
      const coalesce = method === 'chat.update' ? `${channel}/${String(args.ts)}` : undefined;
      if (coalesce !== undefined) {
        const waiting = this.queue.find((p) => p.coalesce === coalesce);
        if (waiting !== undefined) {
          waiting.args = args;
          if (RANK[priority] < RANK[waiting.priority]) waiting.priority = priority;
          waiting.waiters.push(waiter);
          this.stats.coalesced += 1;
          return;
        }
      }
      const buckets = method === 'chat.postMessage' ? [`channel:${channel}`] : [`method:${method}`];
      this.queue.push({
        method,
        args,
        priority,
        seq: this.seq++,
        buckets,
        ...(coalesce !== undefined ? { coalesce } : {}),
        waiters: [waiter],
      });
      this.pump();
    });
  }

  /** The chat methods the reports use, at one priority. */
  chat(priority: SlackPriority): ChatApi {
    return {
      chat: {
        postMessage: (args) => this.call('chat.postMessage', args, priority),
        update: (args) => this.call('chat.update', args, priority),
        postEphemeral: (args) => this.call('chat.postEphemeral', args, priority),
        getPermalink: (args) => this.call('chat.getPermalink', args, priority),
      },
    };
  }

  /** Calls waiting or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves once every call handed in so far has been answered. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private bucket(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      const rule = key.startsWith('channel:') ? POST_MESSAGE_PER_CHANNEL : TIER_RULES[tierOf(key.slice('method:'.length))];
      b = new TokenBucket(rule, this.speedup, this.now());
      this.buckets.set(key, b);
    }
    return b;
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const now = this.now();
      let best: Pending | undefined;
      let soonest = Number.POSITIVE_INFINITY;
      for (const p of this.queue) {
        if (p.coalesce !== undefined && this.busy.has(p.coalesce)) continue;
        const wait = Math.max(...p.buckets.map((k) => this.bucket(k).waitMs(now)));
        if (wait > 0) {
          soonest = Math.min(soonest, wait);
          continue;
        }
        if (best === undefined || RANK[p.priority] < RANK[best.priority] || (RANK[p.priority] === RANK[best.priority] && p.seq < best.seq))
          best = p;
      }
      if (best === undefined) {
        // Nothing may go yet: wake when the first bucket refills (an answer in flight also wakes us).
        if (Number.isFinite(soonest)) this.timer = setTimeout(() => this.pump(), soonest);
        return;
      }
      this.queue.splice(this.queue.indexOf(best), 1);
      for (const k of best.buckets) this.bucket(k).take(now);
      void this.dispatch(best);
    }
  }

  private async dispatch(p: Pending): Promise<void> {
    this.inFlight += 1;
    if (p.coalesce !== undefined) this.busy.add(p.coalesce);
    try {
      const res = await this.o.send(p.method, p.args);
      this.stats.sent[p.method] = (this.stats.sent[p.method] ?? 0) + 1;
      for (const w of p.waiters) w.resolve(res);
    } catch (e) {
      this.stats.sent[p.method] = (this.stats.sent[p.method] ?? 0) + 1;
      if (isRateLimited(e)) this.retryLater(p, e.retryAfter);
      else for (const w of p.waiters) w.reject(e);
    } finally {
      this.inFlight -= 1;
      if (p.coalesce !== undefined) this.busy.delete(p.coalesce);
      this.pump();
      if (this.pending === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Slack said 429: shut the bucket for Retry-After and queue the call again, in its old place. */
  private retryLater(p: Pending, retryAfterSec: number): void {
    this.stats.rateLimited += 1;
    const until = this.now() + Math.max(1, retryAfterSec) * 1000;
    for (const k of p.buckets) this.bucket(k).block(until);
    this.o.logger.info({ method: p.method, retryAfterSec, waiting: this.queue.length }, 'Slack rate limit: waiting as Slack asks');
    const newer = p.coalesce === undefined ? undefined : this.queue.find((q) => q.coalesce === p.coalesce);
    if (newer !== undefined) {
      newer.waiters.push(...p.waiters);
      if (RANK[p.priority] < RANK[newer.priority]) newer.priority = p.priority;
      return;
    }
    this.queue.push(p);
  }
}
