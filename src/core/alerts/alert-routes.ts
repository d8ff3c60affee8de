import { LABEL_NAME, type LabelSet } from './alert-instance.ts';

/** One `label=value:channel` rule of MEDIC_ALERT_ROUTES. */
export interface AlertRoute {
  label: string;
  value: string;
  channel: string;
}

/** A channel id (C…, G…) or a channel name with or without `#`, as MEDIC_ALERT_CHANNEL takes them. */
const CHANNEL = /^(?:#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,20})$/;

export type ParsedRoutes = { ok: true; routes: AlertRoute[] } | { ok: false; error: string };

/**
 * Parses MEDIC_ALERT_ROUTES: comma-separated `label=value:channel` rules, e.g.
 * `team=web:#web-oncall,severity=critical:#incidents`. The channel follows the last colon, so
 * values may contain colons (`instance=db:5432:#db`). Errors name the rule at fault.
 */
export function parseAlertRoutes(text: string): ParsedRoutes {
  const routes: AlertRoute[] = [];
  const rules = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  for (const rule of rules) {
    const eq = rule.indexOf('=');
    const colon = rule.lastIndexOf(':');
    if (eq <= 0 || colon < eq) {
      return { ok: false, error: `route "${rule}" is not label=value:channel` };
    }
    const label = rule.slice(0, eq).trim();
    const value = rule.slice(eq + 1, colon).trim();
    const channel = rule.slice(colon + 1).trim();
    if (!LABEL_NAME.test(label)) return { ok: false, error: `route "${rule}": "${label}" is not a label name` };
    if (value === '') return { ok: false, error: `route "${rule}": the value is empty` };
    if (!CHANNEL.test(channel)) {
      return { ok: false, error: `route "${rule}": "${channel}" is not a channel (#name or a C… id)` };
    }
    routes.push({ label, value, channel });
  }
  return { ok: true, routes };
}

/** The channel of the first route whose label matches exactly; else the default channel. */
export function routeAlert(labels: LabelSet, routes: readonly AlertRoute[], defaultChannel: string): string {
  for (const r of routes) {
    if (labels[r.label] === r.value) return r.channel;
  }
  return defaultChannel;
}

export const isChannel = (text: string): boolean => CHANNEL.test(text);
