// `npm run bench`: speed figures of gateway-medic side by side with a baseline, in one run.
// Needs root (it starts the 502 lab: nginx, php-fpm and sshd on loopback) and the Debian
// packages that .ci/run installs. Figures are printed, never asserted: they are not tests.
import { existsSync } from 'node:fs';
import { startLab } from '../src/lab/start-lab.ts';
import { type Row, printTable } from './bench-table.ts';
import { benchDiagnose } from './diagnose-bench.ts';
import { benchFanoutRows } from './fanout-bench.ts';
import { benchFaults } from './faults-bench.ts';
import { benchHostileInput } from './hostile-input-bench.ts';

const rows: Row[] = [];
const lab = await startLab();
try {
  console.log(`lab up (${lab.dir}); measuring…`);
  rows.push(...(await benchDiagnose(lab)));
  rows.push(...(await benchHostileInput()));
  // The Slack benchmark (ack latency, slash command to findings) lives with the Slack adapter.
  if (existsSync(new URL('./slack-bench.ts', import.meta.url))) {
    const { benchSlack } = (await import('./slack-bench.ts')) as { benchSlack: (lab: unknown) => Promise<Row[]> };
    rows.push(...(await benchSlack(lab)));
  }
  rows.push(...(await benchFanoutRows(lab)));
  rows.push(...(await benchFaults(lab)));
} finally {
  await lab.stop();
}
console.log(`\n${printTable(rows)}\n`);
