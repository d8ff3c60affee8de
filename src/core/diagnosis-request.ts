import type { Diagnosis } from './finding.ts';
import type { RemediationView } from './remediation/remediation-result.ts';

/*
 * A request for a diagnosis and what became of it, as the stores keep it and the reports show
 * it. Data only: the renderers and the Redis stores both depend on these, never on each other.
 */

/** Who asked for a diagnosis. */
export type Requester =
  | { kind: 'user'; userId: string }
  | { kind: 'alert'; source: string; alertName: string; labels: Record<string, string>; summary?: string; alertCount?: number };

/** Where a diagnosis stands. */
export type DiagnosisStatus = 'queued' | 'running' | 'done' | 'failed';

/** A line shown under a diagnosis' root message (an alert firing again, resolved, a host not answering). */
export interface RootNote {
  /** ISO time. */
  at: string;
  kind: 'firing' | 'resolved' | 'info';
  /** Untrusted text (an alert's summary), escaped when rendered; or, with `mrkdwn`, text another module escaped. */
  text: string;
  mrkdwn?: boolean;
}

/** One diagnosis request and what became of it; the root message is rendered from this. */
export interface DiagnosisRecord {
  id: string;
  host: string;
  playbook: string;
  channel: string;
  /** ts of the root message, once posted. */
  rootTs?: string;
  /** Set when the root is itself a reply (a fan-out host's report in the summary's thread): the thread its findings go to. */
  threadTs?: string;
  requestedBy: Requester;
  requestedAt: string;
  reason?: string;
  /** The public URL that failed, checked (parsePublicUrl): the job asks the host's nginx for it. */
  url?: string;
  status: DiagnosisStatus;
  diagnosis?: Diagnosis;
  error?: { code?: string; message: string; hint?: string };
  joiners: Requester[];
  notes: RootNote[];
  /** Set (Redis's clock, ms) until the job is confirmed queued; joiners wait for it to go. */
  pendingSince?: string;
  /** The remediation approved from this diagnosis, if any. */
  remediation?: Pick<RemediationView, 'remediation' | 'approvedBy' | 'status'> & { recovered?: boolean };
}
