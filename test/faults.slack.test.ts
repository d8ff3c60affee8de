import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { createQueues } from '../src/adapters/queue/medic-queues.ts';
import { DiagnosisService } from '../src/app-service/diagnosis-service.ts';
import type { ChatApi } from '../src/adapters/slack/chat-api.ts';
import { SlackReporter } from '../src/adapters/slack/slack-reporter.ts';
import { createSlackWebClient } from '../src/adapters/slack/slack-web-client.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { ApprovalStore } from '../src/adapters/store/approval-store.ts';
import { AuditTrail } from '../src/adapters/store/audit-trail.ts';
import { DiagnosisRecords } from '../src/adapters/store/diagnosis-records.ts';
import { FanoutRecords } from '../src/adapters/store/fanout-records.ts';
import { createRedis, whenReady } from '../src/adapters/store/redis-client.ts';
import { RedisKeys } from '../src/adapters/store/redis-keys.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { SlackStandIn, type StoredMessage } from '../src/dev/slack-stand-in.ts';
import { isMedicError } from '../src/errors.ts';
import type { CommandRunner, HostConnector } from '../src/jobs/ports.ts';
import type { Lab } from '../src/lab/lab.ts';
import { childrenOf, signalPid } from '../src/lab/pids.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { freshPrefix, startPersistentRedis, type PersistentRedis } from './helpers/redis.ts';
import { BOT_TOKEN, blockText, CHANNEL, eventually, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

/**
 * A connector to the real lab host that can run something (a Redis restart) at the first
 * command of the next diagnosis, while its job holds the worker: "Redis restarted while the job runs".
 */
class HoldingConnector implements HostConnector {
  private readonly real = new SshConnector();
  /** Run once, before the next command a diagnosis sends. */
  hold: (() => Promise<void>) | undefined;

  async connect(...args: Parameters<HostConnector['connect']>): Promise<CommandRunner> {
    const runner = await this.real.connect(...args);
    return {
      run: async (command, options) => {
        const hold = this.hold;
        this.hold = undefined;
        await hold?.();
        return runner.run(command, options);
      },
      close: () => runner.close(),
    };
  }
}

/** A message that will never change again: not "Queued…" nor "Diagnosing…". */
const isFinal = (m: StoredMessage): boolean => !/^(Queued|Diagnosing) /.test(m.text);

/**
 * Redis (with its append-only file, as deployed) stopped and restarted at each step of a
 * request, then the host's sshd stopped, with a bot and a worker of their own (two apps, each
 * with its own Redis connections) on the lab's real web-01 (php-fpm stopped): every request
 * ends reported once, or refused with a sentence that says what to do; no message stays
 * "Queued…" or "Diagnosing…"; no host stays wedged.
 */
describe('faults at each step of a request: Redis, then the host', () => {
  let redis: PersistentRedis;
  let lab: Lab;
  let standIn: SlackStandIn;
  let bot: SlackHarness;
  let worker: SlackHarness;
  let inventory: Inventory;
  const connector = new HoldingConnector();
  const prefix = freshPrefix('faults');
  const env = { MEDIC_DEDUP_WINDOW: '1ms' };
  /** Every request sent, and what it ended as. */
  const outcomes: { step: string; outcome: 'reported' | 'refused'; root: boolean }[] = [];

  const answerTo = (responseUrlId: string | undefined): Promise<string> =>
    standIn
      .waitFor(() => standIn.responseUrlPosts.find((p) => p.id === responseUrlId), 30_000, 'the ephemeral answer')
      .then((p) => String(p.body.text));

  /** Redis back, and the bot and worker connected to it again (what /readyz tells an operator). */
  async function restartRedis(): Promise<void> {
    await redis.start();
    await eventually(async () => (await fetch(`${bot.baseUrl}/readyz`)).status === 200, 15_000, 'the bot to be ready again');
    await eventually(async () => (await fetch(`${worker.baseUrl}/readyz`)).status === 200, 15_000, 'the worker to be ready again');
  }

  /** `/502 diagnose web-01` until its report shows the verdict; asserts it was not joined to a stale diagnosis. */
  async function diagnosedOnce(step: string): Promise<StoredMessage> {
    const before = roots(standIn).length;
    const ack = await bot.command('diagnose web-01');
    expect(ack.status).toBe(200);
    expect(await answerTo(ack.responseUrlId)).toContain('diagnosis queued');
    const root = await standIn.waitFor(() => roots(standIn)[before], 30_000, 'the new report');
    const done = await standIn.waitFor(
      () => {
        const m = standIn.message(root.channel, root.ts);
        return m !== undefined && blockText(m).includes('PHP-FPM is down') ? m : undefined;
      },
      60_000,
      'the verdict on the report',
    );
    const findings = Number(/(\d+) \(in the thread\)/.exec(blockText(done))?.[1]);
    await standIn.waitFor(
      () =>
        standIn.messages({ channel: CHANNEL, threadTs: root.ts }).filter((m) => m.text.startsWith('web-01 finding')).length >= findings ||
        undefined,
      30_000,
      'the findings',
    );
    outcomes.push({ step, outcome: 'reported', root: true });
    return done;
  }

  beforeAll(async () => {
    [redis, lab] = await startTogether(startPersistentRedis(), startLab());
    standIn = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    await lab.applyScenario('php_fpm_down');
    inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    const playbooks = await loadPlaybooks();
    bot = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks, role: 'bot', standIn, prefix, env });
    worker = await startSlackHarness({ redisUrl: redis.url, inventory, playbooks, role: 'worker', connector, standIn, prefix, env });
  });

  afterAll(async () => {
    standIn.beforeAnswer = undefined;
    if (redis !== undefined && redis.pid === undefined) await redis.start();
    await worker?.stop();
    await bot?.stop();
    await standIn?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.destroy();
  });

  it('stopped before the record: refused at once in words (REDIS_UNAVAILABLE), nothing posted; /readyz says 503 within a second', async () => {
    await diagnosedOnce('warm-up');
    const before = roots(standIn).length;
    await redis.stop();
    try {
      const probe = performance.now();
      const ready = await fetch(`${bot.baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, boolean> }).checks.redis).toBe(false);
      expect(performance.now() - probe).toBeLessThan(1000);

      const ack = await bot.command('diagnose web-01');
      const answer = await answerTo(ack.responseUrlId);
      expect(answer).toContain('`REDIS_UNAVAILABLE`');
      expect(answer).toContain('Redis did not answer, so the diagnosis was not queued');
      expect(answer).toContain('ask again once Redis is back');
      // ioredis's own words stay in the log.
      expect(answer).not.toMatch(/retries per request|maxRetriesPerRequest/);
      expect(roots(standIn)).toHaveLength(before);
      outcomes.push({ step: 'before the record', outcome: 'refused', root: false });
    } finally {
      await restartRedis();
    }
    await diagnosedOnce('after: before the record');
  });

  it('stopped between the record and the job: refused in words, nothing posted, and the next request is not joined to it', async () => {
    // The service of the bot, with Redis stopped right after the record (and the host's slot) is opened.
    const conn = createRedis(redis.url, { name: 'faults-test' });
    conn.on('error', () => undefined);
    expect(await whenReady(conn, 10_000)).toBe(true);
    const keys = new RedisKeys(prefix);
    const logger = pino({ level: 'silent' });
    const now = (): Date => new Date();
    class StopAfterOpen extends DiagnosisRecords {
      override async open(...args: Parameters<DiagnosisRecords['open']>): ReturnType<DiagnosisRecords['open']> {
        const opened = await super.open(...args);
        await redis.stop();
        return opened;
      }
    }
    const records = new StopAfterOpen(conn, keys);
    const client = createSlackWebClient({ token: BOT_TOKEN, apiUrl: standIn.apiUrl, logger }) as unknown as ChatApi;
    const fanouts = new FanoutRecords(conn, keys);
    const queues = createQueues(conn, prefix);
    const reporter = new SlackReporter({
      slack: () => client,
      workspaceUrl: async () => undefined,
      redis: conn,
      keys,
      records,
      approvals: new ApprovalStore(conn, keys),
      fanouts,
      logger,
      now,
      approvalTtlMs: 60_000,
    });
    const service = new DiagnosisService({
      records,
      fanouts,
      audit: new AuditTrail(conn, { keys, logger, now, limit: 100 }),
      reporter,
      client,
      queues,
      inventory: () => inventory,
      logger,
      now,
    });
    const before = roots(standIn).length;
    try {
      const e = await service
        .requestDiagnosis({ host: 'web-01', channel: CHANNEL, requestedBy: { kind: 'user', userId: 'U0ALICE' } })
        .catch((x: unknown) => x);
      expect(isMedicError(e) && e.code).toBe('REDIS_UNAVAILABLE');
      expect((e as Error).message).toContain('the diagnosis was not queued');
      expect(roots(standIn)).toHaveLength(before);
      outcomes.push({ step: 'between the record and the job', outcome: 'refused', root: false });
    } finally {
      // That bot is gone before Redis is back (it cannot free the slot itself): the worst case.
      conn.disconnect();
      await queues.close().catch(() => undefined);
      if (redis.pid === undefined) await restartRedis();
    }
    // The slot came back from the append-only file with no job behind it; the next request takes it over.
    const slot = await bot.app.redis.get(`${prefix}:dedup:web-01`);
    expect(slot).not.toBeNull();
    expect(await bot.app.redis.hget(`${prefix}:diag:${slot}`, 'pendingSince')).not.toBeNull();
    await diagnosedOnce('after: between the record and the job');
    expect(await bot.app.redis.get(`${prefix}:dedup:web-01`)).not.toBe(slot);
  });

  it('stopped while the root message is posted: the message is finished (not "Queued…" for ever), the requester told why', async () => {
    const before = roots(standIn).length;
    let once = true;
    standIn.beforeAnswer = async (method, args) => {
      if (!once || method !== 'chat.postMessage' || args.thread_ts !== undefined) return;
      once = false;
      await redis.stop();
    };
    try {
      const ack = await bot.command('diagnose web-01');
      const answer = await answerTo(ack.responseUrlId);
      expect(answer).toContain('`REDIS_UNAVAILABLE`');
      expect(answer).toContain('the report could not be started');
      const root = await standIn.waitFor(() => roots(standIn)[before], 10_000, 'the root message');
      const shown = await standIn.waitFor(
        () => {
          const m = standIn.message(root.channel, root.ts);
          return m !== undefined && isFinal(m) ? m : undefined;
        },
        10_000,
        'the root message in a final state',
      );
      expect(blockText(shown)).toContain('could not diagnose');
      expect(blockText(shown)).toContain('REDIS_UNAVAILABLE');
      outcomes.push({ step: 'while the root message is posted', outcome: 'refused', root: true });
    } finally {
      standIn.beforeAnswer = undefined;
      if (redis.pid === undefined) await restartRedis();
    }
    // Once Redis is back, the interrupted request gives the host's slot back by itself.
    await eventually(
      async () => {
        const slot = await bot.app.redis.get(`${prefix}:dedup:web-01`);
        return slot === null || /^(done|failed)$/.test((await bot.app.redis.hget(`${prefix}:diag:${slot}`, 'status')) ?? '');
      },
      10_000,
      'the host to be free again',
    );
    await diagnosedOnce('after: while the root message is posted');
  });

  it('restarted while the job runs: the diagnosis carries on and is reported once', async () => {
    let restarted = false;
    connector.hold = async () => {
      await redis.stop();
      await restartRedis();
      restarted = true;
    };
    const root = await diagnosedOnce('while the job runs');
    expect(restarted).toBe(true);
    const findings = Number(/(\d+) \(in the thread\)/.exec(blockText(root))?.[1]);
    expect(standIn.messages({ channel: CHANNEL, threadTs: root.ts }).filter((m) => m.text.startsWith('web-01 finding'))).toHaveLength(
      findings,
    );
  });

  it('restarted while the result is posted: the report is completed once', async () => {
    let restarted = false;
    let once = true;
    standIn.beforeAnswer = async (method, args) => {
      if (!once || method !== 'chat.postMessage' || args.thread_ts === undefined) return;
      once = false;
      await redis.stop();
      await restartRedis();
      restarted = true;
    };
    try {
      const root = await diagnosedOnce('while the result is posted');
      expect(restarted).toBe(true);
      const findings = Number(/(\d+) \(in the thread\)/.exec(blockText(root))?.[1]);
      const replies = standIn.messages({ channel: CHANNEL, threadTs: root.ts }).filter((m) => m.text.startsWith('web-01 finding'));
      expect(replies).toHaveLength(findings);
      expect(new Set(replies.map((m) => m.text)).size).toBe(findings);
    } finally {
      standIn.beforeAnswer = undefined;
    }
  });

  it('sshd stopped (a hung host): the message says so while medic waits, then SSH_NOT_ANSWERING in seconds; diagnosed again once sshd runs', async () => {
    const sshd = (await lab.status()).sshd;
    if (sshd === undefined) throw new Error('the lab has no sshd running');
    const before = roots(standIn).length;
    process.kill(sshd, 'SIGSTOP');
    try {
      const started = performance.now();
      const ack = await bot.command('diagnose web-01');
      expect(await answerTo(ack.responseUrlId)).toContain('diagnosis queued');
      const root = await standIn.waitFor(() => roots(standIn)[before], 10_000, 'the report');
      const waiting = await standIn.waitFor(
        () => {
          const m = standIn.message(root.channel, root.ts);
          return m !== undefined && blockText(m).includes('web-01 is not answering SSH') ? m : undefined;
        },
        20_000,
        'the report to say the host is not answering',
      );
      expect(isFinal(waiting)).toBe(false);
      const failed = await standIn.waitFor(
        () => {
          const m = standIn.message(root.channel, root.ts);
          return m !== undefined && isFinal(m) ? m : undefined;
        },
        40_000,
        'the report in its final state',
      );
      const took = performance.now() - started;
      expect(blockText(failed)).toContain('could not diagnose');
      expect(blockText(failed)).toContain('SSH_NOT_ANSWERING');
      expect(blockText(failed)).toContain('is not answering');
      // The handshake timeout (8 s) once, not retried; generous for a loaded machine.
      expect(took).toBeLessThan(30_000);
      outcomes.push({ step: 'sshd stopped', outcome: 'reported', root: true });
    } finally {
      process.kill(sshd, 'SIGCONT');
    }
    await diagnosedOnce('after: sshd stopped');
  });

  /** The lab sshd's per-connection processes and theirs: the sessions of running diagnoses. */
  const sessions = async (): Promise<number[]> => {
    const sshd = (await lab.status()).sshd;
    if (sshd === undefined) throw new Error('the lab has no sshd running');
    const out: number[] = [];
    for (let next = childrenOf(sshd); next.length > 0; next = next.flatMap(childrenOf)) out.push(...next);
    return out;
  };

  it('sshd session killed mid-diagnosis: SSH_LOST is retried on a new connection, and the report comes once', async () => {
    let killed = 0;
    connector.hold = async () => {
      for (const pid of await sessions()) if (signalPid(pid, 'SIGKILL')) killed += 1;
    };
    const root = await diagnosedOnce('sshd session killed');
    expect(killed).toBeGreaterThan(0);
    const findings = Number(/(\d+) \(in the thread\)/.exec(blockText(root))?.[1]);
    expect(standIn.messages({ channel: CHANNEL, threadTs: root.ts }).filter((m) => m.text.startsWith('web-01 finding'))).toHaveLength(
      findings,
    );
    // The first attempt failed on the dropped connection; the retry made the report.
    expect(worker.logs.lines).toContainEqual(
      expect.objectContaining({ msg: 'job failed', err: expect.objectContaining({ code: 'SSH_LOST' }) }),
    );
  });

  it('sshd session stopped mid-diagnosis: cut at MEDIC_DIAGNOSIS_TIMEOUT, reported as DIAGNOSIS_TIMEOUT; the host is diagnosed again afterwards', async () => {
    // A worker with a 2 s bound, shorter than the checks' and keepalives' own limits.
    await worker.stop();
    const bounded = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      role: 'worker',
      connector,
      standIn,
      prefix,
      env: { ...env, MEDIC_DIAGNOSIS_TIMEOUT: '2s' },
    });
    let stopped: number[] = [];
    try {
      connector.hold = async () => {
        stopped = await sessions();
        for (const pid of stopped) signalPid(pid, 'SIGSTOP');
      };
      const before = roots(standIn).length;
      const started = performance.now();
      const ack = await bot.command('diagnose web-01');
      expect(await answerTo(ack.responseUrlId)).toContain('diagnosis queued');
      const root = await standIn.waitFor(() => roots(standIn)[before], 10_000, 'the report');
      const failed = await standIn.waitFor(
        () => {
          const m = standIn.message(root.channel, root.ts);
          return m !== undefined && isFinal(m) ? m : undefined;
        },
        30_000,
        'the report in its final state',
      );
      expect(stopped.length).toBeGreaterThan(0);
      expect(blockText(failed)).toContain('DIAGNOSIS_TIMEOUT');
      expect(blockText(failed)).toContain('did not finish within 2 s');
      expect(performance.now() - started).toBeLessThan(20_000);
      outcomes.push({ step: 'sshd session stopped', outcome: 'reported', root: true });
    } finally {
      for (const pid of stopped) signalPid(pid, 'SIGCONT');
      await bounded.stop();
      worker = await startSlackHarness({
        redisUrl: redis.url,
        inventory,
        playbooks: await loadPlaybooks(),
        role: 'worker',
        connector,
        standIn,
        prefix,
        env,
      });
    }
    await diagnosedOnce('after: sshd session stopped');
  });

  it('afterwards: every message is final, no host is wedged, and no request was lost', async () => {
    expect(roots(standIn).filter((m) => !isFinal(m))).toEqual([]);
    const slot = await bot.app.redis.get(`${prefix}:dedup:web-01`);
    if (slot !== null) expect(await bot.app.redis.hget(`${prefix}:diag:${slot}`, 'status')).toMatch(/^(done|failed)$/);
    // Each request was reported, or refused with a sentence: none vanished, none has two reports.
    expect(roots(standIn)).toHaveLength(outcomes.filter((o) => o.root).length);
    expect(outcomes.map((o) => o.step)).toEqual([
      'warm-up',
      'before the record',
      'after: before the record',
      'between the record and the job',
      'after: between the record and the job',
      'while the root message is posted',
      'after: while the root message is posted',
      'while the job runs',
      'while the result is posted',
      'sshd stopped',
      'after: sshd stopped',
      'sshd session killed',
      'sshd session stopped',
      'after: sshd session stopped',
    ]);
  });
});
