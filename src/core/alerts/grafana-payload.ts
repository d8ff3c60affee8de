import { z } from 'zod';
import { AlertStatus, LabelSet, MAX_ALERTS_PER_PAYLOAD, summaryOf, type AlertInstance } from './alert-instance.ts';

/** One alert of a Grafana (unified alerting) webhook notification; loose for the same reason as Alertmanager's. */
export const GrafanaAlert = z.looseObject({
  status: AlertStatus,
  labels: LabelSet,
  annotations: LabelSet.default({}),
  startsAt: z.string().max(64).optional(),
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().min(1).max(64),
  valueString: z.string().max(4096).optional(),
});
export type GrafanaAlert = z.infer<typeof GrafanaAlert>;

/**
 * Grafana's webhook body: Alertmanager's shape plus `orgId`, `title`, `state`, `message`.
 * `version` is "1" today; it is not pinned so that a future version still reaches us.
 */
export const GrafanaPayload = z.looseObject({
  receiver: z.string().max(1024).default(''),
  status: AlertStatus,
  orgId: z.number().int(),
  alerts: z.array(GrafanaAlert).max(MAX_ALERTS_PER_PAYLOAD),
  groupLabels: LabelSet.default({}),
  commonLabels: LabelSet.default({}),
  commonAnnotations: LabelSet.default({}),
  externalURL: z.string().max(4096).default(''),
  version: z.string().max(16).optional(),
  groupKey: z.string().max(16_384).optional(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  title: z.string().max(16_384).optional(),
  state: z.string().max(64).optional(),
  message: z.string().max(262_144).optional(),
});
export type GrafanaPayload = z.infer<typeof GrafanaPayload>;

export function grafanaAlerts(payload: GrafanaPayload): AlertInstance[] {
  return payload.alerts.map((a) => {
    const alertName = a.labels['alertname'] ?? payload.commonLabels['alertname'] ?? payload.title ?? 'alert';
    return {
      source: 'grafana',
      fingerprint: a.fingerprint,
      status: a.status,
      alertName,
      labels: a.labels,
      annotations: a.annotations,
      summary: summaryOf(alertName, a.annotations),
      ...(a.startsAt !== undefined ? { startsAt: a.startsAt } : {}),
      ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
      ...(a.generatorURL !== undefined && a.generatorURL !== '' ? { generatorURL: a.generatorURL } : {}),
      ...(a.valueString !== undefined && a.valueString !== '' ? { value: a.valueString } : {}),
    };
  });
}
