import { DEFAULT_INVENTORY, loadInventory } from '../../adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../../adapters/files/load-playbooks.ts';
import { SshConnector } from '../../adapters/ssh/ssh-connector.ts';
import type { Inventory } from '../../core/inventory/inventory-schema.ts';
import { resolveHosts } from '../../core/inventory/resolve-hosts.ts';
import type { Playbook } from '../../core/playbook/playbook-schema.ts';
import type { JobDeps, ProgressEvent, TargetHost } from '../../jobs/ports.ts';
import type { CliContext } from '../cli-context.ts';
import { UsageError } from '../cli-context.ts';

export function inventoryPath(flag: string | boolean | undefined, ctx: CliContext): string {
  if (typeof flag === 'string') return flag;
  return ctx.env.MEDIC_INVENTORY ?? DEFAULT_INVENTORY;
}

/** One host by exact name: `diagnose` and `remediate` act on one host, not a group. */
export async function loadTarget(
  name: string,
  inventoryFlag: string | boolean | undefined,
  ctx: CliContext,
): Promise<{ inventory: Inventory; host: TargetHost }> {
  const inventory = await loadInventory(inventoryPath(inventoryFlag, ctx));
  const names = resolveHosts(inventory, name);
  if (names.length !== 1 || names[0] !== name) {
    throw new UsageError(
      `"${name}" is a group or pattern (${names.join(', ')}); the command line takes one host. Slack's /502 diagnose fans out over groups.`,
    );
  }
  return { inventory, host: { name, ...(inventory.hosts[name] as Inventory['hosts'][string]) } };
}

/** The playbooks folder: $MEDIC_PLAYBOOKS_DIR when set (as for `medic start`), else the shipped one. */
export const playbooksDir = (ctx: CliContext): string | undefined =>
  ctx.env.MEDIC_PLAYBOOKS_DIR ? ctx.env.MEDIC_PLAYBOOKS_DIR : undefined;

export async function loadHostPlaybook(host: TargetHost, flag: string | boolean | undefined, ctx: CliContext): Promise<Playbook> {
  const playbooks = await loadPlaybooks(playbooksDir(ctx));
  return getPlaybook(playbooks, typeof flag === 'string' ? flag : host.playbook);
}

/** Progress on stderr while checks run, when a person is watching. */
export function progressPrinter(ctx: CliContext, total: number): (e: ProgressEvent) => void {
  if (!ctx.io.interactive) return () => {};
  let done = 0;
  return (e) => {
    if (e.kind === 'connecting') ctx.io.stderr(`Connecting to ${e.host}…\n`);
    else if (e.kind === 'check-finished') {
      done++;
      ctx.io.stderr(`\r  checks ${done}/${total}  ${e.check.padEnd(24)}`);
    } else if (e.kind === 'classifying') ctx.io.stderr('\r\x1b[2K');
  };
}

export function jobDeps(ctx: CliContext, onProgress?: (e: ProgressEvent) => void): JobDeps {
  const deps: JobDeps = { connector: new SshConnector(), logger: ctx.logger, now: () => new Date() };
  if (onProgress !== undefined) deps.onProgress = onProgress;
  return deps;
}
