import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';

/**
 * MEDIC_HTTP_PROCESSES > 1: `medic bot` (or `medic start`) runs that many processes sharing one
 * port (node:cluster). Each is a whole medic process; everything they share is in Redis, as
 * between machines. A `/502` command costs one process about 0.3 ms of CPU before its ack
 * (slash-command-fast-path.ts), so one process acks a burst of 100 in 40-50 ms on an idle core;
 * more processes spread the work after the acks over cores, but the primary accepts every
 * connection, so on a machine of two cores they do not ack a burst sooner.
 *
 * The primary only supervises: it starts the processes, reports once all listen, replaces one
 * that dies (giving up on a crash loop), sums their metrics for /metrics, and on SIGTERM or
 * SIGINT asks each to stop gracefully, then exits when all have; a second signal kills them.
 */

const READY = 'medic:ready';
const STOP = 'medic:stop';
const METRICS_ASK = 'medic:metrics:ask';
const METRICS_ANSWER = 'medic:metrics:answer';

/** Crash-loop guard: this many unexpected exits within the window stop the whole cluster. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

type Message = { type?: unknown; id?: unknown; port?: unknown; body?: unknown; error?: unknown };
const isMessage = (m: unknown): m is Message => typeof m === 'object' && m !== null;

export const inClusterWorker = (): boolean => cluster.isWorker;

// ---------------------------------------------------------------- in a worker process

/**
 * In a cluster worker: lets the primary collect this registry, and answers /metrics with the
 * sum over all processes (asked of the primary), so a scrape sees the same totals whichever
 * process it lands on.
 */
export function clusterScrape(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // adds prom-client's listener that answers the primary's collection
  let next = 0;
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = `${process.pid}-${next++}`;
      const timer = setTimeout(() => {
        process.off('message', onMessage);
        reject(new Error('the cluster primary did not answer for metrics within 5 s'));
      }, 5000);
      const onMessage = (m: unknown): void => {
        if (!isMessage(m) || m.type !== METRICS_ANSWER || m.id !== id) return;
        clearTimeout(timer);
        process.off('message', onMessage);
        if (typeof m.body === 'string') resolve(m.body);
        else reject(new Error(`cluster metrics: ${String(m.error)}`));
      };
      process.on('message', onMessage);
      process.send?.({ type: METRICS_ASK, id });
    });
}

/** In a cluster worker: tells the primary this process listens; `onStop` runs when it asks us to stop. */
export function reportReady(port: number, onStop: () => void): void {
  process.on('message', (m: unknown) => {
    if (isMessage(m) && m.type === STOP) onStop();
  });
  process.send?.({ type: READY, port });
}

// ---------------------------------------------------------------- in the primary

export interface ClusterOptions {
  processes: number;
  logger: Logger;
  /** Extra fields for the "started" line (role, slack mode…). */
  startedFields?: Record<string, unknown>;
}

/**
 * Runs the primary until the cluster has stopped. Resolves with the exit code: 0 after a
 * graceful stop, 1 when a process could not start or kept crashing.
 */
export async function runClusterPrimary(o: ClusterOptions): Promise<number> {
  const { logger } = o;
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let exitCode = 0;
  const restarts: number[] = [];
  const ready = new Set<number>();
  let announced = false;

  const fork = (): Worker => cluster.fork();

  const stopAll = (why: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    logger.info(
      { processes: Object.keys(cluster.workers ?? {}).length, why },
      'stopping the cluster: each process finishes or hands back its jobs',
    );
    for (const w of Object.values(cluster.workers ?? {})) {
      if (w === undefined) continue;
      // A process still starting has nothing to finish, and does not listen for the request yet.
      if (ready.has(w.id) && w.isConnected()) w.send({ type: STOP });
      else w.process.kill('SIGTERM');
    }
  };
  /** A second signal, as in a single process: stop now; running jobs go back to the queue after MEDIC_JOB_LOCK. */
  const killAll = (): void => {
    logger.warn('second signal: killing every process now; their jobs go back to the queue after MEDIC_JOB_LOCK');
    exitCode = 1;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
  };

  cluster.on('message', (worker, m: unknown) => {
    if (!isMessage(m)) return;
    if (m.type === READY) {
      ready.add(worker.id);
      if (!announced && ready.size >= o.processes) {
        announced = true;
        logger.info(
          {
            ...o.startedFields,
            port: m.port,
            processes: o.processes,
            pids: Object.values(cluster.workers ?? {}).map((w) => w?.process.pid),
          },
          'gateway-medic started',
        );
      } else if (announced) logger.info({ pid: worker.process.pid }, 'replacement process listening');
    }
    if (m.type === METRICS_ASK) {
      aggregator.clusterMetrics().then(
        (body) => worker.isConnected() && worker.send({ type: METRICS_ANSWER, id: m.id, body }),
        (e: unknown) => worker.isConnected() && worker.send({ type: METRICS_ANSWER, id: m.id, error: errorMessage(e) }),
      );
    }
  });

  const done = new Promise<number>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      ready.delete(worker.id);
      const left = Object.keys(cluster.workers ?? {}).length;
      if (stopping) {
        if (left === 0) resolve(exitCode);
        return;
      }
      if (!announced) {
        logger.error({ pid: worker.process.pid, code, signal }, 'a process exited before it listened (its error is above); stopping');
        stopAll('start-up failed', 1);
        if (left === 0) resolve(exitCode);
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] ?? now) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        logger.error({ restarts: restarts.length, windowMs: RESTART_WINDOW_MS }, 'processes keep crashing; stopping the cluster');
        stopAll('crash loop', 1);
        if (left === 0) resolve(exitCode);
        return;
      }
      logger.error(
        { pid: worker.process.pid, code, signal },
        'a process died; starting a replacement (its jobs go back to the queue after MEDIC_JOB_LOCK)',
      );
      fork();
    });
  });

  const onSignal = (signal: NodeJS.Signals): void => (stopping ? killAll() : stopAll(signal, 0));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (let i = 0; i < o.processes; i++) fork();
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  logger.info({ code }, 'gateway-medic stopped');
  return code;
}
