// `npm run bench`: speed figures of gateway-medic side by side with a baseline, in one run.
// Needs root (it starts the 502 lab: nginx, php-fpm and sshd on loopback) and the Debian
// packages that .ci/run installs. Figures are printed, never asserted: they are not tests.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { startLab } from '../src/lab/start-lab.ts';
import { type Row, printTable } from './bench-table.ts';
import { benchDiagnose } from './diagnose-bench.ts';
import { benchFanoutRows } from './fanout-bench.ts';
import { benchFaults } from './faults-bench.ts';
import { benchHostileInput } from './hostile-input-bench.ts';

/** BENCH_ONLY=diagnose,slack,… runs only those parts (diagnose, fleet, hostile, slack, fanout, faults); all by default. */
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const wanted = (part: string): boolean => only === undefined || only.includes(part);

const loadAverage = async (): Promise<string> =>
  (await readFile('/proc/loadavg', 'utf8').catch(() => '')).split(' ').slice(0, 3).join(' ') || 'unknown';
console.log(`load average at the start (1, 5, 15 min): ${await loadAverage()}; ${cpus().length} CPUs`);
const rows: Row[] = [];
const lab = await startLab({ stockHostKeys: true });
try {
  console.log(`lab up (${lab.dir}; sshd with the host keys of a stock server: RSA, ECDSA, Ed25519); measuring…`);
  // The fleet row is taken beside the one-host figures it is compared with.
  if (wanted('diagnose') || wanted('fleet')) rows.push(...(await benchDiagnose(lab, { fleet: wanted('fleet') })));
  if (wanted('hostile')) rows.push(...(await benchHostileInput()));
  // The Slack benchmark (ack latency, slash command to findings) lives with the Slack adapter.
  if (wanted('slack') && existsSync(new URL('./slack-bench.ts', import.meta.url))) {
    const { benchSlack } = (await import('./slack-bench.ts')) as { benchSlack: (lab: unknown) => Promise<Row[]> };
    rows.push(...(await benchSlack(lab)));
  }
  if (wanted('fanout')) rows.push(...(await benchFanoutRows(lab)));
  if (wanted('faults')) rows.push(...(await benchFaults(lab)));
} finally {
  await lab.stop();
}
console.log(`\n${printTable(rows)}\n\nload average at the end (1, 5, 15 min): ${await loadAverage()}; ${cpus().length} CPUs\n`);
