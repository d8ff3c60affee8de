import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { safeEqual, signAlertRequest, verifyAlertRequest, verifyBearer } from '../../../src/adapters/alerts/verify-alert-request.ts';

const NOW = Date.UTC(2026, 10, 23, 22, 0, 0);
const body = Buffer.from('{"host":"web-01","alertname":"X"}');
const options = { token: 'tok-0123456789abcdef', hmacSecret: 'shh-0123456789abcdef' };

describe('bearer tokens', () => {
  it('accepts the token, case-insensitive scheme', () => {
    expect(verifyAlertRequest({ authorization: 'Bearer tok-0123456789abcdef' }, body, options, NOW)).toEqual({
      ok: true,
      method: 'bearer',
    });
    expect(verifyBearer({ authorization: 'bearer tok-0123456789abcdef' }, options)).toEqual({ ok: true, method: 'bearer' });
  });

  it.each([
    ['a wrong token', 'Bearer tok-0123456789abcdeX'],
    ['a prefix of the token', 'Bearer tok-0123'],
    ['the token as Basic', 'Basic tok-0123456789abcdef'],
    ['an empty bearer', 'Bearer '],
  ])('refuses %s', (_n, authorization) => {
    const r = verifyAlertRequest({ authorization }, body, options, NOW);
    expect(r).toMatchObject({ ok: false, reason: 'bad_token' });
  });

  it('refuses a bearer token when none is configured', () => {
    expect(verifyAlertRequest({ authorization: 'Bearer x' }, body, { hmacSecret: 's' }, NOW)).toMatchObject({
      ok: false,
      reason: 'bad_token',
    });
  });

  it('says there are no credentials', () => {
    expect(verifyAlertRequest({}, body, options, NOW)).toMatchObject({ ok: false, reason: 'missing_credentials' });
  });

  it('refuses everything when nothing is configured', () => {
    expect(verifyAlertRequest({ authorization: 'Bearer x' }, body, {}, NOW)).toMatchObject({ ok: false, reason: 'not_configured' });
  });
});

describe('X-Medic-Signature', () => {
  it('accepts a signature made now, up to five minutes ago, and 30 s ahead (clock skew)', () => {
    for (const skew of [0, -299_000, 30_000]) {
      const headers = signAlertRequest(options.hmacSecret, body, NOW + skew);
      expect(verifyAlertRequest(headers, body, options, NOW)).toEqual({ ok: true, method: 'hmac' });
    }
  });

  it('is HMAC-SHA256 of "<timestamp>.<body>", hex, prefixed sha256=', () => {
    const ts = String(NOW / 1000);
    const sig = createHmac('sha256', options.hmacSecret).update(`${ts}.`).update(body).digest('hex');
    expect(verifyAlertRequest({ 'x-medic-timestamp': ts, 'x-medic-signature': `sha256=${sig}` }, body, options, NOW).ok).toBe(true);
  });

  it('refuses a replay older than the window', () => {
    const headers = signAlertRequest(options.hmacSecret, body, NOW - 301_000);
    expect(verifyAlertRequest(headers, body, options, NOW)).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });

  it('refuses a timestamp from the future beyond a small clock skew', () => {
    const headers = signAlertRequest(options.hmacSecret, body, NOW + 31_000);
    expect(verifyAlertRequest(headers, body, options, NOW)).toMatchObject({
      ok: false,
      reason: 'future_timestamp',
      message: expect.stringContaining("sender's clock"),
    });
    const far = signAlertRequest(options.hmacSecret, body, NOW + 299_000);
    expect(verifyAlertRequest(far, body, options, NOW)).toMatchObject({ ok: false, reason: 'future_timestamp' });
    expect(verifyAlertRequest(far, body, { ...options, futureSkewSeconds: 300 }, NOW)).toEqual({ ok: true, method: 'hmac' });
  });

  it('refuses a signature over another body', () => {
    const headers = signAlertRequest(options.hmacSecret, body, NOW);
    expect(verifyAlertRequest(headers, Buffer.from('{"host":"web-02","alertname":"X"}'), options, NOW)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a signature made with another secret, or a moved timestamp', () => {
    const other = signAlertRequest('another-secret-000000', body, NOW);
    expect(verifyAlertRequest(other, body, options, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const moved = { ...signAlertRequest(options.hmacSecret, body, NOW), 'x-medic-timestamp': String(NOW / 1000 + 1) };
    expect(verifyAlertRequest(moved, body, options, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a missing or non-numeric timestamp', () => {
    const { 'x-medic-signature': sig } = signAlertRequest(options.hmacSecret, body, NOW);
    expect(verifyAlertRequest({ 'x-medic-signature': sig }, body, options, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyAlertRequest({ 'x-medic-signature': sig, 'x-medic-timestamp': 'now' }, body, options, NOW)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses signatures when no secret is configured', () => {
    const headers = signAlertRequest(options.hmacSecret, body, NOW);
    expect(verifyAlertRequest(headers, body, { token: options.token }, NOW)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('a wrong bearer token is not rescued by a good signature', () => {
    const headers = { ...signAlertRequest(options.hmacSecret, body, NOW), authorization: 'Bearer wrong' };
    expect(verifyAlertRequest(headers, body, options, NOW)).toMatchObject({ ok: false, reason: 'bad_token' });
  });
});

describe("Grafana's X-Grafana-Alerting-Signature", () => {
  const sign = (ts: string): string => createHmac('sha256', options.hmacSecret).update(`${ts}:`).update(body).digest('hex');

  it('accepts hex HMAC of "<timestamp>:<body>" with the timestamp header', () => {
    const ts = String(NOW / 1000);
    expect(
      verifyAlertRequest({ 'x-grafana-alerting-signature': sign(ts), 'x-grafana-alerting-timestamp': ts }, body, options, NOW),
    ).toEqual({ ok: true, method: 'grafana_hmac' });
  });

  it('refuses it without a timestamp (it could be replayed forever)', () => {
    const bare = createHmac('sha256', options.hmacSecret).update(body).digest('hex');
    expect(verifyAlertRequest({ 'x-grafana-alerting-signature': bare }, body, options, NOW)).toMatchObject({ ok: false });
  });

  it('refuses a stale one', () => {
    const ts = String(NOW / 1000 - 600);
    expect(
      verifyAlertRequest({ 'x-grafana-alerting-signature': sign(ts), 'x-grafana-alerting-timestamp': ts }, body, options, NOW),
    ).toMatchObject({ ok: false, reason: 'stale_timestamp' });
  });
});

describe('safeEqual', () => {
  it('compares strings of any length', () => {
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});
