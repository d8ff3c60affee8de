import { z } from 'zod';
import type { AlertIncident } from './alerts/plan-alert-incident.ts';
import type { AuditEntry } from './audit-entry.ts';
import { AUDIT_KINDS } from './audit-entry.ts';
import { CAUSE_IDS, REMEDIATION_IDS, SEVERITIES } from './causes.ts';
import type { DiagnosisRecord, Requester, RootNote } from './diagnosis-request.ts';
import type { Diagnosis, Finding } from './finding.ts';
import type { ApprovalRecord } from './remediation/approval-record.ts';
import type { RemediationResultView } from './remediation/remediation-result.ts';

/*
 * Schemas of what the stores read back (Redis holds JSON the bot wrote, but of an older
 * version, or written by hand, or damaged): parsed, not cast. Each is declared as the type it
 * produces, so a field added to the type without its schema does not compile. Objects keep
 * fields they do not know (`looseObject`): a record written by a newer version loses nothing
 * when an older one updates it.
 */

export const RequesterSchema: z.ZodType<Requester> = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('user'), userId: z.string() }),
  z.looseObject({
    kind: z.literal('alert'),
    source: z.string(),
    alertName: z.string(),
    labels: z.record(z.string(), z.string()),
    summary: z.string().exactOptional(),
    alertCount: z.number().exactOptional(),
  }),
]);

export const RootNoteSchema: z.ZodType<RootNote> = z.looseObject({
  at: z.string(),
  kind: z.enum(['firing', 'resolved', 'info']),
  text: z.string(),
  mrkdwn: z.boolean().exactOptional(),
});

const FindingSchema: z.ZodType<Finding> = z.looseObject({
  cause: z.enum(CAUSE_IDS),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  evidence: z.array(z.string()),
  explanation: z.string(),
  nextSteps: z.array(z.string()),
  remediations: z.array(z.enum(REMEDIATION_IDS)),
  current: z.boolean(),
  stack: z.string().exactOptional(),
  // The key a button's remediation names its stack by: it must survive the round trip through Redis.
  stackKey: z.string().exactOptional(),
  vhosts: z.array(z.string()).exactOptional(),
});

export const DiagnosisSchema: z.ZodType<Diagnosis> = z.looseObject({
  host: z.string(),
  playbook: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
  verdict: z.looseObject({ cause: z.enum(CAUSE_IDS), title: z.string() }),
  findings: z.array(FindingSchema),
  incomplete: z.boolean(),
  gaps: z.array(
    z.looseObject({
      check: z.string(),
      reason: z.string(),
      supplementary: z.boolean().exactOptional(),
      couldHide: z.string().exactOptional(),
    }),
  ),
  untrustedMasters: z
    .array(
      z.looseObject({ pid: z.number(), user: z.string(), status: z.enum(['suspicious', 'container']), title: z.string(), why: z.string() }),
    )
    .exactOptional(),
  facts: z.record(z.string(), z.unknown()),
  checks: z.array(z.looseObject({ id: z.string(), status: z.string(), durationMs: z.number(), truncated: z.boolean() })),
});

export const RemediationResultSchema: z.ZodType<RemediationResultView> = z.looseObject({
  ok: z.boolean(),
  steps: z.array(z.looseObject({ command: z.string(), exitCode: z.number().nullable(), stdout: z.string(), stderr: z.string() })),
  verification: DiagnosisSchema.exactOptional(),
  recovered: z.boolean(),
  durationMs: z.number(),
  error: z.string().exactOptional(),
  stillFailing: z.array(z.string()).exactOptional(),
});

export const AuditEntrySchema: z.ZodType<AuditEntry> = z.looseObject({
  at: z.string(),
  kind: z.enum(AUDIT_KINDS),
  host: z.string().exactOptional(),
  actor: z.string().exactOptional(),
  detail: z.string(),
  diagnosisId: z.string().exactOptional(),
  approvalId: z.string().exactOptional(),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).exactOptional(),
});

export const DiagnosisRecordSchema: z.ZodType<DiagnosisRecord> = z.looseObject({
  id: z.string(),
  host: z.string(),
  playbook: z.string(),
  channel: z.string(),
  rootTs: z.string().exactOptional(),
  threadTs: z.string().exactOptional(),
  requestedBy: RequesterSchema,
  requestedAt: z.string(),
  reason: z.string().exactOptional(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  diagnosis: DiagnosisSchema.exactOptional(),
  error: z.looseObject({ code: z.string().exactOptional(), message: z.string(), hint: z.string().exactOptional() }).exactOptional(),
  joiners: z.array(RequesterSchema),
  notes: z.array(RootNoteSchema),
  pendingSince: z.string().exactOptional(),
  remediation: z
    .looseObject({
      remediation: z.enum(REMEDIATION_IDS),
      approvedBy: z.string(),
      status: z.enum(['running', 'succeeded', 'failed']),
      recovered: z.boolean().exactOptional(),
    })
    .exactOptional(),
});

export const ApprovalRecordSchema: z.ZodType<ApprovalRecord> = z.object({
  id: z.string(),
  diagnosisId: z.string(),
  host: z.string(),
  remediation: z.enum(REMEDIATION_IDS),
  findingIndex: z.number().int().min(0),
  channel: z.string(),
  messageTs: z.string().exactOptional(),
  requestedBy: z.string().exactOptional(),
  createdAt: z.string(),
  expiresAt: z.string(),
  approvedBy: z.string().exactOptional(),
  approvedAt: z.string().exactOptional(),
  status: z.enum(['running', 'succeeded', 'failed']).exactOptional(),
  result: RemediationResultSchema.exactOptional(),
});

export const AlertIncidentSchema: z.ZodType<AlertIncident> = z.looseObject({
  key: z.string(),
  host: z.string().exactOptional(),
  channel: z.string(),
  diagnosisId: z.string().exactOptional(),
  rootTs: z.string().exactOptional(),
  noticeText: z.string().exactOptional(),
  reportedAt: z.number(),
  lastUpdateAt: z.number(),
  heldBack: z.number().int().min(0),
  firing: z.array(z.string()),
  alertNames: z.array(z.string()),
  resolvedAt: z.number().exactOptional(),
});

/** Parses `text` as JSON and then with `schema`; undefined when either fails. */
export function parseStoredJson<T>(schema: z.ZodType<T>, text: string): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
