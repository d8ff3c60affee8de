// The CPU a worker spends per diagnosis, measured in a process that does nothing else, as a
// worker does: the bench's own process also runs the lab (it keeps the lab's logs), whose work
// would be counted as the worker's. Run by diagnose-bench.ts as
//   node --import tsx bench/worker-cpu.ts INVENTORY HOST EARLY SETTLED_AFTER SETTLED_RUNS
// and prints one JSON line: the mean CPU per diagnosis (this process, all its threads) over
// the EARLY diagnoses after the first WARM_UP of the process, and over SETTLED_RUNS diagnoses after SETTLED_AFTER.
import { pino } from 'pino';
import { loadInventory } from '../src/adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { diagnoseHostDetailed } from '../src/jobs/diagnose-host.ts';
import type { JobDeps, TargetHost } from '../src/jobs/ports.ts';

const [inventoryPath, hostName, early, settledAfter, settledRuns] = process.argv.slice(2);
if (inventoryPath === undefined || hostName === undefined) {
  process.stderr.write('usage: worker-cpu.ts INVENTORY HOST EARLY SETTLED_AFTER SETTLED_RUNS\n');
  process.exit(2);
}
const inventory = await loadInventory(inventoryPath);
const fields = inventory.hosts[hostName];
if (fields === undefined) throw new Error(`no host ${hostName} in ${inventoryPath}`);
const host: TargetHost = { name: hostName, ...fields };
const playbook = getPlaybook(await loadPlaybooks(), 'nginx-502');
const deps: JobDeps = { connector: new SshConnector(), logger: pino({ level: 'silent' }), now: () => new Date() };

/** Diagnoses run before the early figure: the first ones compile everything. */
const WARM_UP = 3;
let done = 0;
const diagnose = async (): Promise<void> => {
  await diagnoseHostDetailed({ host, playbook }, deps);
  done++;
};
/** Mean CPU of this process per diagnosis over `n` back to back, ms. */
async function cpuPer(n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await diagnose();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / n;
}

for (let i = 0; i < WARM_UP; i++) await diagnose();
const earlyMs = await cpuPer(Number(early));
const earlyTo = done;
while (done < Number(settledAfter)) await diagnose();
const settledMs = await cpuPer(Number(settledRuns));
process.stdout.write(`${JSON.stringify({ earlyMs, earlyFrom: WARM_UP + 1, earlyTo, settledMs, settledAfter: Number(settledAfter) })}\n`);
