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

/** Slack's request signature, v0: `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret. */
export function slackSignature(signingSecret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
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
  // Both are `v0=` and 64 lowercase hex digits (SIGNATURE above), so of the same length.
  return timingSafeEqual(Buffer.from(slackSignature(signingSecret, r.timestamp, r.body)), Buffer.from(r.signature));
}
