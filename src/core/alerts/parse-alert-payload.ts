import type { z } from 'zod';
import type { AlertInstance, AlertSource } from './alert-instance.ts';
import { AlertmanagerPayload, alertmanagerAlerts } from './alertmanager-payload.ts';
import { genericAlerts, parseGenericPayload } from './generic-payload.ts';
import { GrafanaPayload, grafanaAlerts } from './grafana-payload.ts';

export type ParsedAlerts = { ok: true; alerts: AlertInstance[]; truncatedAlerts: number } | { ok: false; error: string };

/** At most this many issues are echoed back to a sender; the rest are counted. */
const MAX_ISSUES = 5;

function describe(error: z.ZodError): string {
  const shown = error.issues.slice(0, MAX_ISSUES).map((i) => {
    const where = i.path.length > 0 ? i.path.map(String).join('.') : '(body)';
    return `${where}: ${i.message}`;
  });
  const more = error.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * Validates an already JSON-decoded webhook body for one source and turns it into alerts.
 * Pure; the error text is safe to send back to the sender (paths and messages, no values).
 */
export function parseAlertPayload(source: AlertSource, body: unknown): ParsedAlerts {
  switch (source) {
    case 'alertmanager': {
      const r = AlertmanagerPayload.safeParse(body);
      return r.success
        ? { ok: true, alerts: alertmanagerAlerts(r.data), truncatedAlerts: r.data.truncatedAlerts }
        : { ok: false, error: describe(r.error) };
    }
    case 'grafana': {
      const r = GrafanaPayload.safeParse(body);
      return r.success
        ? { ok: true, alerts: grafanaAlerts(r.data), truncatedAlerts: r.data.truncatedAlerts }
        : { ok: false, error: describe(r.error) };
    }
    case 'generic': {
      const r = parseGenericPayload(body);
      return r.success ? { ok: true, alerts: genericAlerts(r.data), truncatedAlerts: 0 } : { ok: false, error: describe(r.error) };
    }
  }
}
