import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { MedicError } from '../../errors.ts';
import { Inventory } from './inventory-schema.ts';

/** Where an issue sits, said the way an operator reads the file: `host web-01, field port`. */
function describePath(path: readonly PropertyKey[]): string {
  const [section, name, ...rest] = path.map(String);
  if (section === 'hosts' && name !== undefined) {
    return rest.length > 0 ? `host ${name}, field ${rest.join('.')}` : `host ${name}`;
  }
  if (section === 'groups' && name !== undefined) return `group ${name}`;
  return path.length > 0 ? `field ${path.map(String).join('.')}` : 'top level';
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  - ${describePath(i.path)}: ${i.message}`).join('\n');
}

/** Parses an inventory from YAML text; errors name the file, the host and the field. Pure. */
export function parseInventory(text: string, source: string): Inventory {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 50 });
  } catch (e) {
    throw new MedicError('INVENTORY_INVALID', `${source}: not valid YAML: ${(e as Error).message}`);
  }
  const parsed = Inventory.safeParse(raw);
  if (!parsed.success) {
    throw new MedicError('INVENTORY_INVALID', `${source} is invalid:\n${formatIssues(parsed.error)}`);
  }
  const inventory = parsed.data;
  for (const [group, members] of Object.entries(inventory.groups)) {
    if (Object.hasOwn(inventory.hosts, group)) {
      throw new MedicError('INVENTORY_INVALID', `${source} is invalid:\n  - group ${group}: a host has the same name`);
    }
    for (const member of members) {
      if (!member.includes('*') && !member.includes('?') && !Object.hasOwn(inventory.hosts, member)) {
        throw new MedicError('INVENTORY_INVALID', `${source} is invalid:\n  - group ${group}: unknown host "${member}"`);
      }
    }
  }
  return inventory;
}
