import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isMedicError } from '../../errors.ts';
import { JOBS, type DiagnoseJobData, type RemediateJobData } from '../../jobs/job-names.ts';

/** What a job handler sees of a BullMQ job. */
export interface JobContext<T> {
  id: string;
  data: T;
  /** 1 on the first attempt. */
  attempt: number;
  /** True when a failure now will not be retried. */
  finalAttempt: boolean;
  progress(value: Record<string, unknown>): Promise<void>;
}

export type JobHandler<T> = (job: JobContext<T>) => Promise<unknown>;

export interface MedicWorkersOptions {
  /** Makes a new blocking connection (`maxRetriesPerRequest: null`) per worker. */
  connect: () => Redis;
  prefix: string;
  /** Jobs run at once per queue. @defaultValue 32 */
  concurrency?: number;
  /**
   * The job lock, renewed every half of it while a job runs. If a worker dies, its lock lapses
   * within this long; the stalled check, run every third of it, then hands the job to another
   * worker (a job counts as stalled when one check saw it active and the next finds no lock), so
   * a dead worker's job moves on within about 1.3× this.
   * @defaultValue 6000
   */
  lockMs?: number;
  handlers: { diagnose: JobHandler<DiagnoseJobData>; remediate: JobHandler<RemediateJobData> };
  logger: Logger;
  /** Worker name stored on each job it takes (shown in dashboards). */
  name?: string;
  onJobDone?: (queue: 'diagnose' | 'remediate', outcome: 'completed' | 'failed' | 'retried') => void;
  /** A job failed for good (its handler threw on the last attempt, or it stalled too often). */
  onGaveUp?: (queue: 'diagnose' | 'remediate', data: unknown, reason: string) => void;
}

export interface MedicWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for the running ones; after `graceMs`, hands them back (they stall and go to another worker). */
  close(graceMs?: number): Promise<void>;
}

function wrap<T>(queue: 'diagnose' | 'remediate', handler: JobHandler<T>, logger: Logger): (job: Job<T>) => Promise<unknown> {
  return async (job) => {
    const attempts = job.opts.attempts ?? 1;
    const ctx: JobContext<T> = {
      id: job.id ?? '?',
      data: job.data,
      attempt: job.attemptsMade + 1,
      finalAttempt: job.attemptsMade + 1 >= attempts,
      progress: async (value) => {
        await job.updateProgress(value);
      },
    };
    try {
      return await handler(ctx);
    } catch (e) {
      // Unrecoverable causes (bad host key, unknown host) fail at once instead of retrying.
      if (isMedicError(e) && !e.retryable) throw new UnrecoverableError(`${e.code}: ${e.message}`);
      logger.warn({ err: e, queue, jobId: job.id, attempt: ctx.attempt }, 'job failed');
      throw e;
    }
  };
}

/** The consumer side: one BullMQ worker per queue, closed gracefully. */
export function startWorkers(o: MedicWorkersOptions): MedicWorkers {
  const lockDuration = o.lockMs ?? 6000;
  const common = {
    prefix: o.prefix,
    lockDuration,
    // BullMQ's default checks as often as the lock lasts, which makes a handover take up to twice it.
    stalledInterval: Math.max(500, Math.round(lockDuration / 3)),
    maxStalledCount: 1,
    concurrency: o.concurrency ?? 32,
    ...(o.name !== undefined ? { name: o.name } : {}),
  };
  const connections = [o.connect(), o.connect()] as const;
  // Jobs running in this process: shutdown waits for this to reach 0, or hands them back.
  let active = 0;
  const counted =
    <T>(run: (job: Job<T>) => Promise<unknown>) =>
    async (job: Job<T>): Promise<unknown> => {
      active += 1;
      try {
        return await run(job);
      } finally {
        active -= 1;
      }
    };
  const diagnose = new Worker<DiagnoseJobData>(JOBS.diagnose.queue, counted(wrap('diagnose', o.handlers.diagnose, o.logger)), {
    ...common,
    connection: connections[0],
  });
  const remediate = new Worker<RemediateJobData>(JOBS.remediate.queue, counted(wrap('remediate', o.handlers.remediate, o.logger)), {
    ...common,
    connection: connections[1],
  });
  const workers = [diagnose, remediate] as Worker[];
  for (const [queue, w] of [
    ['diagnose', diagnose],
    ['remediate', remediate],
  ] as const) {
    w.on('error', (err) => o.logger.error({ err, queue }, 'worker error'));
    w.on('completed', () => o.onJobDone?.(queue, 'completed'));
    w.on('failed', (job, err) => {
      const retried = job !== undefined && job.attemptsMade < (job.opts.attempts ?? 1);
      o.onJobDone?.(queue, retried ? 'retried' : 'failed');
      if (!retried && job !== undefined) o.onGaveUp?.(queue, job.data, err.message);
    });
    w.on('stalled', (jobId) => o.logger.warn({ queue, jobId }, 'job stalled: its worker stopped; another worker takes it'));
  }
  return {
    workers,
    close: async (graceMs = 25_000) => {
      // No new jobs from now on; the running ones carry on. (close() cannot be used for this:
      // once it runs, a later close(true) only waits for it, and the hand-back never happens.)
      await Promise.all(workers.map((w) => w.pause(true)));
      const deadline = Date.now() + graceMs;
      while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const handBack = active > 0;
      // Forced, the locks are no longer renewed: the jobs stall and another worker takes them.
      if (handBack) o.logger.warn({ graceMs, jobs: active }, 'jobs still running at shutdown: handing them back to the queue');
      await Promise.all(workers.map((w) => w.close(handBack)));
      // BullMQ leaves connections it was given open; they are ours to close.
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
