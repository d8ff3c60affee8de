import type { Logger } from 'pino';
import type { Inventory } from '../core/inventory/inventory-schema.ts';
import type { Playbook } from '../core/playbook/playbook-schema.ts';
import type { RemediationResultView } from '../core/remediation/remediation-result.ts';
import { sanitizeText } from '../core/report/sanitize.ts';
import { errorMessage, isMedicError } from '../errors.ts';
import { pickPlaybook, targetHost } from './diagnose-job.ts';
import { jobLogger } from './job-logger.ts';
import { RemediateJobData } from './job-names.ts';
import type { ApprovalRecordStore, AuditRecorder, DiagnosisRecordStore, HostConnector, RemediationPublisher } from './ports.ts';
import { remediateHost } from './remediate-host.ts';

export interface RemediateJobDeps {
  approvals: ApprovalRecordStore;
  records: DiagnosisRecordStore;
  audit: AuditRecorder;
  reporter: RemediationPublisher;
  inventory: () => Inventory;
  playbooks: ReadonlyMap<string, Playbook>;
  connector: HostConnector;
  logger: Logger;
  now: () => Date;
  onRemediation?: (remediation: string, outcome: 'recovered' | 'not_recovered' | 'failed') => void;
}

export interface RemediateJob {
  id: string;
  data: unknown;
}

/**
 * The `remediate` job: runs one approved remediation and its verification, then shows the
 * result in place. Runs the commands at most once per approval, even if the job is delivered
 * again after its worker died (Redis SET NX before the first command).
 */
export function createRemediateJob(deps: RemediateJobDeps): (job: RemediateJob) => Promise<{ status: string }> {
  return async (job) => {
    const data = RemediateJobData.parse(job.data);
    const log = jobLogger(deps.logger, { jobId: job.id, host: data.host, queue: 'remediate' });
    const approval = await deps.approvals.get(data.approvalId);
    if (approval?.approvedBy === undefined) {
      log.error({ approvalId: data.approvalId }, 'remediation job without an approval: refused');
      return { status: 'refused' };
    }
    if (!(await deps.approvals.markStarted(approval.id))) {
      if (approval.status === 'succeeded' || approval.status === 'failed') return { status: 'already-finished' };
      // Delivered again after its worker died mid-run: the host may have changed; never run twice.
      const result: RemediationResultView = {
        ok: false,
        steps: [],
        recovered: false,
        durationMs: 0,
        error:
          'The worker running this remediation stopped before it finished, so it was not run again. Diagnose the host again to see its state.',
      };
      await finish(deps, approval.id, data, 'failed', result, log);
      return { status: 'interrupted' };
    }
    let result: RemediationResultView;
    try {
      const host = targetHost(deps.inventory(), data.host);
      const record = await deps.records.get(data.diagnosisId);
      const playbook = pickPlaybook(deps.playbooks, record?.playbook ?? host.playbook);
      // The button belongs to one finding; on a host with several stacks it acts on that finding's stack.
      const stack = record?.diagnosis?.findings[approval.findingIndex]?.stackKey;
      const outcome = await remediateHost(
        { host, playbook, remediation: data.remediation, approvedBy: data.approvedBy, ...(stack === undefined ? {} : { stack }) },
        { connector: deps.connector, logger: log, now: deps.now },
      );
      for (const step of outcome.steps) {
        await deps.audit.record({
          kind: 'command',
          host: data.host,
          actor: data.approvedBy,
          approvalId: approval.id,
          diagnosisId: data.diagnosisId,
          detail: `${step.command} → exit ${step.exitCode ?? 'none'}`,
          data: { exitCode: step.exitCode ?? -1, remediation: data.remediation },
        });
      }
      result = {
        ok: outcome.ok,
        steps: outcome.steps.map((s) => ({ command: s.command, exitCode: s.exitCode, stdout: s.stdout, stderr: s.stderr })),
        verification: outcome.verification,
        recovered: outcome.recovered,
        durationMs: outcome.durationMs,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        ...(outcome.stillFailing !== undefined ? { stillFailing: outcome.stillFailing } : {}),
      };
    } catch (e) {
      log.warn({ err: e }, 'remediation could not run');
      const message = isMedicError(e) ? `${e.code}: ${e.message}` : errorMessage(e);
      // An error may quote the host (a path, a config value): made safe as evidence is.
      result = { ok: false, steps: [], recovered: false, durationMs: 0, error: sanitizeText(message) };
    }
    await finish(deps, approval.id, data, result.ok ? 'succeeded' : 'failed', result, log);
    return { status: result.ok ? (result.recovered ? 'recovered' : 'not-recovered') : 'failed' };
  };
}

async function finish(
  deps: RemediateJobDeps,
  approvalId: string,
  data: RemediateJobData,
  status: 'succeeded' | 'failed',
  result: RemediationResultView,
  log: Logger,
): Promise<void> {
  await deps.approvals.finish(approvalId, status, result);
  await deps.records.setRemediation(data.diagnosisId, {
    remediation: data.remediation,
    approvedBy: data.approvedBy,
    status,
    recovered: result.recovered,
  });
  const verification = result.verification === undefined ? 'no verification' : `verification: ${result.verification.verdict.cause}`;
  deps.onRemediation?.(data.remediation, !result.ok ? 'failed' : result.recovered ? 'recovered' : 'not_recovered');
  await deps.audit.record({
    kind: 'remediation',
    host: data.host,
    actor: data.approvedBy,
    approvalId,
    diagnosisId: data.diagnosisId,
    detail: `${data.remediation} ${status}${result.recovered ? ', host recovered' : ''}; ${verification}${result.error !== undefined ? `; ${result.error.split('\n')[0]}` : ''}`,
    data: { remediation: data.remediation, ok: result.ok, recovered: result.recovered },
  });
  try {
    await deps.reporter.refreshFinding(approvalId);
    await deps.reporter.refreshRoot(data.diagnosisId);
    await deps.reporter.announceRemediation(data.diagnosisId, { remediation: data.remediation, approvedBy: data.approvedBy, result });
  } catch (e) {
    log.error({ err: e }, 'remediation finished but Slack could not be updated');
  }
}
