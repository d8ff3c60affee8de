import { z } from 'zod';
import { AlertStatus, LabelSet, MAX_ALERTS_PER_PAYLOAD, summaryOf, type AlertInstance } from './alert-instance.ts';

/**
 * One alert of an Alertmanager webhook notification. Loose: Alertmanager adds fields between
 * releases, and refusing a notification over a field we do not read would lose the alert.
 */
export const AlertmanagerAlert = z.looseObject({
  status: AlertStatus,
  labels: LabelSet,
  annotations: LabelSet.default({}),
  startsAt: z.string().max(64),
  endsAt: z.string().max(64),
  generatorURL: z.string().max(4096).default(''),
  fingerprint: z.string().min(1).max(64),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

/** Alertmanager's webhook body, version "4" (the only version it has ever sent). */
export const AlertmanagerPayload = z.looseObject({
  version: z.literal('4'),
  groupKey: z.string().max(16_384),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: AlertStatus,
  receiver: z.string().max(1024),
  groupLabels: LabelSet.default({}),
  commonLabels: LabelSet.default({}),
  commonAnnotations: LabelSet.default({}),
  externalURL: z.string().max(4096).default(''),
  alerts: z.array(AlertmanagerAlert).max(MAX_ALERTS_PER_PAYLOAD),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

export function alertmanagerAlerts(payload: AlertmanagerPayload): AlertInstance[] {
  return payload.alerts.map((a) => {
    const alertName = a.labels['alertname'] ?? payload.commonLabels['alertname'] ?? 'alert';
    return {
      source: 'alertmanager',
      fingerprint: a.fingerprint,
      status: a.status,
      alertName,
      labels: a.labels,
      annotations: a.annotations,
      summary: summaryOf(alertName, a.annotations),
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      ...(a.generatorURL !== '' ? { generatorURL: a.generatorURL } : {}),
    };
  });
}
