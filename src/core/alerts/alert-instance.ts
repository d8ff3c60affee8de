import { z } from 'zod';

/** Which webhook an alert arrived on; also the `source` shown in reports. */
export const ALERT_SOURCES = ['alertmanager', 'grafana', 'generic'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

export const AlertStatus = z.enum(['firing', 'resolved']);
export type AlertStatus = z.infer<typeof AlertStatus>;

/** Label names as Prometheus allows them; values are free text but bounded. */
export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * A label set. Names follow Prometheus' rules and values are bounded, so nothing from an
 * alert can blow up a Redis key or a Slack block.
 */
export const LabelSet = z.record(z.string().regex(LABEL_NAME, 'a Prometheus label name'), z.string().max(4096));
export type LabelSet = z.infer<typeof LabelSet>;

/**
 * One alert, whatever webhook it came from: the shape the rest of the product works with.
 * `fingerprint` identifies the alert across firing and resolved notifications.
 */
export interface AlertInstance {
  source: AlertSource;
  fingerprint: string;
  status: AlertStatus;
  alertName: string;
  labels: LabelSet;
  annotations: LabelSet;
  /** One line for people: the summary annotation, else the description, else the alert name. */
  summary: string;
  /** RFC 3339, as the source sent it. */
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
  /** Grafana's `valueString`: the query values that made it fire. */
  value?: string;
}

/** At most this many alerts are taken from one webhook call; the body cap bounds it anyway. */
export const MAX_ALERTS_PER_PAYLOAD = 5000;

export function summaryOf(alertName: string, annotations: LabelSet, explicit?: string): string {
  const text = explicit ?? annotations['summary'] ?? annotations['description'] ?? annotations['message'];
  return text !== undefined && text.trim() !== '' ? text.trim() : alertName;
}
