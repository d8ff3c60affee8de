import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig, requireSlack, slackMode } from '../../src/config.ts';
import { MedicError } from '../../src/errors.ts';
import { jobLogger } from '../../src/jobs/job-logger.ts';
import { createLogger } from '../../src/logger.ts';

const load = (env: Record<string, string>) => loadConfig(env, { envFile: false });

function configError(env: Record<string, string>): string {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(MedicError);
    expect((e as MedicError).code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('config', () => {
  it('.env.example lists exactly the keys of the schema', async () => {
    const text = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const keys = text
      .split('\n')
      .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))
      .map((l) => l.slice(0, l.indexOf('=')));
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('.env.example itself is a valid configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medic-config-'));
    try {
      const file = join(dir, '.env');
      await writeFile(file, await readFile(new URL('../../.env.example', import.meta.url), 'utf8'));
      const config = loadConfig({}, { envFile: file });
      expect(config.PORT).toBe(3000);
      expect(slackMode(config)).toBe('none');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has defaults for everything optional, parses durations, lists and booleans, and is frozen', () => {
    const c = load({
      MEDIC_APPROVERS: 'U012AB, S0GROUP ,W0ENT',
      MEDIC_TWO_PERSON_RULE: 'yes',
      MEDIC_APPROVAL_TTL: '90s',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
    });
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.MEDIC_APPROVERS).toEqual({ users: ['U012AB', 'W0ENT'], groups: ['S0GROUP'] });
    expect(c.MEDIC_TWO_PERSON_RULE).toBe(true);
    expect(c.MEDIC_APPROVAL_TTL).toBe(90_000);
    expect(c.MEDIC_DEDUP_WINDOW).toBe(120_000);
    expect(c.SLACK_API_URL).toBe('http://127.0.0.1:9/api/');
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { PORT: number }).PORT = 1;
    }).toThrow();
  });

  it('names every bad variable and says why', () => {
    const message = configError({
      PORT: 'eighty',
      MEDIC_APPROVAL_TTL: '15 minutes',
      MEDIC_APPROVERS: '@alice',
      REDIS_URL: 'localhost:6379',
      SLACK_BOT_TOKEN: 'xoxp-user',
    });
    expect(message).toMatch(/PORT: "eighty" is not a whole number/);
    expect(message).toMatch(/MEDIC_APPROVAL_TTL: "15 minutes" is not a duration/);
    expect(message).toMatch(/MEDIC_APPROVERS: "@alice" is neither a Slack user id/);
    expect(message).toMatch(/REDIS_URL: must be a redis:\/\//);
    expect(message).toMatch(/SLACK_BOT_TOKEN: must be a bot token starting with xoxb-/);
  });

  it('refuses a misspelt MEDIC_ variable instead of ignoring it', () => {
    expect(configError({ MEDIC_APPROVER: 'U012AB' })).toMatch(/MEDIC_APPROVER: not a known variable \(did you mean MEDIC_APPROVERS\?\)/);
  });

  it('reads .env when present; the environment wins over it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medic-config-'));
    try {
      const file = join(dir, '.env');
      await writeFile(file, 'PORT=4000\nMEDIC_DEDUP_WINDOW=30s\n# a comment\nLOG_LEVEL="debug"\n');
      const c = loadConfig({ PORT: '5000' }, { envFile: file });
      expect(c.PORT).toBe(5000);
      expect(c.MEDIC_DEDUP_WINDOW).toBe(30_000);
      expect(c.LOG_LEVEL).toBe('debug');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('chooses HTTP or Socket Mode from the variables, and says what each role lacks', () => {
    expect(slackMode(load({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'abcdefgh12' }))).toBe('http');
    expect(slackMode(load({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'abcdefgh12', SLACK_APP_TOKEN: 'xapp-1-A' }))).toBe('socket');
    // Blank counts as unset, as .env files often leave them.
    expect(slackMode(load({ SLACK_APP_TOKEN: '  ' }))).toBe('none');

    expect(() => requireSlack(load({}), 'bot')).toThrow(/SLACK_BOT_TOKEN[\s\S]*SLACK_SIGNING_SECRET \(HTTP mode\) or SLACK_APP_TOKEN/);
    expect(() => requireSlack(load({ SLACK_BOT_TOKEN: 'xoxb-1' }), 'bot')).toThrow(/SLACK_SIGNING_SECRET/);
    expect(() => requireSlack(load({ SLACK_BOT_TOKEN: 'xoxb-1' }), 'worker')).not.toThrow();
    expect(() => requireSlack(load({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }), 'bot')).not.toThrow();
  });
});

describe('the logger and the configuration', () => {
  it('never writes a secret of the configuration, however it is logged', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write: (chunk: Buffer, _e, done) => {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    const config = load({
      SLACK_BOT_TOKEN: 'xoxb-very-secret',
      SLACK_SIGNING_SECRET: 'signing-very-secret',
      SLACK_APP_TOKEN: 'xapp-very-secret',
      MEDIC_ALERT_TOKEN: 'alert-token-very-secret',
      REDIS_URL: 'redis://:pw-very-secret@127.0.0.1:6379',
    });
    logger.info({ config }, 'starting');
    logger.info({ nested: { config } }, 'nested');
    logger.info({ req: { headers: { authorization: 'Bearer very-secret', 'x-slack-signature': 'v0=very-secret' } } }, 'request');
    jobLogger(logger, { jobId: 'd-1', host: 'web-01', playbook: 'nginx-502' }).info({ token: 'very-secret' }, 'job');
    const text = lines.join('');
    expect(text).not.toContain('very-secret');
    expect(text).toContain('[redacted]');
    const job = JSON.parse(lines[3] as string) as Record<string, unknown>;
    expect(job).toMatchObject({ jobId: 'd-1', host: 'web-01', playbook: 'nginx-502', msg: 'job' });
  });
});
