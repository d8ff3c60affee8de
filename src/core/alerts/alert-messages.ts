import { escapeCode, escapeMrkdwn, fenceCode, inlineCode } from '../report/escape-mrkdwn.ts';
import type { AlertInstance } from './alert-instance.ts';
import { unknownFleetKey, type HostMatch } from './map-alert-host.ts';
import type { AlertIncident, IncidentUpdate } from './plan-alert-incident.ts';
import { plural } from '../classifier/wording.ts';

export { escapeMrkdwn };

/** A fenced block whose content cannot close the fence, cut at `maxChars`. */
export function codeBlock(text: string, maxChars = 2500): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}\n… (${text.length - maxChars} more characters)` : text;
  return fenceCode(escapeCode(cut));
}

/** Labels one per line, sorted, for a code block. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k] ?? ''}"`)
    .join('\n');
}

function names(incident: AlertIncident): string {
  const shown = incident.alertNames.slice(0, 5).map(escapeMrkdwn).join(', ');
  return incident.alertNames.length > 5 ? `${shown}, …` : shown;
}

/** Human durations for thread texts: "45s", "12m", "3h 5m". */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** The short "still firing" thread reply that replaces a new diagnosis during a storm. */
export function stillFiringText(incident: AlertIncident, update: IncidentUpdate, windowMs: number, now: number): string {
  const head = update.refired
    ? `:rotating_light: *Firing again*: ${plural(update.firing, 'alert')} (${names(incident)}).`
    : update.firing > 0
      ? `:rotating_light: *Still firing*: ${plural(update.firing, 'alert')} (${names(incident)}).`
      : `:rotating_light: *Still firing* (${names(incident)}).`;
  const parts = [head];
  if (update.newlyFiring > 0 && !update.refired) parts.push(`${update.newlyFiring} new.`);
  if (update.resolved > 0) parts.push(`${update.resolved} resolved.`);
  if (update.notifications > 1) parts.push(`${update.notifications} notifications since the last update.`);
  const next = incident.reportedAt + windowMs - now;
  parts.push(next > 0 ? `Not diagnosed again for ${formatSpan(next)}.` : 'A new diagnosis starts with the next notification.');
  return parts.join(' ');
}

export function resolvedText(incident: AlertIncident, now: number): string {
  const whose = incident.key.startsWith(unknownFleetKey('')) ? 'these hosts' : 'this host';
  return `:white_check_mark: *Resolved*: every alert for ${whose} stopped firing (${names(incident)}), ${formatSpan(now - incident.reportedAt)} after the report.`;
}

/** A plain (unescaped) one-liner for the report's root message; escape it before sending. */
export function alertStateNote(incident: AlertIncident, state: 'firing' | 'resolved', now: number): string {
  const shown = incident.alertNames.slice(0, 5).join(', ') + (incident.alertNames.length > 5 ? ', …' : '');
  return state === 'resolved'
    ? `Alert resolved (${shown}) ${formatSpan(now - incident.reportedAt)} after the report`
    : `Alert firing again (${shown})`;
}

/** Said in the old thread when a long-firing incident gets a fresh diagnosis. */
export function supersededText(windowMs: number): string {
  return `:repeat: Still firing after ${formatSpan(windowMs)}: a new diagnosis was started in a new report.`;
}

/** The root line of an alert for a host the inventory does not have; nothing is diagnosed. */
export function unknownHostText(alert: AlertInstance, match: HostMatch & { kind: 'unknown' }): string {
  const who =
    match.candidate !== undefined
      ? `for host ${inlineCode(match.candidate)} (label ${inlineCode(match.label ?? '')}), which is not in the inventory`
      : 'with no host label the bot knows (set MEDIC_ALERT_HOST_LABELS), so no host to diagnose';
  return [
    `:warning: ${alertOrigin(alert)} *${escapeMrkdwn(alert.alertName)}* ${who}. Nothing was diagnosed.`,
    `> ${escapeMrkdwn(alert.summary)}`,
    codeBlock(formatLabels(alert.labels)),
  ].join('\n');
}

/** At most this many host names are listed in a notice about many unknown hosts. */
const LISTED_HOSTS = 20;

/** The root line of one alert firing for many hosts the inventory does not have; nothing is diagnosed. */
export function unknownHostsText(alert: AlertInstance, candidates: readonly string[], label: string | undefined): string {
  const listed = candidates.slice(0, LISTED_HOSTS).map(inlineCode).join(', ');
  const more = candidates.length > LISTED_HOSTS ? ` and ${candidates.length - LISTED_HOSTS} more` : '';
  return [
    `:warning: ${alertOrigin(alert)} *${escapeMrkdwn(alert.alertName)}* fires for ${plural(candidates.length, 'host')} that are not in the inventory${label !== undefined ? ` (label ${inlineCode(label)})` : ''}: ${listed}${more}. Nothing was diagnosed; one notice for all of them.`,
    `> ${escapeMrkdwn(alert.summary)}`,
    codeBlock(formatLabels(alert.labels)),
  ].join('\n');
}

/** Appended to an unknown-host root message when its alerts resolve. */
export function unknownHostResolvedText(original: string, now: number, incident: AlertIncident): string {
  return `${original}\n:white_check_mark: Resolved after ${formatSpan(now - incident.reportedAt)}.`;
}

export function alertOrigin(alert: Pick<AlertInstance, 'source'>): string {
  return alert.source === 'alertmanager' ? 'Alertmanager alert' : alert.source === 'grafana' ? 'Grafana alert' : 'Alert';
}
