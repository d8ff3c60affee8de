import type { Inventory } from '../inventory/inventory-schema.ts';
import type { LabelSet } from './alert-instance.ts';

/** The labels tried, in order, when none are configured (MEDIC_ALERT_HOST_LABELS). */
export const DEFAULT_HOST_LABELS: readonly string[] = ['host', 'instance', 'hostname', 'nodename'];

export type HostMatch =
  /** `label` is the alert label that named the host; `value` what it said. */
  | { kind: 'inventory'; host: string; label: string; value: string }
  /** `candidate` is the first host-like value found (port and scheme removed), if any. */
  | { kind: 'unknown'; candidate?: string; label?: string };

/**
 * More hosts than this that the inventory does not have, firing in one webhook call (a
 * fleet-wide alert, a rule over pods), are told in one notice per alert name, not one each.
 */
export const UNKNOWN_HOSTS_PER_NOTICE = 5;

/** The incident key of such a notice: `*` is in no host name, so it meets no single host's key. */
export const unknownFleetKey = (alertName: string): string => `?*${alertName}`;

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * What a label value says the host is: `web-01:9113` → `web-01`, `[fe80::1]:9100` →
 * `fe80::1`, `https://web-01.example.com:8443/health` → `web-01.example.com`. Exporters put
 * ports (and blackbox, URLs) into `instance`; the inventory has bare names and addresses.
 */
export function hostFromLabelValue(value: string): string {
  let v = value.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(v);
  if (scheme !== null) {
    v = v.slice(scheme[0].length);
    v = v.split(/[/?#]/, 1)[0] ?? '';
    const at = v.lastIndexOf('@');
    if (at >= 0) v = v.slice(at + 1);
  }
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/i.exec(v);
  if (bracketed !== null) return (bracketed[1] as string).toLowerCase();
  // One colon is host:port; several without brackets is a bare IPv6 address.
  const colons = v.split(':').length - 1;
  if (colons === 1 && /:\d{1,5}$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  return v.replace(/\.$/, '').toLowerCase();
}

/** `web-01.prod.example.com` → `prod.example.com`; undefined for a single label or an address. */
function domainOf(name: string): string | undefined {
  const v = name.toLowerCase().replace(/\.$/, '');
  if (IPV4.test(v) || v.includes(':') || !v.includes('.')) return undefined;
  return v.slice(v.indexOf('.') + 1);
}

/** The DNS domains of the inventory's FQDN host names and addresses. */
export function inventoryDomains(inventory: Inventory): Set<string> {
  const out = new Set<string>();
  for (const [name, h] of Object.entries(inventory.hosts)) {
    for (const d of [domainOf(name), domainOf(h.address)]) if (d !== undefined && d !== '') out.add(d);
  }
  return out;
}

function findInInventory(inventory: Inventory, candidate: string): string | undefined {
  const names = Object.keys(inventory.hosts);
  const byName = names.find((n) => n.toLowerCase() === candidate);
  if (byName !== undefined) return byName;
  const byAddress = names.filter((n) => inventory.hosts[n]?.address.toLowerCase() === candidate);
  if (byAddress.length === 1) return byAddress[0];
  // node_exporter and friends report FQDNs; inventories often use the short name. Only in a
  // domain the inventory itself uses: `web-01.attacker.example` is not our `web-01`.
  const domain = domainOf(candidate);
  if (domain !== undefined && inventoryDomains(inventory).has(domain)) {
    const short = candidate.slice(0, candidate.indexOf('.'));
    const byShort = names.filter((n) => n.toLowerCase() === short);
    if (byShort.length === 1) return byShort[0];
  }
  return undefined;
}

/**
 * Finds the inventory host an alert is about: the labels are tried in the configured order,
 * each value stripped of port and scheme, and matched against host names, then addresses,
 * then (for an FQDN in a domain that the inventory's own names or addresses use) its first label. An alert that names no known host is `unknown`, with
 * the first candidate found so the report can say which host it meant.
 */
export function mapAlertToHost(labels: LabelSet, inventory: Inventory, hostLabels: readonly string[] = DEFAULT_HOST_LABELS): HostMatch {
  let first: { candidate: string; label: string } | undefined;
  for (const label of hostLabels) {
    const value = labels[label];
    if (value === undefined || value.trim() === '') continue;
    const candidate = hostFromLabelValue(value);
    if (candidate === '') continue;
    const host = findInInventory(inventory, candidate);
    if (host !== undefined) return { kind: 'inventory', host, label, value };
    first ??= { candidate, label };
  }
  return first === undefined ? { kind: 'unknown' } : { kind: 'unknown', candidate: first.candidate, label: first.label };
}
