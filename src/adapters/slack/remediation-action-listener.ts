import type { Logger } from 'pino';
import { escapeMrkdwn } from '../../core/report/escape-mrkdwn.ts';
import { asRedisError, isMedicError } from '../../errors.ts';
import { REMEDIATE_ACTION_PREFIX } from '../../core/report/render-finding.ts';
import { isSlackUserId } from '../../core/slack-ids.ts';
import { enqueueRemediate, type MedicQueues } from '../queue/medic-queues.ts';
import type { ApprovalRecord } from '../../core/remediation/approval-record.ts';
import type { ApprovalStore } from '../store/approval-store.ts';
import type { AuditTrail } from '../store/audit-trail.ts';
import type { DiagnosisRecords } from '../store/diagnosis-records.ts';
import { AfterAcks } from './after-acks.ts';
import type { ApproverDirectory } from './approver-directory.ts';
import type { BoltApp } from './create-bolt-app.ts';
import type { SlackReporter } from './slack-reporter.ts';

export interface RemediationActionDeps {
  approvals: ApprovalStore;
  records: DiagnosisRecords;
  approvers: ApproverDirectory;
  audit: AuditTrail;
  reporter: SlackReporter;
  queues: MedicQueues;
  logger: Logger;
  now: () => Date;
  /** MEDIC_TWO_PERSON_RULE: the person who asked for the diagnosis cannot approve its remediation. */
  twoPersonRule: boolean;
  onRefusal?: (reason: RefusalReason) => void;
  onApproval?: (remediation: string) => void;
  /** Where work waits until a burst of requests has been acked. @defaultValue a fresh AfterAcks */
  afterAcks?: AfterAcks;
}

export type RefusalReason = 'not_approver' | 'own_request' | 'missing' | 'expired' | 'stale' | 'used' | 'malformed';

const ACTION = new RegExp(`^${REMEDIATE_ACTION_PREFIX.replace(':', '\\:')}`);

/** What the clicker is told, ephemeral: why not, and what to do instead. */
function explain(reason: RefusalReason, approval: ApprovalRecord | undefined, extra: { approvers?: string; approvedBy?: string }): string {
  const host = approval !== undefined ? `*${escapeMrkdwn(approval.host)}*` : 'this host';
  const again = approval !== undefined ? `\`/502 diagnose ${escapeMrkdwn(approval.host)}\`` : '`/502 diagnose <host>`';
  switch (reason) {
    case 'not_approver':
      return `:no_entry: You are not allowed to approve remediations. Approvers: ${extra.approvers ?? 'none'}. Ask one of them to click.`;
    case 'own_request':
      return ':no_entry: Two-person rule: you asked for this diagnosis, so someone else must approve its remediation.';
    case 'expired':
      return `:hourglass: This button has expired. Run ${again} for a fresh diagnosis and new buttons.`;
    case 'stale':
      return `:arrows_counterclockwise: This finding is no longer current: ${host} was diagnosed again or remediated since. Use the buttons of the latest report, or run ${again}.`;
    case 'used':
      return `:ballot_box_with_check: Already approved by ${isSlackUserId(extra.approvedBy ?? '') ? `<@${extra.approvedBy}>` : 'someone'}; it runs once. Follow its progress in the message.`;
    case 'missing':
      return `:grey_question: This button is unknown or too old. Run ${again}.`;
    case 'malformed':
      return ':grey_question: That click could not be read.';
  }
}

/**
 * Remediation buttons. A click is acked at once, then checked: approver (user or user group),
 * the two-person rule, then one atomic Redis claim (exists, not used, not expired, still the
 * host's latest diagnosis). Only the winning click queues the job (its id is the approval's,
 * so even a second enqueue would be a no-op). Refusals are explained to the clicker and audited.
 */
export function registerRemediationAction(app: BoltApp, deps: RemediationActionDeps): void {
  const afterAcks = deps.afterAcks ?? new AfterAcks();
  app.action(ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    return afterAcks.run(async () => {
      const userId = body.user.id;
      const approvalId = action.type === 'button' ? action.value : undefined;
      const refuse = async (
        reason: RefusalReason,
        approval?: ApprovalRecord,
        extra: { approvers?: string; approvedBy?: string } = {},
      ): Promise<void> => {
        deps.onRefusal?.(reason);
        await deps.audit.record({
          kind: 'refused',
          ...(approval !== undefined ? { host: approval.host, approvalId: approval.id, diagnosisId: approval.diagnosisId } : {}),
          actor: userId,
          detail: `${approval?.remediation ?? 'remediation'} click refused: ${reason}`,
          data: { reason },
        });
        await respond({ response_type: 'ephemeral', replace_original: false, text: explain(reason, approval, extra) });
      };
      if (approvalId === undefined || approvalId === '') return refuse('malformed');
      let claimed: ApprovalRecord | undefined;
      try {
        const approval = await deps.approvals.get(approvalId);
        if (approval === undefined) return refuse('missing');
        if (!(await deps.approvers.isApprover(userId))) return refuse('not_approver', approval, { approvers: deps.approvers.describe() });
        if (deps.twoPersonRule && approval.requestedBy === userId) return refuse('own_request', approval);
        const claim = await deps.approvals.claim(approval.id, approval.host, userId, deps.now());
        if (!claim.ok) return refuse(claim.reason, approval, claim.reason === 'used' ? { approvedBy: claim.approvedBy } : {});

        claimed = approval;
        deps.onApproval?.(approval.remediation);
        await deps.audit.record({
          kind: 'approval',
          host: approval.host,
          actor: userId,
          approvalId: approval.id,
          diagnosisId: approval.diagnosisId,
          detail: `${approval.remediation} approved`,
          data: { remediation: approval.remediation },
        });
        await deps.records.setRemediation(approval.diagnosisId, {
          remediation: approval.remediation,
          approvedBy: userId,
          status: 'running',
        });
        await enqueueRemediate(deps.queues, {
          approvalId: approval.id,
          diagnosisId: approval.diagnosisId,
          host: approval.host,
          remediation: approval.remediation,
          approvedBy: userId,
        });
      } catch (e) {
        const err = asRedisError(e, claimed === undefined ? 'the click was not taken' : 'the approved remediation was not queued');
        deps.logger.error({ err: e, approvalId }, 'could not take the click');
        const what = isMedicError(err) ? `\`${err.code}\` ${escapeMrkdwn(err.message)}` : 'The click could not be taken.';
        const next =
          claimed === undefined
            ? ' Click again once it is back.'
            : ` Run \`/502 diagnose ${escapeMrkdwn(claimed.host)}\` for fresh buttons once it is back.`;
        await respond({ response_type: 'ephemeral', replace_original: false, text: `:x: ${what}${next}` }).catch(() => undefined);
        return;
      }
      const approval = claimed;
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: `:white_check_mark: Approved: \`${approval.remediation}\` on *${escapeMrkdwn(approval.host)}* is queued; the message shows its progress and verification.`,
      });
      try {
        await deps.reporter.refreshFinding(approval.id);
        await deps.reporter.refreshRoot(approval.diagnosisId);
      } catch (e) {
        deps.logger.warn({ err: e, approvalId: approval.id }, 'approved, but the message could not be updated');
      }
    });
  });
}
