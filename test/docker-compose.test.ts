import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs here; Debian's docker-compose validates and resolves the file, which
// is the check we can make. The assertions are on the resolved configuration it prints.
const run = promisify(execFile);

describe('docker-compose.yml', () => {
  it('is valid and resolves to redis, bot, worker and the lab profile', async () => {
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'lab', 'config'], {
      env: { PATH: process.env.PATH ?? '' },
    });
    const config = parse(stdout) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(config.services).sort()).toEqual(['bot', 'lab', 'redis', 'worker']);

    const redis = config.services.redis as { command: string[]; volumes: unknown[] };
    expect(redis.command.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(redis.command.join(' ')).toMatch(/--appendonly yes/);

    // `--scale worker=N` needs a worker without fixed names or published ports.
    const worker = config.services.worker as Record<string, unknown>;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.command).toEqual(['worker']);
    expect((worker.environment as Record<string, string>).REDIS_URL).toBe('redis://redis:6379');

    const bot = config.services.bot as Record<string, unknown>;
    expect(bot.command).toEqual(['bot']);
    expect(JSON.stringify(bot.ports)).toMatch(/3000/);
  });

  it('keeps the lab behind its profile, out of a plain `up`', async () => {
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'lab', 'config'], {
      env: { PATH: process.env.PATH ?? '' },
    });
    const services = (parse(stdout) as { services: Record<string, { profiles?: string[] }> }).services;
    expect(services.lab?.profiles).toEqual(['lab']);
    for (const name of ['redis', 'bot', 'worker']) expect(services[name]?.profiles).toBeUndefined();
  });
});
