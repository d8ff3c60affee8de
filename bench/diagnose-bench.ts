import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadInventory } from '../src/adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { diagnoseHostDetailed } from '../src/jobs/diagnose-host.ts';
import type { JobDeps, TargetHost } from '../src/jobs/ports.ts';
import type { Lab } from '../src/lab/lab.ts';
import { type Row, median, ms, timed } from './bench-table.ts';
// @ts-expect-error plain JavaScript (bin/ runs before any TypeScript loader); typed by its JSDoc
import { chooseEntry } from '../bin/entry.js';

/** Which code `medic` runs here: the precompiled CLI, or the sources when dist/cli/ is stale. */
const entryKind = (): 'built' | 'source' => (chooseEntry as (root: URL) => { kind: 'built' | 'source' })(new URL('../', import.meta.url)).kind;

const run = promisify(execFile);

/**
 * Time to findings of `medic diagnose` on one loopback lab host, against the baseline an
 * engineer or a simple script has: the same commands, one after another, each through the
 * `ssh` client (a new connection per command).
 */
export async function benchDiagnose(lab: Lab, rounds = 7): Promise<Row[]> {
  const inventory = await loadInventory(lab.inventoryPath);
  const host: TargetHost = { name: 'web-01', ...(inventory.hosts['web-01'] as NonNullable<(typeof inventory.hosts)[string]>) };
  const playbook = getPlaybook(await loadPlaybooks(), 'nginx-502');
  const deps: JobDeps = { connector: new SshConnector(), logger: pino({ level: 'silent' }), now: () => new Date() };

  const warm = await diagnoseHostDetailed({ host, playbook }, deps);
  const commands = warm.results.filter((r) => r.status !== 'skipped' && r.command !== '').map((r) => r.command);

  const medic: number[] = [];
  for (let i = 0; i < rounds; i++) medic.push(await timed(() => diagnoseHostDetailed({ host, playbook }, deps)));

  const cli: number[] = [];
  for (let i = 0; i < 3; i++) {
    cli.push(await timed(() => run(process.execPath, ['bin/medic.js', 'diagnose', 'web-01', '--inventory', lab.inventoryPath, '--json'])));
  }

  const sshArgs = [
    '-i', host.privateKeyPath,
    '-o', `UserKnownHostsFile=${host.knownHostsPath}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-p', String(host.port),
    `${host.user}@${host.address}`,
  ];
  const baseline: number[] = [];
  for (let i = 0; i < 3; i++) {
    baseline.push(
      await timed(async () => {
        for (const command of commands) await run('ssh', [...sshArgs, command]).catch(() => undefined);
      }),
    );
  }

  const m = median(medic);
  const b = median(baseline);
  return [
    { measure: `diagnose web-01: ${commands.length} checks, time to findings (median of ${rounds})`, medic: ms(m), baseline: `${ms(b)} (ssh, one command after another)`, ratio: `${(b / m).toFixed(1)}x faster`, target: `>= 3x and < 1000 ms: ${b / m >= 3 && m < 1000 ? 'met' : 'MISSED'}` },
    { measure: `the same through \`medic diagnose --json\` (a new process, ${entryKind() === 'built' ? 'the precompiled CLI' : 'the sources through tsx: dist/cli/ is stale, npm run build'}; median of 3)`, medic: ms(median(cli)), baseline: ms(b), ratio: `${(b / median(cli)).toFixed(1)}x faster`, target: '' },
  ];
}
