/*
 * What the audit trail records: who asked for what, what ran on which host, and how it ended.
 */

export const AUDIT_KINDS = [
  /** Someone or an alert asked for a diagnosis. */
  'request',
  /** A request shared a diagnosis already running or just finished. */
  'joined',
  /** A request or click was refused (unknown host, not an approver, stale button…). */
  'refused',
  /** A read-only check ran during a diagnosis. */
  'check',
  /** A diagnosis finished: its verdict. */
  'result',
  /** A diagnosis could not run (host unreachable…). */
  'failed',
  /** A remediation was approved. */
  'approval',
  /** A remediation command ran on the host. */
  'command',
  /** A remediation finished: its outcome and verification. */
  'remediation',
  /** An alert update (still firing, resolved). */
  'alert',
] as const;

export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEntry {
  /** ISO time. */
  at: string;
  kind: AuditKind;
  host?: string;
  /** Slack user id, or `alert:<source>/<name>`. */
  actor?: string;
  /** One line for people. */
  detail: string;
  diagnosisId?: string;
  approvalId?: string;
  /** Small structured facts of our own (exit codes, causes); never untrusted objects. */
  data?: Record<string, string | number | boolean>;
}
