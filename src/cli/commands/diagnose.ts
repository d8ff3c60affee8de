import { renderJson } from '../../core/report/render-json.ts';
import { shellQuote } from '../../core/playbook/shell-quote.ts';
import { renderTerminal } from '../../core/report/render-terminal.ts';
import { diagnoseHost } from '../../jobs/diagnose-host.ts';
import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../main.ts';
import { parseCommandArgs, UsageError } from '../main.ts';
import { jobDeps, loadHostPlaybook, loadTarget, progressPrinter } from './shared.ts';

const HELP = `Usage: medic diagnose <host> [--inventory FILE] [--json] [--playbook NAME]

Runs the playbook's read-only checks on one inventory host over SSH and prints the findings:
the verdict first, then its evidence (the real log lines) and what to do.

Options:
  --inventory FILE   the inventory (default: $MEDIC_INVENTORY, else ./inventory.yaml)
  --json             print exactly one JSON object on stdout, for scripts
  --playbook NAME    a playbook other than the host's default (nginx-502)
  --no-color         plain terminal output
  -v, --verbose      log every check to stderr

Exit status: 0 the diagnosis ran (whatever it found), 2 usage or configuration error,
3 the host could not be reached (connection refused, unreachable, timeout, auth, host key).
`;

export async function diagnoseCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('diagnose', args, {
    inventory: { type: 'string' },
    json: { type: 'boolean' },
    playbook: { type: 'string' },
    'no-color': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    ctx.io.stdout(HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw new UsageError(`diagnose takes exactly one host.\n\n${HELP}`);
  const { host } = await loadTarget(positionals[0] as string, values.inventory, ctx);
  const playbook = await loadHostPlaybook(host, values.playbook, ctx);
  const diagnosis = await diagnoseHost({ host, playbook }, jobDeps(ctx, values.json === true ? undefined : progressPrinter(ctx, playbook.checks.length)));
  if (values.json === true) ctx.io.stdout(`${renderJson(diagnosis)}\n`);
  else {
    const color = ctx.io.interactive && values['no-color'] !== true && ctx.env.NO_COLOR === undefined;
    const remediateArgs = typeof values.inventory === 'string' ? ['--inventory', shellQuote([values.inventory])] : [];
    ctx.io.stdout(renderTerminal(diagnosis, { color, remediateArgs }));
  }
  return EXIT.OK;
}
