import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Playbook } from '../../core/playbook/playbook-schema.ts';
import { errorMessage, MedicError } from '../../errors.ts';
import { packageRoot } from './package-root.ts';
import { precompiledPlaybook } from './precompiled-playbooks.ts';

/** The playbooks shipped with the package. */
export const DEFAULT_PLAYBOOKS_DIR = join(packageRoot(), 'playbooks');

/**
 * Loads every `*.yaml` playbook of a folder, keyed by name. One invalid playbook fails the
 * whole load: a worker must not start with a playbook it would refuse later.
 */
export async function loadPlaybooks(dir: string = DEFAULT_PLAYBOOKS_DIR): Promise<Map<string, Playbook>> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  } catch (e) {
    throw new MedicError('PLAYBOOK_UNKNOWN', `Playbook folder ${dir} cannot be read: ${errorMessage(e)}`);
  }
  const out = new Map<string, Playbook>();
  for (const file of entries) {
    const path = join(dir, file);
    const text = await readFile(path, 'utf8');
    // The parser (YAML and the playbook schema) loads only for a playbook the build did not see.
    const playbook = precompiledPlaybook(text) ?? (await import('../../core/playbook/parse-playbook.ts')).parsePlaybook(text, path);
    if (out.has(playbook.name)) throw new MedicError('PLAYBOOK_INVALID', `${path}: playbook name "${playbook.name}" is used twice`);
    out.set(playbook.name, playbook);
  }
  return out;
}

export function getPlaybook(playbooks: ReadonlyMap<string, Playbook>, name: string): Playbook {
  const playbook = playbooks.get(name);
  if (playbook === undefined) {
    throw new MedicError('PLAYBOOK_UNKNOWN', `No playbook "${name}". Playbooks: ${[...playbooks.keys()].join(', ') || '(none)'}.`);
  }
  return playbook;
}
