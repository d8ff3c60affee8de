// Writes playbooks/playbook.schema.json from the zod schema, for editors (yaml-language-server).
// `npm run schema` after changing playbook-schema.ts; a unit test fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { playbookJsonSchema } from '../src/core/playbook/playbook-json-schema.ts';

const target = fileURLToPath(new URL('../playbooks/playbook.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
