import { z } from 'zod';
import { Playbook } from './playbook-schema.ts';

/** The playbook format as JSON Schema (input side: durations are strings, defaults optional). */
export function playbookJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(Playbook, { io: 'input', target: 'draft-2020-12' }), title: 'gateway-medic playbook' };
}
