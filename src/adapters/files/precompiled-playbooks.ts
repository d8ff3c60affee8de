import { createHash } from 'node:crypto';
import type { Playbook } from '../../core/playbook/playbook-schema.ts';

/**
 * Set by `npm run build` in the precompiled command line (esbuild's `define`): the shipped
 * playbooks as parsed and checked at build time, as JSON `{ [sha256 of the YAML text]: Playbook }`.
 * Undefined when running from the sources, whose parser may differ from the one that built it.
 */
declare const MEDIC_PRECOMPILED_PLAYBOOKS: string | undefined;

let table: Map<string, string> | undefined;

/** sha256 of a playbook's text: the key under which its precompiled form is kept. */
export const playbookDigest = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The playbook this exact text parsed to at build time, if it is one of those the build saw.
 * Parsing and checking YAML costs a new `medic` process tens of milliseconds of cold code; a
 * file anyone changed since the build has another digest and is parsed as usual.
 */
export function precompiledPlaybook(text: string): Playbook | undefined {
  if (typeof MEDIC_PRECOMPILED_PLAYBOOKS !== 'string') return undefined;
  table ??= new Map(
    Object.entries(JSON.parse(MEDIC_PRECOMPILED_PLAYBOOKS) as Record<string, unknown>).map(([k, v]) => [k, JSON.stringify(v)]),
  );
  const json = table.get(playbookDigest(text));
  // Parsed anew each time: callers own (and may change) the playbook they get.
  return json === undefined ? undefined : (JSON.parse(json) as Playbook);
}
