import { z } from 'zod';
import { REMEDIATION_IDS } from '../core/causes.ts';
import { HOST_NAME } from '../core/inventory/inventory-schema.ts';
import { SLACK_USER_ID } from '../core/slack-ids.ts';

/*
 * Each BullMQ queue, its job name and its payload schema, in one place. Payloads carry ids
 * only: no tokens, no keys, nothing a person typed. Everything else (channel, who asked, the
 * thread) lives in the diagnosis record in Redis, so a job is safe to show in any dashboard.
 */

const Id = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/);

export const DiagnoseJobData = z.strictObject({
  diagnosisId: Id,
  host: z.string().regex(HOST_NAME),
  playbook: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
});
export type DiagnoseJobData = z.infer<typeof DiagnoseJobData>;

export const RemediateJobData = z.strictObject({
  approvalId: Id,
  diagnosisId: Id,
  host: z.string().regex(HOST_NAME),
  remediation: z.enum(REMEDIATION_IDS),
  /** Slack user id of the approver, for the audit trail. */
  approvedBy: z.string().regex(SLACK_USER_ID),
});
export type RemediateJobData = z.infer<typeof RemediateJobData>;

/** Queue name → job name and payload schema. */
export const JOBS = {
  diagnose: { queue: 'diagnose', name: 'diagnose', data: DiagnoseJobData },
  remediate: { queue: 'remediate', name: 'remediate', data: RemediateJobData },
} as const;

export type JobKind = keyof typeof JOBS;

export interface JobDataByKind {
  diagnose: DiagnoseJobData;
  remediate: RemediateJobData;
}

/** BullMQ job ids: one per diagnosis and one per approval, which is what makes a second add a no-op. */
export const diagnoseJobId = (diagnosisId: string): string => diagnosisId;
export const remediateJobId = (approvalId: string): string => `r-${approvalId}`;
