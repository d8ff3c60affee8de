// `npm run bench`: speed figures of gateway-medic side by side with a baseline, in one run.
// Needs root (it starts the 502 lab: nginx, php-fpm and sshd on loopback) and the Debian
// packages that .ci/run installs. Figures are printed, never asserted: they are not tests.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { Lab } from '../src/lab/lab.ts';
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
/** nginx and php-fpm masters on this machine other than the bench lab's own (from /proc). */
async function otherMasters(lab: Lab): Promise<number> {
  const own = await lab.status();
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === own.nginx || Number(entry) === own.fpm) continue;
    const title = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (/^(nginx|php-fpm): master process/.test(title)) count++;
  }
  return count;
}

const rows: Row[] = [];
const lab = await startLab({ stockHostKeys: true });
try {
  console.log(`lab up (${lab.dir}; sshd with the host keys of a stock server: RSA, ECDSA, Ed25519); measuring…`);
  const others = await otherMasters(lab);
  if (others > 0) {
    console.log(
      `note: ${others} other nginx or php-fpm master(s) run on this machine (another lab?): the diagnosis reads each one's cgroup and mounts too, so the figures are not comparable with a run without them`,
    );
  }
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
