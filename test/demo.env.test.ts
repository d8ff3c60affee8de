import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import { startDemo, type Demo } from '../src/demo/start-demo.ts';
import { startRedis } from './helpers/redis.ts';
import { blockText, eventually } from './helpers/slack.ts';

const execFileAsync = promisify(execFile);
const TOKEN = 'xoxb-real-looking-0001';
const SECRET = 'the-workspace-signing-secret';

/**
 * With Slack credentials in .env, the demo connects to "Slack" (here a stand-in at SLACK_API_URL,
 * as a GovSlack or proxy URL would be) instead of starting its own stand-in and page: the same
 * bot and worker, Redis and the lab still local.
 */
describe('the demo configured by .env', () => {
  let dir: string;
  let slack: SlackStandIn;
  let demo: Demo | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medic-demo-env-'));
    slack = await new SlackStandIn({ botToken: TOKEN }).start();
  });
  afterAll(async () => {
    await demo?.stop();
    await slack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs in HTTP mode against that Slack: no page, Slack requests signed with the workspace secret', async () => {
    const envFile = join(dir, '.env');
    await writeFile(
      envFile,
      `SLACK_BOT_TOKEN=${TOKEN}\nSLACK_SIGNING_SECRET=${SECRET}\nSLACK_API_URL=${slack.apiUrl}\nPORT=0\nMEDIC_APPROVERS=U0OPS\n`,
    );
    demo = await startDemo({ envFile, logLevel: 'silent' });
    expect(demo.mode).toBe('slack-http');
    expect(demo.url).toBeUndefined();
    expect(demo.standIn).toBeUndefined();
    expect(demo.ownRedis).toBe(true);

    const ready = await fetch(`${demo.botUrl}/readyz`);
    expect(await ready.json()).toEqual({ ok: true, checks: { redis: true, slack: true } });
    expect(slack.callsOf('auth.test').length).toBeGreaterThan(0);

    const send = { url: `${demo.botUrl}/slack/events`, signingSecret: SECRET };
    const forged = await slack.sendSlashCommand(
      { text: 'diagnose web-01', userId: 'U0OPS', channelId: 'C0REAL' },
      { ...send, signingSecret: 'not-the-secret-at-all' },
    );
    expect(forged.status).toBe(401);
    expect((await slack.sendSlashCommand({ text: 'diagnose web-01', userId: 'U0OPS', channelId: 'C0REAL' }, send)).status).toBe(200);
    const report = await slack.waitFor(
      () => slack.messages({ channel: 'C0REAL', rootsOnly: true }).find((m) => blockText(m).includes('web-01: PHP-FPM is down')),
      30_000,
      'the report in Slack',
    );
    expect(report.channel).toBe('C0REAL');
    await demo.stop();
    await eventually(
      async () =>
        fetch(`${demo?.botUrl}/healthz`).then(
          () => false,
          () => true,
        ),
      5000,
      'the bot to stop',
    );
  });

  it('says Socket Mode when an app token is set; --local (slack: stand-in) ignores the credentials', async () => {
    const envFile = join(dir, '.env');
    await writeFile(envFile, `SLACK_BOT_TOKEN=${TOKEN}\nSLACK_APP_TOKEN=xapp-1-demo\nSLACK_API_URL=${slack.apiUrl}\nPORT=0\n`);
    demo = await startDemo({ envFile, logLevel: 'silent', scenario: 'healthy' });
    expect(demo.mode).toBe('slack-socket');
    expect(slack.socketConnected).toBe(true);
    await demo.stop();

    demo = await startDemo({ envFile, logLevel: 'silent', scenario: 'healthy', slack: 'stand-in' });
    expect(demo.mode).toBe('stand-in');
    expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect((await fetch(`${demo.botUrl}/readyz`)).status).toBe(200);
  });

  it('uses the REDIS_URL it is given, under a prefix of its own, and starts its own Redis when that one does not answer', async () => {
    await demo?.stop();
    const redis = await startRedis();
    try {
      const envFile = join(dir, '.env');
      await writeFile(envFile, `REDIS_URL=${redis.url}\n`);
      demo = await startDemo({ envFile, logLevel: 'silent', scenario: 'healthy' });
      expect(demo.ownRedis).toBe(false);
      expect(demo.redisUrl).toBe(redis.url);
      expect(demo.redisNote).toContain('under a key prefix of its own');
      expect((await demo.pids()).length).toBe(4); // the lab's four; no redis-server of its own
      expect(demo.keyPrefix).toMatch(/^demo-[0-9a-f]{8}$/);
      const keys = (): Promise<string[]> =>
        execFileAsync('redis-cli', ['-u', redis.url, '--scan', '--pattern', `${demo?.keyPrefix}:*`]).then((r) =>
          r.stdout.split('\n').filter((k) => k !== ''),
        );
      expect((await keys()).length).toBeGreaterThan(0); // BullMQ's queue metadata at least
      await demo.stop();
      expect(await keys()).toEqual([]);

      await writeFile(envFile, 'REDIS_URL=redis://127.0.0.1:1\n');
      demo = await startDemo({ envFile, logLevel: 'silent', scenario: 'healthy' });
      expect(demo.ownRedis).toBe(true);
      expect(demo.redisUrl).not.toBe('redis://127.0.0.1:1');
      expect(demo.redisNote).toContain('does not answer');
      expect((await fetch(`${demo.botUrl}/readyz`)).status).toBe(200);
    } finally {
      await demo?.stop();
      await redis.stop();
    }
  });
});
