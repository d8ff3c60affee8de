import type { AlertSource, LabelSet } from '../../core/alerts/alert-instance.ts';

/** Who asked for a diagnosis, when an alert did: shown in the report's root message. */
export interface AlertRequester {
  kind: 'alert';
  source: AlertSource;
  alertName: string;
  summary: string;
  labels: LabelSet;
  /** How many alerts of this host the webhook call carried. */
  alertCount: number;
}

/** A report the alert logic posted or requested: a diagnosis report, or an alert notice. */
export interface ReportRef {
  channel: string;
  /** For diagnosis reports: the service resolves it to the root message. */
  diagnosisId?: string;
  /** Known for notices, and for diagnosis reports once the service has said. */
  rootTs?: string;
}

/**
 * What the alert logic needs from the Slack side. The Slack service implements it (its
 * dedup, report rendering and threads); `test/helpers` has one over the Web API alone.
 */
export interface AlertReporter {
  /**
   * Queues a diagnosis of an inventory host, or joins one already running for it
   * (`joined`). Never runs it inline.
   */
  requestDiagnosis(request: { host: string; channel: string; requestedBy: AlertRequester }): Promise<{
    diagnosisId: string;
    joined: boolean;
    rootTs?: string;
  }>;
  /** A short reply in the report's thread. */
  postInThread(ref: ReportRef, text: string): Promise<void>;
  /**
   * Shows the alert state on the report's root message (the verdict stays). `note` is plain,
   * unescaped text: the report renderer escapes it.
   */
  markAlertState(ref: ReportRef, state: 'firing' | 'resolved', note: string): Promise<void>;
  /** A root message of its own: alerts for hosts the inventory does not have. */
  postNotice(channel: string, text: string): Promise<{ channel: string; ts: string }>;
  /** Replaces the text of a notice posted by `postNotice`. */
  updateNotice(channel: string, ts: string, text: string): Promise<void>;
}
