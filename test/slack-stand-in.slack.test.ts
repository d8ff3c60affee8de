import { WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { pino } from 'pino';
import { slackLoggerFrom } from '../src/adapters/slack/slack-web-client.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';

/** The stand-in must refuse what Slack refuses, or tests against it would prove nothing. */
describe('the Slack stand-in rejects what Slack rejects', () => {
  let standIn: SlackStandIn;
  let client: WebClient;

  beforeAll(async () => {
    // This part is about what Slack refuses; its rate limits have their own tests below.
    standIn = await new SlackStandIn({ botToken: 'xoxb-right', userGroups: { S0ONCALL: ['U0BOB'] }, rateLimits: false }).start();
    client = new WebClient('xoxb-right', {
      slackApiUrl: standIn.apiUrl,
      retryConfig: { retries: 0 },
      logger: slackLoggerFrom(pino({ level: 'silent' })),
    });
  });
  afterAll(async () => {
    await standIn?.stop();
  });

  const slackError = async (p: Promise<unknown>): Promise<WebAPIPlatformError['data']> => {
    try {
      await p;
    } catch (e) {
      return (e as WebAPIPlatformError).data;
    }
    throw new Error('expected a Slack error');
  };

  it('accepts a valid message and keeps it', async () => {
    const res = await client.chat.postMessage({
      channel: 'C1',
      text: 'hi',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
    });
    expect(res.ok).toBe(true);
    expect(standIn.message('C1', res.ts as string)?.text).toBe('hi');
  });

  it('refuses a bad token, a missing channel, no text, too long text', async () => {
    const other = new WebClient('xoxb-wrong', {
      slackApiUrl: standIn.apiUrl,
      retryConfig: { retries: 0 },
      logger: slackLoggerFrom(pino({ level: 'silent' })),
    });
    expect((await slackError(other.chat.postMessage({ channel: 'C1', text: 'x' }))).error).toBe('invalid_auth');
    expect((await slackError(client.chat.postMessage({ channel: '', text: 'x' }))).error).toBe('channel_not_found');
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: '' }))).error).toBe('no_text');
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_001) }))).error).toBe('msg_too_long');
  });

  it('refuses blocks beyond Block Kit limits with json-pointer errors', async () => {
    const cases: [unknown[], RegExp][] = [
      [
        [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }],
        /less than 3001 characters \[json-pointer:\/blocks\/0\/text\/text\]/,
      ],
      [Array.from({ length: 51 }, () => ({ type: 'divider' })), /no more than 50 items/],
      [[{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }], /less than 151/],
      [[{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }], /must be one of plain_text/],
      [
        [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'x'.repeat(76) }, action_id: 'a' }] }],
        /less than 76/,
      ],
      [
        [
          {
            type: 'actions',
            elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' }, action_id: 'a', value: 'v'.repeat(2001) }],
          },
        ],
        /value/,
      ],
      [
        [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' }, action_id: 'a'.repeat(256) }] }],
        /action_id/,
      ],
      [
        [
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                text: { type: 'plain_text', text: 'x' },
                action_id: 'a',
                confirm: {
                  title: { type: 'plain_text', text: 't'.repeat(101) },
                  text: { type: 'mrkdwn', text: 'x' },
                  confirm: { type: 'plain_text', text: 'ok' },
                  deny: { type: 'plain_text', text: 'no' },
                },
              },
            ],
          },
        ],
        /confirm\/title/,
      ],
      [[{ type: 'section' }], /either text or fields/],
      [[{ type: 'sektion', text: { type: 'mrkdwn', text: 'x' } }], /unsupported block type/],
      [[{ type: 'section', text: { type: 'mrkdwn', text: 'x' }, bogus: 1 }], /unsupported property bogus/],
    ];
    for (const [blocks, pattern] of cases) {
      const data = await slackError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks as never }));
      expect(data.error).toBe('invalid_blocks');
      expect((data as unknown as { errors: string[] }).errors.join('\n')).toMatch(pattern);
    }
  });

  it('updates in place, and refuses unknown messages', async () => {
    const res = await client.chat.postMessage({ channel: 'C2', text: 'v1' });
    await client.chat.update({ channel: 'C2', ts: res.ts as string, text: 'v2' });
    expect(standIn.message('C2', res.ts as string)).toMatchObject({ text: 'v2', updates: 1 });
    expect((await slackError(client.chat.update({ channel: 'C2', ts: '1.000000', text: 'x' }))).error).toBe('message_not_found');
  });

  it('answers usergroups.users.list and auth.test', async () => {
    expect((await client.usergroups.users.list({ usergroup: 'S0ONCALL' })).users).toEqual(['U0BOB']);
    expect((await slackError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).error).toBe('no_such_subteam');
    const auth = await client.auth.test();
    expect(auth.user_id).toBe(standIn.botUserId);
    // The workspace URL, on which message links are built, is the stand-in's own.
    expect(auth.url).toBe(standIn.apiUrl.replace(/api\/$/, ''));
  });
});

describe("the Slack stand-in holds callers to Slack's rate limits", () => {
  let standIn: SlackStandIn;
  let client: WebClient;

  beforeAll(async () => {
    // Refilling 100 times slower than Slack: however slow this machine, no token comes back mid-test.
    standIn = await new SlackStandIn({ botToken: 'xoxb-right', rateLimits: { speedup: 0.01 } }).start();
    client = new WebClient('xoxb-right', {
      slackApiUrl: standIn.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: slackLoggerFrom(pino({ level: 'silent' })),
    });
  });
  afterAll(async () => {
    await standIn?.stop();
  });

  const retryAfter = async (p: Promise<unknown>): Promise<number> => {
    try {
      await p;
    } catch (e) {
      if ((e as { code?: string }).code === 'slack_webapi_rate_limited_error') return (e as WebAPIRateLimitedError).retryAfter;
      throw e;
    }
    throw new Error('expected a 429');
  };

  it('chat.postMessage: a burst of 5 per channel, then 429 with Retry-After; another channel is not held', async () => {
    for (let i = 0; i < 5; i++) expect((await client.chat.postMessage({ channel: 'C1', text: `m${i}` })).ok).toBe(true);
    // One message a second, 100 times slower: the next is about 100 s away, and Retry-After says so.
    expect(await retryAfter(client.chat.postMessage({ channel: 'C1', text: 'one too many' }))).toBeGreaterThan(90);
    expect((await client.chat.postMessage({ channel: 'C2', text: 'elsewhere' })).ok).toBe(true);
    expect(standIn.rateLimited).toBe(1);
    expect(standIn.calls.filter((c) => c.response.error === 'ratelimited').map((c) => c.args.text)).toEqual(['one too many']);
    expect(standIn.messages({ channel: 'C1' }).map((m) => m.text)).not.toContain('one too many');
  });

  it('chat.update is Tier 3: a burst of 8, then 429 for all messages alike', async () => {
    const res = await client.chat.postMessage({ channel: 'C3', text: 'v0' });
    for (let i = 1; i <= 8; i++) await client.chat.update({ channel: 'C3', ts: res.ts as string, text: `v${i}` });
    // Tier 3 refills 50 a minute (here 0.5): the next token is about 120 s away.
    expect(await retryAfter(client.chat.update({ channel: 'C3', ts: res.ts as string, text: 'v9' }))).toBeGreaterThan(100);
    expect(standIn.message('C3', res.ts as string)?.text).toBe('v8');
  });
});
