import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { errorMessage, MedicError } from '../../errors.ts';
import { isTemplateFact } from '../facts.ts';
import { checkReadOnly } from './allowlist.ts';
import { ITEM_FIELDS } from './each-lists.ts';
import { Playbook } from './playbook-schema.ts';
import { placeholders, sampleArgv } from './template.ts';

/**
 * Parses and validates a playbook from its YAML text. Pure: the caller reads the file.
 * Refuses, with the file, check and reason, any playbook whose commands are not all on the
 * read-only allowlist, or that uses an unknown fact.
 */
export function parsePlaybook(text: string, source: string): Playbook {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 50 });
  } catch (e) {
    throw new MedicError('PLAYBOOK_INVALID', `${source}: not valid YAML: ${errorMessage(e)}`);
  }
  const parsed = Playbook.safeParse(raw);
  if (!parsed.success) {
    throw new MedicError('PLAYBOOK_INVALID', `${source}: ${z.prettifyError(parsed.error)}`);
  }
  const playbook = parsed.data;
  const seen = new Set<string>();
  for (const check of playbook.checks) {
    if (seen.has(check.id)) throw new MedicError('PLAYBOOK_INVALID', `${source}: check id "${check.id}" appears twice`);
    seen.add(check.id);
    for (const argv of [check.run, ...(check.fallback ?? [])]) {
      const itemFields = check.each === undefined ? {} : ITEM_FIELDS[check.each];
      for (const name of argv.flatMap(placeholders)) {
        if (!isTemplateFact(name) && !Object.hasOwn(itemFields, name)) {
          throw new MedicError('PLAYBOOK_INVALID', `${source}: check "${check.id}" uses unknown fact {{${name}}}`);
        }
      }
      const problem = checkReadOnly(sampleArgv(argv, check.each));
      if (problem !== null) {
        throw new MedicError('PLAYBOOK_INVALID', `${source}: check "${check.id}" is not read-only: ${problem}`);
      }
    }
  }
  return playbook;
}
