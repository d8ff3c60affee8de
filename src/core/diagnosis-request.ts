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
