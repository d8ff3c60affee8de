import type { Inventory } from '../inventory/inventory-schema.ts';
import type { AlertInstance } from './alert-instance.ts';
import { mapAlertToHost, UNKNOWN_HOSTS_PER_NOTICE, unknownFleetKey, type HostMatch } from './map-alert-host.ts';

/** The alerts of one webhook call that belong to one incident (a host, or a notice). */
export interface AlertGroup {
  /** The incident key: an inventory host, `?<candidate>` for an unknown host, `?*<alert name>` for many. */
  key: string;
  /** The inventory host; absent for unknown hosts. */
  host?: string;
  match: HostMatch;
  alerts: AlertInstance[];
  /** One notice for many unknown hosts: the host names it stands for, sorted. */
  fleet?: string[];
}

export interface GroupAlertsOptions {
  inventory: Inventory;
  /** MEDIC_ALERT_HOST_LABELS. */
  hostLabels: readonly string[];
  /** For resolved alerts: the key they fired under, by `firedUnderKey(source, fingerprint)`. */
  firedUnder: ReadonlyMap<string, string>;
}

export const firedUnderKey = (source: string, fingerprint: string): string => `${source}:${fingerprint}`;

/**
 * Groups one webhook call's alerts per incident. A firing alert goes to the host its labels
 * name; a resolution goes to the incident it fired into (even if labels or the inventory changed
 * since), else where its labels point. When more than UNKNOWN_HOSTS_PER_NOTICE hosts the inventory
 * does not have fire in this call, their firing alerts are regrouped per alert name: one notice
 * (one incident, one thread of updates, one resolution) instead of one per host.
 */
export function groupAlerts(alerts: readonly AlertInstance[], o: GroupAlertsOptions): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const alert of alerts) {
    const match = mapAlertToHost(alert.labels, o.inventory, o.hostLabels);
    const mapped = match.kind === 'inventory' ? match.host : `?${match.candidate ?? `alert:${alert.alertName}`}`;
    const key = (alert.status === 'resolved' ? o.firedUnder.get(firedUnderKey(alert.source, alert.fingerprint)) : undefined) ?? mapped;
    let group = groups.get(key);
    if (group === undefined) {
      const host = key.startsWith('?') ? undefined : key;
      const groupMatch: HostMatch =
        host !== undefined
          ? {
              kind: 'inventory',
              host,
              label: match.kind === 'inventory' ? match.label : '',
              value: match.kind === 'inventory' ? match.value : '',
            }
          : match.kind === 'unknown'
            ? match
            : { kind: 'unknown', candidate: key.slice(1) };
      group = { key, ...(host !== undefined ? { host } : {}), match: groupMatch, alerts: [] };
      groups.set(key, group);
    }
    group.alerts.push(alert);
  }
  return collapseUnknownHosts(groups);
}

type UnknownGroup = AlertGroup & { match: { kind: 'unknown'; candidate: string } };
const isUnknownHost = (g: AlertGroup): g is UnknownGroup =>
  g.host === undefined && g.match.kind === 'unknown' && g.match.candidate !== undefined;

function collapseUnknownHosts(groups: Map<string, AlertGroup>): AlertGroup[] {
  const unknown = [...groups.values()].filter(isUnknownHost).filter((g) => g.alerts.some((a) => a.status === 'firing'));
  if (unknown.length <= UNKNOWN_HOSTS_PER_NOTICE) return [...groups.values()];
  for (const g of unknown) {
    // Resolutions stay with the incident they belong to; only what fires joins the notice.
    const resolved = g.alerts.filter((a) => a.status !== 'firing');
    if (resolved.length > 0) groups.set(g.key, { ...g, alerts: resolved });
    else groups.delete(g.key);
    for (const alert of g.alerts.filter((a) => a.status === 'firing')) {
      const key = unknownFleetKey(alert.alertName);
      // The notice's group may exist already, holding resolutions of alerts that fired into it.
      const fleet = groups.get(key) ?? { key, match: g.match, alerts: [] };
      groups.set(key, fleet);
      fleet.alerts.push(alert);
      fleet.fleet ??= [];
      if (!fleet.fleet.includes(g.match.candidate)) fleet.fleet.push(g.match.candidate);
    }
  }
  const out = [...groups.values()];
  for (const g of out) g.fleet?.sort();
  return out;
}
