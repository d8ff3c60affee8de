import { loadInventory } from '../../adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../../adapters/files/load-playbooks.ts';
import type { Inventory } from '../../core/inventory/inventory-schema.ts';
import { resolveHosts } from '../../core/inventory/resolve-hosts.ts';
import { renderJson } from '../../core/report/render-json.ts';
import {
  type FleetOutcome,
  fleetProgressLine,
  isUnreachable,
  renderFleetJsonLine,
  renderFleetTable,
} from '../../core/report/render-fleet.ts';
import { shellQuote } from '../../core/playbook/shell-quote.ts';
import { renderTerminal } from '../../core/report/render-terminal.ts';
import { parsePublicUrl, showRefusedUrl } from '../../core/public-url.ts';
import { errorMessage, isMedicError } from '../../errors.ts';
import { diagnoseHost, diagnoseHostDetailed } from '../../jobs/diagnose-host.ts';
import type { TargetHost } from '../../jobs/ports.ts';
import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../cli-context.ts';
import { parseCommandArgs, UsageError } from '../cli-context.ts';
import { inventoryPath, jobDeps, playbooksDir, progressPrinter } from './shared.ts';

/** Hosts diagnosed at once by default: SSH work waits on the network, not on this machine's CPU. */
export const DEFAULT_FLEET_CONCURRENCY = 32;

const HELP = `Usage: medic diagnose <host|group|pattern> [--url URL] [--inventory FILE] [--json] [--playbook NAME]

Runs the playbook's read-only checks over SSH and prints the findings. For one host: the
verdict first, then its evidence (the real log lines) and what to do. For a group or a
pattern such as 'web-*' (quote it from the shell): every matching host at once, a progress
line while they run, then one table of hosts, verdicts and times.

Options:
  --inventory FILE   the inventory (default: $MEDIC_INVENTORY, else ./inventory.yaml); our
                     YAML format, or an Ansible inventory (INI or YAML)
  --json             one host: exactly one JSON object on stdout, for scripts; a group or
                     pattern: one such object per line (NDJSON) as each host finishes, and
                     {"host", "error": {"code", "message"}} for a host without a diagnosis
  --url URL          the public URL that failed (e.g. https://shop.example/checkout): asked of
                     each host's own nginx by its name, scheme and port (curl --resolve to
                     127.0.0.1; nothing goes to the public name), and read against a CDN's
                     520-526 in the report; only plain http(s) URLs are accepted
  --playbook NAME    a playbook other than the hosts' default (nginx-502)
  --concurrency N    hosts diagnosed at once for a group or pattern (default ${DEFAULT_FLEET_CONCURRENCY})
  --no-color         plain terminal output
  -v, --verbose      log every check to stderr

Exit status: 0 the diagnosis ran (whatever it found), 2 usage or configuration error,
3 a host could not be reached (connection refused, unreachable, timeout, auth, host key).
`;

export async function diagnoseCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('diagnose', args, {
    inventory: { type: 'string' },
    json: { type: 'boolean' },
    playbook: { type: 'string' },
    url: { type: 'string' },
    concurrency: { type: 'string' },
    'no-color': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    ctx.io.stdout(HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw new UsageError(`diagnose takes one host, group or pattern.\n\n${HELP}`);
  const target = positionals[0] as string;
  // The URL is refused before anything connects or runs: it only ever shapes the fixed curl probe.
  let url: string | undefined;
  if (typeof values.url === 'string') {
    const parsed = parsePublicUrl(values.url);
    if (!parsed.ok) throw new UsageError(`diagnose: --url ${showRefusedUrl(values.url)} is refused: it ${parsed.reason}. Nothing was run.`);
    url = parsed.value.url;
  }
  const withUrl = url === undefined ? {} : { url };
  const concurrency = values.concurrency === undefined ? DEFAULT_FLEET_CONCURRENCY : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)
    throw new UsageError('diagnose: --concurrency takes a whole number from 1 to 1000.');
  const inventory = await loadInventory(inventoryPath(values.inventory, ctx));
  const names = resolveHosts(inventory, target);
  const hostOf = (name: string): TargetHost => ({ name, ...(inventory.hosts[name] as Inventory['hosts'][string]) });
  const playbookName = typeof values.playbook === 'string' ? values.playbook : undefined;
  const color = ctx.io.interactive && values['no-color'] !== true && ctx.env.NO_COLOR === undefined;

  if (names.length === 1 && names[0] === target) {
    const host = hostOf(target);
    const deps = jobDeps(ctx, values.json === true ? undefined : progressPrinter(ctx, 0));
    // The SSH handshake mostly waits on the host: the playbooks are read and checked meanwhile.
    deps.onProgress?.({ kind: 'connecting', host: host.name });
    const connecting = deps.connector.connect(host);
    // Handled here too: a refusal that comes while the playbooks load is not an unhandled rejection.
    connecting.catch(() => undefined);
    let playbook;
    try {
      playbook = getPlaybook(await loadPlaybooks(playbooksDir(ctx)), playbookName ?? host.playbook);
    } catch (e) {
      void connecting.then((r) => r.close()).catch(() => undefined);
      throw e;
    }
    const runner = await connecting;
    let diagnosis;
    try {
      diagnosis = (
        await diagnoseHostDetailed(
          { host, playbook, ...withUrl },
          { ...deps, ...(values.json === true ? {} : { onProgress: progressPrinter(ctx, playbook.checks.length) }) },
          runner,
        )
      ).diagnosis;
    } finally {
      await runner.close().catch(() => undefined);
    }
    if (values.json === true) ctx.io.stdout(`${renderJson(diagnosis)}\n`);
    else {
      const remediateArgs = typeof values.inventory === 'string' ? ['--inventory', shellQuote([values.inventory])] : [];
      ctx.io.stdout(renderTerminal(diagnosis, { color, remediateArgs }));
    }
    return EXIT.OK;
  }

  const playbooks = await loadPlaybooks(playbooksDir(ctx));
  // A playbook that does not exist is a usage error for the whole run, not one per host.
  for (const name of names) getPlaybook(playbooks, playbookName ?? hostOf(name).playbook);
  // One connector for the whole run: its handshake gate spaces out connections to a shared sshd.
  const deps = jobDeps(ctx);
  const started = performance.now();
  const outcomes: FleetOutcome[] = [];
  let running = 0;
  const showProgress = (): void => {
    if (!ctx.io.interactive) return;
    const unreachable = outcomes.filter(isUnreachable).length;
    ctx.io.stderr(`\r\x1b[2K${fleetProgressLine({ done: outcomes.length, total: names.length, unreachable, running })}`);
  };
  const one = async (name: string): Promise<void> => {
    const host = hostOf(name);
    const t0 = performance.now();
    running++;
    showProgress();
    let outcome: FleetOutcome;
    try {
      outcome = {
        host: name,
        diagnosis: await diagnoseHost({ host, playbook: getPlaybook(playbooks, playbookName ?? host.playbook), ...withUrl }, deps),
      };
    } catch (e) {
      const error = isMedicError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: errorMessage(e) };
      outcome = { host: name, error, durationMs: Math.round(performance.now() - t0) };
    }
    running--;
    outcomes.push(outcome);
    // NDJSON goes out as each host finishes: a pipe sees the first verdicts while the rest run.
    if (values.json === true) ctx.io.stdout(`${renderFleetJsonLine(outcome)}\n`);
    showProgress();
  };
  await eachLimited(names, concurrency, one);
  if (ctx.io.interactive) ctx.io.stderr('\r\x1b[2K');
  if (values.json !== true) ctx.io.stdout(renderFleetTable(outcomes, { color, totalMs: performance.now() - started }));
  if (outcomes.some(isUnreachable)) return EXIT.UNREACHABLE;
  return outcomes.some((o) => 'error' in o) ? EXIT.FAILED : EXIT.OK;
}

/** Calls `fn` on every item, at most `limit` at a time (fn must not throw). */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
