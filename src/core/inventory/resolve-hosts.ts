import { MedicError } from '../../errors.ts';
import { globProblem, isGlob, matchGlob } from './host-glob.ts';
import type { Inventory } from './inventory-schema.ts';

/**
 * Resolves what a user typed (a host, a group, or a glob such as `web-*`) to inventory host
 * names, sorted, without duplicates. Unknown targets raise HOST_UNKNOWN listing what exists; a
 * pattern with too many wildcards raises HOST_PATTERN_REFUSED before anything is matched.
 */
export function resolveHosts(inventory: Inventory, target: string): string[] {
  const names = Object.keys(inventory.hosts);
  if (Object.hasOwn(inventory.hosts, target)) return [target];
  const out = new Set<string>();
  const expand = (pattern: string): void => {
    if (isGlob(pattern)) {
      const problem = globProblem(pattern);
      if (problem !== undefined) throw new MedicError('HOST_PATTERN_REFUSED', `${JSON.stringify(pattern.slice(0, 60))}: ${problem}.`);
      for (const n of names) if (matchGlob(pattern, n)) out.add(n);
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
