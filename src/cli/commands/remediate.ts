import { isRemediationId, REMEDIATION_IDS } from '../../core/causes.ts';
import { renderTerminal } from '../../core/report/render-terminal.ts';
import { MedicError } from '../../errors.ts';
import { remediateHost, type RemediationOutcome } from '../../jobs/remediate-host.ts';
import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../cli-context.ts';
import { parseCommandArgs, UsageError } from '../cli-context.ts';
import { jobDeps, loadHostPlaybook, loadTarget } from './shared.ts';

const HELP = `Usage: medic remediate <host> <remediation-id> [--stack NGINX_CONF] [--inventory FILE] [--yes] [--json]

Runs one remediation from the contract's short list on one host, then verifies that the site
recovered (the checks again, and the HTTP probe of the site).

  reload_php_fpm   systemctl reload <php-fpm unit>, else kill -USR2 <master pid>  (graceful)
  start_php_fpm    systemctl start <php-fpm unit>, else the inventory's fpm.startCommand
                   (only when php-fpm is down)
  reload_nginx     nginx -t, and only if that passes, systemctl reload nginx, else kill -HUP
  restart_php_fpm  systemctl restart <php-fpm unit>, else kill -TERM <master pid>, wait for it
                   to exit, then the inventory's fpm.startCommand. Drops requests in flight:
                   for what a reload cannot fix (a socket's owner or mode)

Commands run through sudo -n unless the login user is root. Nothing else that changes a host
is ever run.

Options:
  --stack CONF       on a host that runs several nginx masters: the stack to act on, named
                     by its nginx config as the diagnosis shows it (its findings' stack).
                     Not needed when the host runs one stack, or the inventory pins it
  --inventory FILE   the inventory (default: $MEDIC_INVENTORY, else ./inventory.yaml)
  --yes              do not ask for confirmation (required when there is no terminal)
  --json             print the outcome as one JSON object

Exit status: 0 it ran and the site recovered, 1 it failed or the site did not recover,
2 usage or configuration error, or the remediation does not apply, 3 the host could not be reached.
`;

export async function remediateCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('remediate', args, {
    inventory: { type: 'string' },
    stack: { type: 'string' },
    yes: { type: 'boolean', short: 'y' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    ctx.io.stdout(HELP);
    return EXIT.OK;
  }
  const [hostName, id] = positionals;
  if (hostName === undefined || id === undefined || positionals.length !== 2)
    throw new UsageError(`remediate takes a host and a remediation id.\n\n${HELP}`);
  if (!isRemediationId(id))
    throw new MedicError('REMEDIATION_UNKNOWN', `No remediation "${id}". Remediations: ${REMEDIATION_IDS.join(', ')}.`);
  const { host } = await loadTarget(hostName, values.inventory, ctx);
  const playbook = await loadHostPlaybook(host, undefined, ctx);
  if (values.yes !== true) {
    if (ctx.io.confirm === undefined)
      throw new MedicError('NOT_CONFIRMED', `remediate ${id} on ${hostName} changes the host: pass --yes to run it without a terminal.`);
    if (!(await ctx.io.confirm(`Run ${id} on ${hostName} (${host.address})? [y/N] `))) {
      ctx.io.stderr('Nothing was run.\n');
      return EXIT.USAGE;
    }
  }
  if (ctx.io.interactive) ctx.io.stderr(`Running ${id} on ${hostName}…\n`);
  const stack = typeof values.stack === 'string' ? { stack: values.stack } : {};
  const outcome = await remediateHost(
    { host, playbook, remediation: id, approvedBy: `cli:${ctx.env.USER ?? 'unknown'}`, ...stack },
    jobDeps(ctx),
  );
  if (values.json === true) ctx.io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
  else ctx.io.stdout(renderOutcome(outcome));
  return outcome.ok && outcome.recovered ? EXIT.OK : EXIT.FAILED;
}

function renderOutcome(o: RemediationOutcome): string {
  const lines = [`${o.remediation} on ${o.host}${o.stack === undefined ? '' : ` (${o.stack})`}: ${o.ok ? 'ran' : 'FAILED'}`];
  for (const s of o.steps)
    lines.push(
      `  $ ${s.command}   → exit ${s.exitCode ?? 'none'} (${s.durationMs} ms)${s.stderr.trim() ? `\n    ${s.stderr.trim().split('\n').slice(0, 5).join('\n    ')}` : ''}`,
    );
  if (o.error !== undefined) lines.push(`  error: ${o.error}`);
  lines.push(
    o.recovered
      ? `Verification: the site recovered${o.probeStatus !== undefined ? ` (HTTP ${o.probeStatus})` : ''}.`
      : `Verification: NOT recovered${o.probeStatus !== undefined ? ` (HTTP ${o.probeStatus})` : ''}${o.stillFailing === undefined ? '' : `; still failing: ${o.stillFailing.join(', ')}`}. The diagnosis after the remediation:`,
  );
  lines.push('');
  if (!o.recovered) lines.push(renderTerminal(o.verification, { color: false }));
  return `${lines.join('\n')}\n`;
}
