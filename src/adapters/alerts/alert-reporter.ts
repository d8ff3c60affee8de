import type { AlertSource, LabelSet } from '../../core/alerts/alert-instance.ts';

/** Who asked for a diagnosis, when an alert did: shown on the report's root message. */
export interface AlertRequester {
  kind: 'alert';
  source: AlertSource;
  alertName: string;
  labels: LabelSet;
}

/** A report the alert logic posted or requested: a diagnosis report, or an alert notice. */
export interface ReportRef {
  channel: string;
  /** For diagnosis reports: the Slack side resolves it to the root message. */
  diagnosisId?: string;
  /** Known for notices, and for diagnosis reports once posted. */
  rootTs?: string;
}

/**
 * What the alert logic needs from the Slack side. `DiagnosisService`
 * (src/app-service/diagnosis-service.ts) implements it: its dedup, report rendering and
 * threads. Every `text` is escaped mrkdwn (core/alerts/alert-messages builds it).
 */
export interface AlertReporter {
  /**
   * Queues a diagnosis of an inventory host, or joins the one running or just finished for
   * it (`joined`). Never runs it inline. `reason` is the alert's summary (untrusted).
   */
  requestDiagnosis(request: { host: string; channel: string; requestedBy: AlertRequester; reason?: string; url?: string }): Promise<{
    diagnosisId: string;
    joined: boolean;
    /** Where the report is: a joined request's report may be in another channel. */
    channel?: string;
    rootTs?: string;
  }>;
  /** A short reply in the report's thread. */
  postInThread(ref: ReportRef, text: string): Promise<void>;
  /** Shows the alert state on the report's root message; the verdict stays. */
  markAlertState(ref: ReportRef, state: 'firing' | 'resolved', text: string): Promise<void>;
  /** A root message of its own: alerts for hosts the inventory does not have. */
  postNotice(channel: string, text: string): Promise<{ channel: string; ts: string }>;
  /** Replaces the text of a notice posted by `postNotice`. */
  updateNotice(channel: string, ts: string, text: string): Promise<void>;
}
