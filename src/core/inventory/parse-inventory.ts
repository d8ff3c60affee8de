import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { MedicError } from '../../errors.ts';
import { AnsibleInventoryError, ansibleIniToMedic, ansibleYamlToMedic, isAnsibleIni, isAnsibleYaml } from './ansible-inventory.ts';
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

/** Which Ansible variable fills each of our host fields, for error messages. */
const ANSIBLE_VARS: Record<string, string> = {
  address: 'ansible_host',
  port: 'ansible_port',
  user: 'ansible_user',
  privateKeyPath: 'ansible_ssh_private_key_file',
  knownHostsPath: 'medic_known_hosts_path',
};

/** Our YAML, or an Ansible inventory (INI or YAML) converted to its shape; `kind` is said in errors. */
function readRaw(text: string, source: string): { raw: unknown; kind: string } {
  let yaml: unknown;
  let yamlError: Error | undefined;
  try {
    yaml = parseYaml(text, { maxAliasCount: 50 });
  } catch (e) {
    yamlError = e as Error;
  }
  try {
    if (isAnsibleIni(text, yaml)) return { raw: ansibleIniToMedic(text), kind: ' (read as an Ansible INI inventory)' };
    if (yamlError === undefined && isAnsibleYaml(yaml))
      return { raw: ansibleYamlToMedic(yaml as Record<string, unknown>), kind: ' (read as an Ansible YAML inventory)' };
  } catch (e) {
    if (e instanceof AnsibleInventoryError)
      throw new MedicError('INVENTORY_INVALID', `${source} is invalid (read as an Ansible inventory):\n  - ${e.message}`);
    throw e;
  }
  if (yamlError !== undefined) throw new MedicError('INVENTORY_INVALID', `${source}: not valid YAML: ${yamlError.message}`);
  return { raw: yaml, kind: '' };
}

/**
 * Parses an inventory: our YAML, or an Ansible inventory (INI or YAML), both through the same
 * schema; errors name the file, the host and the field. Pure.
 */
export function parseInventory(text: string, source: string): Inventory {
  const { raw, kind } = readRaw(text, source);
  const parsed = Inventory.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new MedicError(
      'INVENTORY_INVALID',
      `${source} is invalid${kind}:\n${kind === '' ? issues : issues.replace(/field (address|port|user|privateKeyPath|knownHostsPath)\b/g, (m, f: string) => `${m} (${ANSIBLE_VARS[f]})`)}`,
    );
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
