import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { SlackStandIn } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { startLab } from '../src/lab/start-lab.ts';
import { freshPrefix, startRedis, type RedisHandle } from './helpers/redis.ts';
import { livePid } from '../src/lab/pids.ts';
import { BOT_TOKEN, blockText, buttonsOf, CHANNEL, eventually, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

const WORKER_SCRIPT = fileURLToPath(new URL('./helpers/slack-worker-process.ts', import.meta.url));
const MEDIC_BIN = fileURLToPath(new URL('../bin/medic.js', import.meta.url));

/** Resolves when the child prints `line`. */
function waitForLine(child: ChildProcess, line: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`worker did not print ${line} within ${timeoutMs} ms; stdout: ${out}`)), timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before printing ${line}; stdout: ${out}`)));
  });
}

/**
 * A worker process SIGKILLed in the middle of a diagnosis: BullMQ's stalled-job check hands the
 * job to another worker, which runs the real diagnosis over SSH; the report appears once.
 */
// Worker processes start, hang and die here: generous bounds for a machine under load.
describe('workers that stop mid-job', { timeout: 300_000 }, () => {
  let redis: RedisHandle;
  let lab: Lab;
  let standIn: SlackStandIn;
  let bot: SlackHarness;
  let rescuer: SlackHarness | undefined;
  let doomed: ChildProcess | undefined;
  const prefix = freshPrefix('crash');
  const lock = { MEDIC_JOB_LOCK: '2s', MEDIC_DEDUP_WINDOW: '1ms' };

  /** What every worker of these tests is configured with: this test's Redis, stand-in and queue prefix. */
  const workerEnv = (): Record<string, string> => ({
    REDIS_URL: redis.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: standIn.apiUrl,
    PORT: '0',
    MEDIC_LISTEN_HOST: '127.0.0.1',
    MEDIC_QUEUE_PREFIX: prefix,
    ...lock,
  });

  /** A worker process whose first command on a host never returns, ready to be killed holding a job. */
  async function startDoomedWorker(): Promise<ChildProcess> {
    const env = { ...workerEnv(), INVENTORY_PATH: lab.inventoryPath };
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, JSON.stringify(env)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // One that never got ready is not left running after the test.
    await waitForLine(child, 'READY', 120_000).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    });
    return child;
  }

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    standIn = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    await lab.applyScenario('php_fpm_down');
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    bot = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      role: 'bot',
      standIn,
      prefix,
      env: lock,
    });
    // The rescuer is built now but its worker only starts once the doomed one holds the job.
    rescuer = undefined;
  });

  afterAll(async () => {
    if (doomed !== undefined && doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
    await rescuer?.stop();
    await bot?.stop();
    await standIn?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it('SIGKILL: the job is picked up by another worker, and the report is posted exactly once', async () => {
    doomed = await startDoomedWorker();

    await bot.command('diagnose web-01');
    await waitForLine(doomed, 'HANGING', 120_000);
    const [job] = await bot.app.queues.diagnose.getJobs(['active']);
    expect(job?.data.host).toBe('web-01');

    doomed.kill('SIGKILL');
    await new Promise<void>((resolve) => doomed?.once('exit', () => resolve()));

    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    rescuer = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      role: 'worker',
      connector: new SshConnector(),
      standIn,
      prefix,
      env: lock,
    });

    const root = await standIn.waitFor(() => roots(standIn).find((m) => blockText(m).includes('PHP-FPM is down')), 60_000, 'the verdict');
    const record = await eventually(
      async () => {
        const done = await bot.app.queues.diagnose.getJobs(['completed']);
        return done.length === 1 ? done[0] : undefined;
      },
      20_000,
      'the job completed',
    );
    expect(record?.id).toBe(job?.id);
    expect(rescuer.logs.lines).toContainEqual(expect.objectContaining({ audit: 'result' }));

    // Stopped gracefully, the rescuer has sent every report it had on its way; the bot's reports are sent too.
    await rescuer.stop();
    rescuer = undefined;
    await bot.app.reporter.idle();
    await bot.app.slackBudget.idle();
    const replies = standIn.messages({ channel: CHANNEL, threadTs: root.ts }).filter((m) => m.text.startsWith('web-01 finding'));
    const findings = Number(/(\d+) \(in the thread\)/.exec(blockText(root))?.[1]);
    expect(findings).toBeGreaterThan(0);
    expect(replies).toHaveLength(findings);
    expect(new Set(replies.map((m) => m.text)).size).toBe(findings);
    expect(roots(standIn)).toHaveLength(1);
    expect(standIn.calls.filter((c) => c.response.ok !== true)).toEqual([]);
  });
  it('SIGTERM: `medic worker` finishes the diagnosis it runs, posts it once, and exits 0', async () => {
    await rescuer?.stop();
    rescuer = undefined;
    const before = roots(standIn).length;
    const cwd = await mkdtemp(join(tmpdir(), 'medic-worker-cwd-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...workerEnv(), MEDIC_INVENTORY: lab.inventoryPath, LOG_LEVEL: 'info' };
    const worker = spawn(process.execPath, [MEDIC_BIN, 'worker'], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    worker.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => out.includes('gateway-medic started'), 120_000, 'the worker to start');
      await bot.command('diagnose web-01');
      // SIGTERM the moment the job is taken: mid-diagnosis.
      await eventually(async () => (await bot.app.queues.diagnose.getJobs(['active'])).length === 1, 10_000, 'the job to be taken', 5);
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('gateway-medic stopped');
      const completed = await bot.app.queues.diagnose.getJobs(['completed']);
      expect(completed).toHaveLength(2);
      const root = await standIn.waitFor(() => roots(standIn)[before], 5000, 'the new report');
      expect(blockText(root)).toContain('PHP-FPM is down');
      const findings = Number(/(\d+) \(in the thread\)/.exec(blockText(root))?.[1]);
      expect(standIn.messages({ channel: CHANNEL, threadTs: root.ts }).filter((m) => m.text.startsWith('web-01 finding'))).toHaveLength(
        findings,
      );
    } finally {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('SIGKILL mid-remediation: the approved remediation is not run a second time; the message says it was interrupted', async () => {
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    const playbooks = await loadPlaybooks();
    const worker = () =>
      startSlackHarness({
        redisUrl: redis.url,
        inventory,
        playbooks,
        role: 'worker',
        connector: new SshConnector(),
        standIn,
        prefix,
        env: lock,
      });

    // No worker but the ones started here.
    await rescuer?.stop();
    // A fresh report with its start_php_fpm button, from a healthy worker.
    rescuer = await worker();
    const before = roots(standIn).length;
    await bot.command('diagnose web-01');
    const root = await standIn.waitFor(() => roots(standIn)[before], 120_000, 'a new report');
    const START = 'remediate:start_php_fpm';
    const finding = await standIn.waitFor(
      () => standIn.messages({ channel: CHANNEL, threadTs: root.ts }).find((m) => buttonsOf(m).some((b) => b.actionId === START)),
      120_000,
      'the start_php_fpm button',
    );
    await rescuer.stop();
    rescuer = undefined;

    // The only worker left hangs on its first command on the host: it dies holding the job.
    doomed = await startDoomedWorker();
    const hanging = waitForLine(doomed, 'HANGING', 120_000);
    const click = await bot.click(finding, START, 'U0ALICE');
    expect(click.status).toBe(200);
    await hanging;
    const [job] = await bot.app.queues.remediate.getJobs(['active']);
    expect(job?.data.remediation).toBe('start_php_fpm');
    doomed.kill('SIGKILL');
    await new Promise<void>((resolve) => doomed?.once('exit', () => resolve()));

    // Another worker gets the stalled job back and must not run it.
    rescuer = await worker();
    const updated = await standIn.waitFor(
      () => {
        const m = standIn.message(finding.channel, finding.ts);
        return m !== undefined && blockText(m).includes('stopped before it finished') ? m : undefined;
      },
      120_000,
      'the interrupted remediation in the message',
    );
    expect(buttonsOf(updated)).toEqual([]);
    const done = await eventually(async () => (await bot.app.queues.remediate.getJobs(['completed']))[0], 10_000, 'the job to complete');
    expect(done?.id).toBe(job?.id);
    expect(done?.returnvalue).toEqual({ status: 'interrupted' });
    // Nothing ran on the host: php-fpm is still down, and no remediation command was audited.
    expect(await livePid(lab.layout.fpmPidFile)).toBeUndefined();
    expect(rescuer.logs.lines.filter((l) => l.audit === 'command')).toEqual([]);
  });
});
