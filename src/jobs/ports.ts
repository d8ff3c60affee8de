import type { Logger } from 'pino';
import type { AuditEntry } from '../core/audit-entry.ts';
import type { RemediationId } from '../core/causes.ts';
import type { DiagnosisRecord, RootNote } from '../core/diagnosis-request.ts';
import type { Diagnosis } from '../core/finding.ts';
import type { InventoryHost } from '../core/inventory/inventory-schema.ts';
import type { ApprovalRecord } from '../core/remediation/approval-record.ts';
import type { RemediationResultView, RemediationStatus } from '../core/remediation/remediation-result.ts';

/*
 * What the jobs need from the world, as interfaces: SSH (connector, runner), Redis (records,
 * approvals, audit) and Slack (the publishers). The adapters implement them; the jobs import
 * nothing but these, the core and the error type, so they run as well on in-memory stand-ins.
 */

/** What running one command on a host produced. Command failures are data, not exceptions. */
export interface RunOutput {
  exitCode: number | null;
  /** Signal name when the remote process was killed by one. */
  signal?: string;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was cut at `maxBytes`; the text ends with a marker line. */
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Kill the command and report `timedOut` after this long. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout and of stderr each. @defaultValue 1 MiB */
  maxBytes?: number;
  /**
   * The command only reads (an allowlisted check): the runner may run it in a shell it keeps
   * open on the host for such commands, instead of a session of its own.
   */
  readOnly?: boolean;
}

/**
 * An open connection to one host. One per diagnosis, reused by every check; runs commands
 * concurrently up to its channel limit and queues the rest.
 */
export interface CommandRunner {
  /**
   * Runs one already-quoted command line (built by `shellQuote`). Throws a MedicError with an
   * SSH_* code only when the connection itself fails; a command that fails is a RunOutput.
   */
  run(command: string, options: RunOptions): Promise<RunOutput>;
  close(): Promise<void>;
}

/** A host of the inventory with its name. */
export type TargetHost = InventoryHost & { name: string };

/** Opens connections to hosts; the SSH adapter implements it. */
export interface HostConnector {
  /** Throws MedicError SSH_* (refused, unreachable, timeout, auth, host key) with a message saying what to do. */
  connect(host: TargetHost, options?: { signal?: AbortSignal }): Promise<CommandRunner>;
}

/** Everything a diagnosis or remediation needs from the outside world. */
export interface JobDeps {
  connector: HostConnector;
  logger: Logger;
  /** The worker's clock; the host's own clock is read by a check. */
  now: () => Date;
  /** Progress for people (CLI spinner, Slack status); optional. */
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { kind: 'connecting'; host: string }
  | { kind: 'connected'; host: string }
  | { kind: 'check-started'; host: string; check: string }
  | { kind: 'check-finished'; host: string; check: string; status: string; durationMs: number }
  | { kind: 'classifying'; host: string };

/** The diagnosis records the jobs read and finish; the Redis store implements it. */
export interface DiagnosisRecordStore {
  get(id: string): Promise<DiagnosisRecord | undefined>;
  /** Queued becomes running; any other status is left alone (a re-delivered job must not undo `done`). */
  markRunning(id: string): Promise<void>;
  /** Stores the outcome unless another run finished first (then false, and nothing changes). */
  complete(record: DiagnosisRecord, diagnosis: Diagnosis, dedupWindowMs: number): Promise<boolean>;
  /** As `complete`, for a diagnosis that could not run. */
  fail(record: DiagnosisRecord, error: NonNullable<DiagnosisRecord['error']>, dedupWindowMs: number): Promise<boolean>;
  addNote(id: string, note: RootNote): Promise<void>;
  setRemediation(id: string, remediation: NonNullable<DiagnosisRecord['remediation']>): Promise<void>;
}

/** The approvals the remediation job acts on; the Redis store implements it. */
export interface ApprovalRecordStore {
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** True for the first caller only, ever: what keeps a re-delivered remediation from running twice. */
  markStarted(id: string): Promise<boolean>;
  finish(id: string, status: RemediationStatus, result: RemediationResultView): Promise<void>;
}

/** The audit trail, as the jobs write to it. */
export interface AuditRecorder {
  record(entry: Omit<AuditEntry, 'at'>): Promise<void>;
}

/** What posting a report needs; the Slack reporter implements it. */
export interface ReportPublisher {
  refreshRoot(diagnosisId: string): Promise<void>;
  /** Everything a finished diagnosis shows; safe to call again (each reply is posted once). */
  publish(diagnosisId: string): Promise<void>;
}

/** What a finished remediation tells the people in its thread. */
export interface RemediationAnnouncement {
  remediation: RemediationId;
  approvedBy: string;
  result: RemediationResultView;
}

/** What showing a remediation needs; the Slack reporter implements it. */
export interface RemediationPublisher {
  refreshFinding(approvalId: string): Promise<void>;
  refreshRoot(diagnosisId: string): Promise<void>;
  /** Says in the diagnosis' thread how the remediation went; the reporter chooses the words. */
  announceRemediation(diagnosisId: string, announcement: RemediationAnnouncement): Promise<void>;
}
