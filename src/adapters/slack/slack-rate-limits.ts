/**
 * Slack's published Web API limits, per app and workspace: each method has a tier (calls per
 * minute, short bursts allowed), and chat.postMessage has its own rule, about one message per
 * second per channel. The budget keeps under these; bursts are kept smaller than Slack tolerates
 * so that a burst of ours never meets a 429.
 */
export interface RateRule {
  /** Sustained rate. */
  perMinute: number;
  /** How many calls may go at once after a quiet spell. */
  burst: number;
}

export type SlackTier = 1 | 2 | 3 | 4;

export const TIER_RULES: Record<SlackTier, RateRule> = {
  1: { perMinute: 1, burst: 1 },
  2: { perMinute: 20, burst: 3 },
  3: { perMinute: 50, burst: 5 },
  4: { perMinute: 100, burst: 10 },
};

/** The tier of each method the bot calls; a method not listed is held to Tier 3. */
export const METHOD_TIERS: Readonly<Record<string, SlackTier>> = {
  'chat.update': 3,
  'chat.postEphemeral': 4,
  'chat.getPermalink': 4,
  'chat.delete': 3,
  'auth.test': 4,
  'usergroups.users.list': 2,
  'users.info': 4,
  'conversations.info': 3,
  'apps.connections.open': 1,
};

/** chat.postMessage: per channel, not per method. */
export const POST_MESSAGE_PER_CHANNEL: RateRule = { perMinute: 60, burst: 3 };

export const tierOf = (method: string): SlackTier => METHOD_TIERS[method] ?? 3;
