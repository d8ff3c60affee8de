import { MedicError } from '../../errors.ts';
import type { Inventory } from './inventory-schema.ts';

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${escaped}$`);
}

/**
 * Resolves what a user typed (a host, a group, or a glob such as `web-*`) to inventory host
 * names, sorted, without duplicates. Unknown targets raise HOST_UNKNOWN listing what exists.
 */
export function resolveHosts(inventory: Inventory, target: string): string[] {
  const names = Object.keys(inventory.hosts);
  if (Object.hasOwn(inventory.hosts, target)) return [target];
  const out = new Set<string>();
  const expand = (pattern: string): void => {
    if (pattern.includes('*') || pattern.includes('?')) {
      const re = globToRegExp(pattern);
      for (const n of names) if (re.test(n)) out.add(n);
    } else if (Object.hasOwn(inventory.hosts, pattern)) {
      out.add(pattern);
    }
  };
  const group = Object.hasOwn(inventory.groups, target) ? inventory.groups[target] : undefined;
  if (group !== undefined) group.forEach(expand);
  else if (/^[A-Za-z0-9._*?-]{1,100}$/.test(target)) expand(target);
  if (out.size === 0) {
    throw new MedicError('HOST_UNKNOWN', unknownHostMessage(inventory, target));
  }
  return [...out].sort();
}

export function unknownHostMessage(inventory: Inventory, target: string): string {
  const hosts = Object.keys(inventory.hosts).sort();
  const groups = Object.keys(inventory.groups).sort();
  const shown = JSON.stringify(target.length > 60 ? `${target.slice(0, 60)}…` : target);
  return (
    `No host, group or pattern ${shown} in the inventory. ` +
    `Hosts: ${hosts.length > 0 ? hosts.join(', ') : '(none)'}` +
    (groups.length > 0 ? `. Groups: ${groups.join(', ')}` : '') +
    '.'
  );
}
