import { z } from 'zod';
import { AlertStatus, LabelSet, MAX_ALERTS_PER_PAYLOAD, summaryOf, type AlertInstance } from './alert-instance.ts';
import { labelFingerprint } from './label-fingerprint.ts';

/**
 * The generic webhook's alert, for senders that are neither Alertmanager nor Grafana
 * (a cron check, a synthetic probe, a script). Strict: this is our own form, so a misspelt
 * field is an error the sender should hear about, not an alert silently missing its host.
 */
export const GenericAlert = z
  .strictObject({
    /** The inventory host (or its address); shorthand for `labels.host`. */
    host: z.string().min(1).max(253).optional(),
    labels: LabelSet.default({}),
    status: AlertStatus.default('firing'),
    alertname: z.string().min(1).max(256),
    summary: z.string().max(4096).optional(),
    /** The public URL that failed (https://shop.example/checkout): asked of the host's own nginx. */
    url: z.string().max(2048).optional(),
    /** Stable id across firing and resolved; derived from the labels when absent. */
    fingerprint: z.string().min(1).max(64).optional(),
  })
  .refine((a) => a.host !== undefined || Object.keys(a.labels).length > 0, {
    message: 'give "host" or at least one label so that the alert can be matched to a host',
  });
export type GenericAlert = z.infer<typeof GenericAlert>;

/** Several alerts in one call: `{ "alerts": [...] }`. */
export const GenericBatch = z.strictObject({ alerts: z.array(GenericAlert).min(1).max(MAX_ALERTS_PER_PAYLOAD) });
export type GenericBatch = z.infer<typeof GenericBatch>;

/** One alert, or several in `{ "alerts": [...] }`. */
export const GenericPayload = z.union([GenericAlert, GenericBatch]);
export type GenericPayload = z.infer<typeof GenericPayload>;

/**
 * Parses with the branch the body is shaped for, so that errors name the field at fault
 * instead of zod's "no union member matched".
 */
export function parseGenericPayload(body: unknown): ReturnType<typeof GenericPayload.safeParse> {
  const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'alerts' in body;
  return isBatch ? GenericBatch.safeParse(body) : GenericAlert.safeParse(body);
}

export function genericAlerts(payload: GenericPayload): AlertInstance[] {
  const list = 'alerts' in payload ? payload.alerts : [payload];
  return list.map((a) => {
    const annotations: LabelSet = {};
    if (a.summary !== undefined) annotations['summary'] = a.summary;
    if (a.url !== undefined) annotations['url'] = a.url;
    const labels: LabelSet = { alertname: a.alertname, ...a.labels, ...(a.host !== undefined ? { host: a.host } : {}) };
    return {
      source: 'generic',
      fingerprint: a.fingerprint ?? labelFingerprint(labels),
      status: a.status,
      alertName: a.alertname,
      labels,
      annotations,
      summary: summaryOf(a.alertname, {}, a.summary),
    };
  });
}
