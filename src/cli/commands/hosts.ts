import { loadInventory } from '../../adapters/files/load-inventory.ts';
import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../cli-context.ts';
import { parseCommandArgs } from '../cli-context.ts';
import { inventoryPath } from './shared.ts';

const HELP = `Usage: medic hosts [--inventory FILE] [--json]

Lists the inventory's hosts (name, user@address:port, sudo, playbook) and groups.
Exit status: 0, or 2 when the inventory is missing or invalid (the message names the file, host and field).
`;

export async function hostsCommand(args: readonly string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('hosts', args, {
    inventory: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    ctx.io.stdout(HELP);
    return EXIT.OK;
  }
  const file = inventoryPath(values.inventory, ctx);
  const inventory = await loadInventory(file);
  const hosts = Object.entries(inventory.hosts).sort(([a], [b]) => a.localeCompare(b));
  if (values.json === true) {
    ctx.io.stdout(
      `${JSON.stringify({
        hosts: hosts.map(([name, h]) => ({ name, address: h.address, port: h.port, user: h.user, sudo: h.sudo, playbook: h.playbook })),
        groups: inventory.groups,
      })}\n`,
    );
    return EXIT.OK;
  }
  const width = Math.max(4, ...hosts.map(([n]) => n.length));
  const out = [`${'HOST'.padEnd(width)}  TARGET                          SUDO  PLAYBOOK`];
  for (const [name, h] of hosts)
    out.push(
      `${name.padEnd(width)}  ${`${h.user}@${h.address}:${h.port}`.padEnd(30)}  ${(h.sudo ? 'yes' : 'no').padEnd(4)}  ${h.playbook}`,
    );
  const groups = Object.entries(inventory.groups);
  if (groups.length > 0) {
    out.push('', 'GROUPS');
    for (const [g, members] of groups) out.push(`${g}: ${members.join(', ')}`);
  }
  ctx.io.stdout(`${out.join('\n')}\n`);
  return EXIT.OK;
}
