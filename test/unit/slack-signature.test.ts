import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSignedBySlack } from '../../src/adapters/slack/slack-signature.ts';
import { signSlackRequest } from '../../src/dev/slack-signing.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = Date.UTC(2026, 10, 26, 1, 0, 0);
const ts = Math.floor(NOW / 1000);
const body = 'token=x&command=%2F502&text=diagnose+web-01&user_id=U1&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1';
const signed = (b: string, t: number, secret = SECRET): string => signSlackRequest(secret, b, t)['x-slack-signature'] ?? '';

describe('isSignedBySlack: Slack request signing v0', () => {
  it("accepts Slack's example request, signed as its documentation shows", () => {
    // The worked example of Slack's "Verifying requests from Slack" page: its secret, timestamp, body and signature.
    const docBody =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const signature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
    expect(isSignedBySlack('8f742231b10e8888abcd99yyyzzz85a5', { body: docBody, signature, timestamp: '1531420618' }, 1531420618_000)).toBe(
      true,
    );
  });

  it('accepts a request signed now, or up to 5 minutes ago or ahead', () => {
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts), timestamp: String(ts) }, NOW)).toBe(true);
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts - 300), timestamp: String(ts - 300) }, NOW)).toBe(true);
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts + 300), timestamp: String(ts + 300) }, NOW)).toBe(true);
  });

  it('refuses a replay (older than 5 minutes) and a timestamp more than 5 minutes ahead', () => {
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts - 301), timestamp: String(ts - 301) }, NOW)).toBe(false);
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts + 301), timestamp: String(ts + 301) }, NOW)).toBe(false);
  });

  it('refuses another body, another secret, another timestamp than the one signed', () => {
    expect(isSignedBySlack(SECRET, { body: `${body}&x=1`, signature: signed(body, ts), timestamp: String(ts) }, NOW)).toBe(false);
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts, 'another-secret'), timestamp: String(ts) }, NOW)).toBe(false);
    expect(isSignedBySlack(SECRET, { body, signature: signed(body, ts), timestamp: String(ts - 1) }, NOW)).toBe(false);
  });

  it('refuses missing and malformed headers without throwing', () => {
    const good = signed(body, ts);
    const cases: [string | undefined, string | undefined][] = [
      [undefined, String(ts)],
      [good, undefined],
      ['', String(ts)],
      [good.replace('v0=', 'v1='), String(ts)],
      [good.slice(0, -2), String(ts)],
      [`${good}00`, String(ts)],
      [good.toUpperCase().replace('V0=', 'v0='), String(ts)],
      [good, `${ts}.0`],
      [good, ` ${ts}`],
      [good, '-1'],
      [good, 'NaN'],
    ];
    for (const [signature, timestamp] of cases)
      expect(isSignedBySlack(SECRET, { body, signature, timestamp }, NOW), `${signature} ${timestamp}`).toBe(false);
  });

  it('signs over the timestamp as sent: a zero-padded timestamp is not the same request', () => {
    const padded = `0${ts}`;
    const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
    expect(isSignedBySlack(SECRET, { body, signature, timestamp: padded }, NOW)).toBe(false);
  });
});
