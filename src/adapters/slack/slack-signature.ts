import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack retries within minutes; an older signed request is a replay. */
const MAX_SKEW_SEC = 5 * 60;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

export interface SignedSlackRequest {
  body: string;
  /** The `x-slack-signature` header, `v0=` and 64 hex digits. */
  signature: string | undefined;
  /** The `x-slack-request-timestamp` header, in seconds. */
  timestamp: string | undefined;
}

/**
 * Slack's request signing, v0: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing
 * secret, and a timestamp within 5 minutes of ours (either way: a clock ahead of Slack's is not a
 * reason to take a replay). One HMAC and a constant-time compare of the two digests. Bolt's own
 * check (tsscmp) draws 32 random bytes and computes two more HMACs per request, which was a third
 * of what answering a slash command cost before its ack.
 */
export function isSignedBySlack(signingSecret: string, r: SignedSlackRequest, nowMs: number = Date.now()): boolean {
  if (r.timestamp === undefined || r.signature === undefined) return false;
  if (!TIMESTAMP.test(r.timestamp) || !SIGNATURE.test(r.signature)) return false;
  if (Math.abs(Math.floor(nowMs / 1000) - Number(r.timestamp)) > MAX_SKEW_SEC) return false;
  const ours = createHmac('sha256', signingSecret).update(`v0:${r.timestamp}:${r.body}`).digest();
  return timingSafeEqual(ours, Buffer.from(r.signature.slice(3), 'hex'));
}
