/**
 * Slack's Web API rate limits as Slack applies them, for the stand-in: every method has a tier
 * (calls per minute per app and workspace, with short bursts), chat.postMessage about one
 * message per second per channel. Past them Slack answers HTTP 429 with `Retry-After` (whole
 * seconds), and so does the stand-in. Kept apart from the bot's own budget on purpose: the
 * stand-in plays Slack, it does not share the bot's assumptions.
 */
export interface SlackRateLimitOptions {
  /** Multiplies every rate, so tests can run Slack's rules in less time. @defaultValue 1 */
  speedup?: number;
}

interface Rule {
  perMinute: number;
  burst: number;
}

const TIERS: Record<1 | 2 | 3 | 4, Rule> = {
  1: { perMinute: 1, burst: 2 },
  2: { perMinute: 20, burst: 5 },
  3: { perMinute: 50, burst: 8 },
  4: { perMinute: 100, burst: 20 },
};

const METHOD_TIER: Record<string, 1 | 2 | 3 | 4> = {
  'chat.update': 3,
  'chat.delete': 3,
  'chat.postEphemeral': 4,
  'chat.getPermalink': 4,
  'auth.test': 4,
  'usergroups.users.list': 2,
  'users.info': 4,
  'conversations.info': 3,
};

const POST_PER_CHANNEL: Rule = { perMinute: 60, burst: 5 };

/** Methods Slack meters differently (a connection, not a call) are not limited here. */
const UNMETERED = new Set(['apps.connections.open']);

export class SlackRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly speedup: number;

  constructor(
    options: SlackRateLimitOptions = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.speedup = options.speedup ?? 1;
  }

  /** Takes a call's token; returns the seconds to wait (for Retry-After) when there is none. */
  admit(method: string, channel: string | undefined): number | undefined {
    if (UNMETERED.has(method)) return undefined;
    const [key, rule] =
      method === 'chat.postMessage'
        ? [`channel:${channel ?? ''}`, POST_PER_CHANNEL]
        : [`method:${method}`, TIERS[METHOD_TIER[method] ?? 3]];
    const perMs = (rule.perMinute * this.speedup) / 60_000;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: rule.burst, at: now };
    b.tokens = Math.min(rule.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }
}
