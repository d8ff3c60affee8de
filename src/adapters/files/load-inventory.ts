import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { errorMessage, MedicError } from '../../errors.ts';
import type { Inventory } from '../../core/inventory/inventory-schema.ts';
import { parseInventory } from '../../core/inventory/parse-inventory.ts';

/** Where the inventory is looked for when neither --inventory nor MEDIC_INVENTORY says. */
export const DEFAULT_INVENTORY = './inventory.yaml';

/** `~/x` is the user's home; a relative path is relative to the inventory file, not the cwd. */
export function resolveKeyPath(path: string, inventoryFile: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(dirname(inventoryFile), path);
}

/** Reads and validates an inventory file; key paths come back absolute. */
export async function loadInventory(path: string): Promise<Inventory> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new MedicError('INVENTORY_NOT_FOUND', `Inventory ${file} does not exist. Pass --inventory FILE or set MEDIC_INVENTORY.`);
    }
    throw new MedicError('INVENTORY_INVALID', `Inventory ${file} cannot be read: ${errorMessage(e)}`);
  }
  const inventory = parseInventory(text, file);
  for (const host of Object.values(inventory.hosts)) {
    host.privateKeyPath = resolveKeyPath(host.privateKeyPath, file);
    host.knownHostsPath = resolveKeyPath(host.knownHostsPath, file);
  }
  return inventory;
}
