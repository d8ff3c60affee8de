import { loadPlaybooks } from '../../adapters/files/load-playbooks.ts';
import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../cli-context.ts';
import { parseCommandArgs } from '../cli-context.ts';
import { playbooksDir } from './shared.ts';

const HELP = `Usage: medic playbooks [--json]

Lists the playbooks ($MEDIC_PLAYBOOKS_DIR, else the shipped playbooks/) and their read-only
checks. Every playbook is validated
(schema and read-only allowlist) as it loads: an invalid one is reported with the file, the
check and the reason, and the command exits 2.
`;

export async function playbooksCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('playbooks', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    ctx.io.stdout(HELP);
    return EXIT.OK;
  }
  const playbooks = [...(await loadPlaybooks(playbooksDir(ctx))).values()];
  if (values.json === true) {
    ctx.io.stdout(
      `${JSON.stringify(playbooks.map((p) => ({ name: p.name, title: p.title, window: p.window, checks: p.checks.map((c) => ({ id: c.id, title: c.title, run: c.run, sudo: c.sudo === true })) })))}\n`,
    );
    return EXIT.OK;
  }
  const out: string[] = [];
  for (const p of playbooks) {
    out.push(`${p.name} — ${p.title} (${p.checks.length} checks, window ${p.window})`);
    const width = Math.max(...p.checks.map((c) => c.id.length));
    for (const c of p.checks) out.push(`  ${c.id.padEnd(width)}  ${c.title}${c.sudo === true ? ' [sudo]' : ''}`);
  }
  ctx.io.stdout(`${out.join('\n')}\n`);
  return EXIT.OK;
}
