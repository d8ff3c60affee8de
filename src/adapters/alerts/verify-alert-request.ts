import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** How alert webhooks prove who they are. At least one must be set for the routes to accept anything. */
export interface AlertAuthOptions {
  /** `Authorization: Bearer <token>` (MEDIC_ALERT_TOKEN). Alertmanager: `http_config.authorization.credentials`. */
  token?: string | undefined;
  /**
   * Shared secret for signed requests (MEDIC_ALERT_HMAC_SECRET): `X-Medic-Timestamp` (Unix
   * seconds) and `X-Medic-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, or
   * Grafana's own `X-Grafana-Alerting-Signature` (hex HMAC of "<timestamp>:<body>") with its
   * timestamp header set to `X-Grafana-Alerting-Timestamp`.
   */
  hmacSecret?: string | undefined;
  /** Signed requests older than this are refused as replays. @defaultValue 300 (seconds) */
  toleranceSeconds?: number;
  /**
   * Signed requests stamped further ahead of our clock than this are refused: a future
   * timestamp would stretch the replay window. Only clock skew is allowed. @defaultValue 30 (seconds)
   */
  futureSkewSeconds?: number;
}

export type AuthFailure =
  'not_configured' | 'missing_credentials' | 'bad_token' | 'bad_signature' | 'stale_timestamp' | 'future_timestamp' | 'replayed';

export type AuthResult = { ok: true; method: 'bearer' | 'hmac' | 'grafana_hmac' } | { ok: false; reason: AuthFailure; message: string };

const DEFAULT_TOLERANCE_SECONDS = 300;
const DEFAULT_FUTURE_SKEW_SECONDS = 30;

/** How long a signature must be remembered to refuse it again: as long as its timestamp is accepted. */
export const signatureWindowMs = (options: AlertAuthOptions): number =>
  ((options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS) + (options.futureSkewSeconds ?? DEFAULT_FUTURE_SKEW_SECONDS)) * 1000;

/** Equal-time comparison of secrets of any length: both sides are hashed to 32 bytes first. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const fail = (reason: AuthFailure, message: string): AuthResult => ({ ok: false, reason, message });

/**
 * Checks the bearer token alone, before the body is read, so an unauthenticated sender cannot
 * make us buffer a megabyte. `undefined` means "no bearer header: check a signature after reading".
 */
export function verifyBearer(headers: IncomingHttpHeaders, options: AlertAuthOptions): AuthResult | undefined {
  const authorization = header(headers, 'authorization');
  if (authorization === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (m === null) return fail('bad_token', 'Authorization must be "Bearer <MEDIC_ALERT_TOKEN>"');
  if (options.token === undefined) return fail('bad_token', 'bearer tokens are not accepted: MEDIC_ALERT_TOKEN is not set');
  return safeEqual(m[1] as string, options.token) ? { ok: true, method: 'bearer' } : fail('bad_token', 'the bearer token is wrong');
}

function checkTimestamp(
  raw: string | undefined,
  nowMs: number,
  toleranceSeconds: number,
  futureSkewSeconds: number,
): AuthResult | undefined {
  if (raw === undefined || !/^\d{1,12}$/.test(raw.trim())) {
    return fail('bad_signature', 'the signature timestamp is missing or not Unix seconds');
  }
  const age = nowMs / 1000 - Number(raw.trim());
  if (age > toleranceSeconds) return fail('stale_timestamp', `the signature timestamp is more than ${toleranceSeconds}s old`);
  if (-age > futureSkewSeconds)
    return fail('future_timestamp', `the signature timestamp is more than ${futureSkewSeconds}s in the future: check the sender's clock`);
  return undefined;
}

function hmacHex(secret: string, prefix: string, body: Buffer): string {
  return createHmac('sha256', secret).update(prefix).update(body).digest('hex');
}

/**
 * Authenticates an alert webhook request: a bearer token, or an HMAC signature over the raw
 * body within a timestamp window. `nowMs` is an argument so that the window is testable.
 */
export function verifyAlertRequest(headers: IncomingHttpHeaders, rawBody: Buffer, options: AlertAuthOptions, nowMs: number): AuthResult {
  if (options.token === undefined && options.hmacSecret === undefined) {
    return fail('not_configured', 'alert webhooks are disabled: set MEDIC_ALERT_TOKEN or MEDIC_ALERT_HMAC_SECRET');
  }
  const bearer = verifyBearer(headers, options);
  if (bearer !== undefined) return bearer;

  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const skew = options.futureSkewSeconds ?? DEFAULT_FUTURE_SKEW_SECONDS;
  const medicSignature = header(headers, 'x-medic-signature');
  const grafanaSignature = header(headers, 'x-grafana-alerting-signature');
  if (medicSignature === undefined && grafanaSignature === undefined) {
    return fail('missing_credentials', 'send Authorization: Bearer <token>, or X-Medic-Timestamp and X-Medic-Signature');
  }
  if (options.hmacSecret === undefined) {
    return fail('bad_signature', 'signed requests are not accepted: MEDIC_ALERT_HMAC_SECRET is not set');
  }
  if (medicSignature !== undefined) {
    const ts = header(headers, 'x-medic-timestamp');
    const stale = checkTimestamp(ts, nowMs, tolerance, skew);
    if (stale !== undefined) return stale;
    const expected = `sha256=${hmacHex(options.hmacSecret, `${(ts as string).trim()}.`, rawBody)}`;
    return safeEqual(medicSignature.trim().toLowerCase(), expected)
      ? { ok: true, method: 'hmac' }
      : fail('bad_signature', 'X-Medic-Signature does not match the body');
  }
  // Grafana can sign without a timestamp, but then a captured request could be replayed forever.
  const ts = header(headers, 'x-grafana-alerting-timestamp') ?? header(headers, 'x-grafana-alerting-signature-timestamp');
  const stale = checkTimestamp(ts, nowMs, tolerance, skew);
  if (stale !== undefined) return stale;
  const expected = hmacHex(options.hmacSecret, `${(ts as string).trim()}:`, rawBody);
  return safeEqual((grafanaSignature as string).trim().toLowerCase(), expected)
    ? { ok: true, method: 'grafana_hmac' }
    : fail('bad_signature', 'X-Grafana-Alerting-Signature does not match the body');
}

/** Headers that sign `body` the way `verifyAlertRequest` expects; for senders and tests. */
export function signAlertRequest(secret: string, body: string | Buffer, nowMs: number): Record<string, string> {
  const ts = String(Math.floor(nowMs / 1000));
  return {
    'x-medic-timestamp': ts,
    'x-medic-signature': `sha256=${hmacHex(secret, `${ts}.`, Buffer.isBuffer(body) ? body : Buffer.from(body))}`,
  };
}
