import type { Logger } from 'pino';
import type { DiagnosisRecord } from '../core/diagnosis-request.ts';
import type { Diagnosis } from '../core/finding.ts';
import type { Inventory } from '../core/inventory/inventory-schema.ts';
import type { Playbook } from '../core/playbook/playbook-schema.ts';
import { errorMessage, isMedicError, MedicError } from '../errors.ts';
import { diagnoseHost } from './diagnose-host.ts';
import { DiagnoseJobData } from './job-names.ts';
import { jobLogger } from './job-logger.ts';
import type { AuditRecorder, CommandRunner, DiagnosisRecordStore, HostConnector, ReportPublisher, TargetHost } from './ports.ts';

export interface DiagnoseJobDeps {
  records: DiagnosisRecordStore;
  audit: AuditRecorder;
  reporter: ReportPublisher;
  inventory: () => Inventory;
  playbooks: ReadonlyMap<string, Playbook>;
  connector: HostConnector;
  logger: Logger;
  now: () => Date;
  /** MEDIC_DEDUP_WINDOW: a finished diagnosis is shared with requests this long after. */
  dedupWindowMs: number;
  /**
   * The longest a diagnosis may take, connection and checks included (MEDIC_DIAGNOSIS_TIMEOUT).
   * @defaultValue 30000
   */
  timeoutMs?: number;
  /**
   * A host that has not answered SSH after this long is said to be "not answering" on the
   * report while medic keeps waiting, up to the connector's own timeouts.
   * @defaultValue 3000
   */
  notAnsweringAfterMs?: number;
  /** Called with each finished diagnosis (metrics). */
  onDiagnosis?: (d: Diagnosis) => void;
  onError?: (code: string) => void;
}

export interface DiagnoseJobResult {
  diagnosisId: string;
  status: 'done' | 'failed' | 'already-finished';
  cause?: string;
}

/** The job as a worker sees it (a subset of BullMQ's). */
export interface DiagnoseJob {
  id: string;
  data: unknown;
  finalAttempt: boolean;
  progress(value: Record<string, unknown>): Promise<void>;
}

export function targetHost(inventory: Inventory, name: string): TargetHost {
  const host = Object.hasOwn(inventory.hosts, name) ? inventory.hosts[name] : undefined;
  if (host === undefined) throw new MedicError('HOST_UNKNOWN', `${name} is no longer in the inventory`);
  return { ...host, name };
}

export function pickPlaybook(playbooks: ReadonlyMap<string, Playbook>, name: string): Playbook {
  const playbook = playbooks.get(name);
  if (playbook === undefined)
    throw new MedicError('PLAYBOOK_UNKNOWN', `No playbook "${name}". Playbooks: ${[...playbooks.keys()].join(', ') || '(none)'}.`);
  return playbook;
}

/**
 * The `diagnose` job: runs the playbook over SSH, stores the diagnosis, posts the report.
 * Safe to run again for the same diagnosis (a stalled job handed to another worker, a retry
 * after Slack failed): a finished diagnosis is not run twice, and the report's replies are
 * posted once (the reporter's guard).
 */
export function createDiagnoseJob(deps: DiagnoseJobDeps): (job: DiagnoseJob) => Promise<DiagnoseJobResult> {
  return async (job) => {
    const data = DiagnoseJobData.parse(job.data);
    const log = jobLogger(deps.logger, { jobId: job.id, host: data.host, playbook: data.playbook, queue: 'diagnose' });
    const record = await deps.records.get(data.diagnosisId);
    if (record === undefined) throw new MedicError('HOST_UNKNOWN', `diagnosis ${data.diagnosisId} has no record (expired?)`);
    if (record.status === 'done' || record.status === 'failed') {
      log.info({ diagnosisId: record.id }, 'diagnosis already finished: making sure its report is complete');
      await deps.reporter.publish(record.id);
      return { diagnosisId: record.id, status: 'already-finished' };
    }
    await deps.records.markRunning(record.id);
    await deps.reporter.refreshRoot(record.id).catch((e: unknown) => log.warn({ err: e }, 'could not show the diagnosis as running'));

    let diagnosis: Diagnosis;
    try {
      const host = targetHost(deps.inventory(), data.host);
      const playbook = pickPlaybook(deps.playbooks, data.playbook);
      diagnosis = await bounded(deps, record, log, (connector) =>
        diagnoseHost(
          // The record's URL was checked when it was asked for; discovery checks it again.
          { host, playbook, ...(record.url === undefined ? {} : { url: record.url }) },
          {
            connector,
            logger: log,
            now: deps.now,
            onProgress: (event) => {
              if (event.kind === 'check-finished') {
                void deps.audit.record({
                  kind: 'check',
                  host: data.host,
                  diagnosisId: record.id,
                  detail: `${event.check}: ${event.status} in ${event.durationMs} ms`,
                  data: { check: event.check, status: event.status },
                });
              }
              void job.progress({ ...event }).catch(() => undefined);
            },
          },
        ),
      );
    } catch (e) {
      const retryable = !isMedicError(e) || e.retryable;
      if (retryable && !job.finalAttempt) throw e;
      await failed(deps, record, e, log);
      return { diagnosisId: record.id, status: 'failed' };
    }
    if (!(await deps.records.complete(record, diagnosis, deps.dedupWindowMs))) {
      log.warn({ diagnosisId: record.id }, 'another run of this diagnosis finished first; keeping its result');
      await deps.reporter.publish(record.id);
      return { diagnosisId: record.id, status: 'already-finished' };
    }
    deps.onDiagnosis?.(diagnosis);
    await deps.audit.record({
      kind: 'result',
      host: data.host,
      diagnosisId: record.id,
      detail: `${diagnosis.verdict.cause}: ${diagnosis.verdict.title} (${diagnosis.findings.length} finding(s), ${diagnosis.durationMs} ms${diagnosis.incomplete ? ', incomplete' : ''})`,
      data: {
        cause: diagnosis.verdict.cause,
        findings: diagnosis.findings.length,
        durationMs: diagnosis.durationMs,
        incomplete: diagnosis.incomplete,
      },
    });
    await deps.reporter.publish(record.id);
    return { diagnosisId: record.id, status: 'done', cause: diagnosis.verdict.cause };
  };
}

/**
 * Runs a diagnosis within `timeoutMs` (then DIAGNOSIS_TIMEOUT, and its SSH connection is
 * closed), and says on the report when the host has not answered after `notAnsweringAfterMs`.
 */
async function bounded<T>(
  deps: DiagnoseJobDeps,
  record: DiagnosisRecord,
  log: Logger,
  run: (connector: HostConnector) => Promise<T>,
): Promise<T> {
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const runners = new Set<CommandRunner>();
  const connector: HostConnector = {
    connect: async (host) => {
      const slow = setTimeout(() => {
        const after = Math.round((deps.notAnsweringAfterMs ?? 3000) / 1000);
        void deps.records
          .addNote(record.id, {
            at: deps.now().toISOString(),
            kind: 'info',
            text: `${host.name} is not answering SSH (nothing after ${after} s); waiting a few seconds more before giving up.`,
          })
          .then(() => deps.reporter.refreshRoot(record.id))
          .catch((e: unknown) => log.warn({ err: e }, 'could not say the host is not answering'));
      }, deps.notAnsweringAfterMs ?? 3000);
      try {
        const runner = await deps.connector.connect(host, { signal: controller.signal });
        runners.add(runner);
        if (controller.signal.aborted) void runner.close().catch(() => undefined);
        return runner;
      } finally {
        clearTimeout(slow);
      }
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      for (const r of runners) void r.close().catch(() => undefined);
      reject(
        new MedicError(
          'DIAGNOSIS_TIMEOUT',
          `The diagnosis of ${record.host} did not finish within ${Math.round(timeoutMs / 1000)} s (MEDIC_DIAGNOSIS_TIMEOUT): the host is overloaded or stopped answering. Check it, then diagnose again.`,
        ),
      );
    }, timeoutMs);
  });
  const work = run(connector);
  work.catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function failed(deps: DiagnoseJobDeps, record: DiagnosisRecord, e: unknown, log: Logger): Promise<void> {
  const error = isMedicError(e) ? { code: e.code, message: e.message, hint: e.hint } : { message: errorMessage(e) };
  deps.onError?.(error.code ?? 'INTERNAL');
  log.warn({ err: e, diagnosisId: record.id }, 'diagnosis could not run');
  if (!(await deps.records.fail(record, error, deps.dedupWindowMs))) {
    await deps.reporter.publish(record.id);
    return;
  }
  await deps.audit.record({
    kind: 'failed',
    host: record.host,
    diagnosisId: record.id,
    detail: `${error.code ?? 'error'}: ${error.message}`,
  });
  await deps.reporter.publish(record.id);
}
