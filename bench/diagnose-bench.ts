import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { pino } from 'pino';
import { loadInventory } from '../src/adapters/files/load-inventory.ts';
import { getPlaybook, loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { diagnoseHostDetailed } from '../src/jobs/diagnose-host.ts';
import type { JobDeps, TargetHost } from '../src/jobs/ports.ts';
import type { Playbook } from '../src/core/playbook/playbook-schema.ts';
import type { Lab } from '../src/lab/lab.ts';
import { type Row, median, ms } from './bench-table.ts';
import {
  ansibleRunner,
  ansibleVersion,
  oneSessionScript,
  type RanCommand,
  runOneSession,
  runPerCommandSsh,
  SAME_KEX_AS_MEDIC,
} from './baselines.ts';
import { type CpuMeter, cgroupCpuMeter, childPids, reapedChildrenCpuMs, waitForNoChildren } from './process-cpu.ts';
// @ts-expect-error plain JavaScript (bin/ runs before any TypeScript loader); typed by its JSDoc
import { chooseEntry } from '../bin/entry.js';

/** Which code `medic` runs here: the precompiled CLI, or the sources when dist/cli/ is stale. */
const entryKind = (): 'built' | 'source' =>
  (chooseEntry as (root: URL) => { kind: 'built' | 'source' })(new URL('../', import.meta.url)).kind;

const run = promisify(execFile);

/** Diagnoses a worker has run before its CPU is measured settled, and how many are then measured. */
const SETTLED_AFTER = 100;
const SETTLED_RUNS = 40;
/** Worker processes measured one after another (what V8 optimises differs between them). */
const WORKER_PROCESSES = 3;

/**
 * `medic diagnose web` over 100 inventory hosts that all point at the lab's sshd (one machine
 * does the work of 100: the client, sshd and every command share its cores), with the defaults.
 */
async function benchFleet(sshd: Target, host: TargetHost, oneHostMs: number, count = 100): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-bench-fleet-'));
  try {
    const fleet = join(dir, 'inventory.yaml');
    const { name: _name, ...fields } = host;
    const hosts = Object.fromEntries(Array.from({ length: count }, (_, i) => [`web-${String(i + 1).padStart(3, '0')}`, fields]));
    await writeFile(fleet, stringify({ hosts, groups: { web: ['web-*'] } }, { aliasDuplicateObjects: false }));
    let lines = 0;
    const cost = await measure(sshd, 1, async () => {
      const { stdout } = await run('bin/medic.js', ['diagnose', 'web', '--inventory', fleet, '--json'], {
        maxBuffer: 256 * 1024 * 1024,
      });
      lines = stdout.trimEnd().split('\n').length;
    });
    // Both ends run here: the run cannot end before this machine's cores have done their work.
    const floorMs = (cost.localCpuMs + cost.targetCpuMs) / cpus().length;
    return {
      measure: `\`medic diagnose web\`: ${count} hosts (all the lab's sshd, so this machine runs both ends), defaults, a new process (${lines} results); CPU here ${ms(cost.localCpuMs)} + on the "hosts" ${ms(cost.targetCpuMs)}, so at least ${ms(floorMs)} on ${cpus().length} cores`,
      medic: ms(cost.timeMs),
      baseline: `${ms(oneHostMs)} (one host, a new process)`,
      ratio: `${(cost.timeMs / oneHostMs).toFixed(1)}x one host`,
      target: `<= 4x one host: ${verdict(cost.timeMs <= 4 * oneHostMs)}`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A sick host: its site accepts connections and never answers (the lab's nginx workers stopped
 * with SIGSTOP), so every HTTP probe waits out curl's own limit (`-m 5`; the status page `-m 3`).
 * `medic diagnose` as a new process, against the same command lines one after another in one
 * session (the script's probes wait in turn).
 */
async function benchHungSite(lab: Lab, sshd: Target, host: TargetHost, script: string, cliArgs: readonly string[]): Promise<Row> {
  const master = (await lab.status()).nginx;
  const workers = master === undefined ? [] : await childPids(master);
  const measureName = "a site that accepts connections and never answers (the lab's nginx workers stopped): time to findings, 1 run";
  if (workers.length === 0) return { measure: measureName, medic: 'skipped: no nginx worker found', baseline: '', ratio: '', target: '' };
  for (const pid of workers) process.kill(pid, 'SIGSTOP');
  try {
    const cli = await measure(sshd, 1, () => run('bin/medic.js', [...cliArgs]));
    const oneSession = await measure(sshd, 1, () => runOneSession(host, script));
    return {
      measure: `${measureName}: \`medic diagnose --json\`, a new process`,
      medic: ms(cli.timeMs),
      baseline: `${ms(oneSession.timeMs)} (the one-session script, OpenSSH's default key exchange)`,
      ratio: faster(cli.timeMs, oneSession.timeMs),
      target: '',
    };
  } finally {
    for (const pid of workers) process.kill(pid, 'SIGCONT');
  }
}

/** What one way of diagnosing cost, per run: wall time, CPU on the host, CPU here. */
export interface Cost {
  /** Median wall time, ms. */
  timeMs: number;
  /** Mean CPU of everything the target's sshd ran (its connection processes, shells, sudo, the commands), ms. */
  targetCpuMs: number;
  /** Standard error of that mean, ms (0 for one run). */
  targetCpuSe: number;
  /** Mean CPU on the diagnosing side (this process and the processes it waited for), ms. */
  localCpuMs: number;
}

const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Runs `fn` `rounds` times, each after the lab's sshd has no session left, and charges each run
 * with what its sessions cost the target once they have exited.
 */
/** {@link measure} of several ways, taken in turn within each round; one Cost per way. */
async function interleaved(target: Target, rounds: number, fns: readonly (() => Promise<unknown>)[]): Promise<Cost[]> {
  const runs: Cost[][] = fns.map(() => []);
  for (let i = 0; i < rounds; i++) for (const [k, fn] of fns.entries()) runs[k]?.push(await measure(target, 1, fn));
  return runs.map((r) => ({
    timeMs: median(r.map((c) => c.timeMs)),
    ...meanSe(r.map((c) => c.targetCpuMs)),
    localCpuMs: r.reduce((a, c) => a + c.localCpuMs, 0) / r.length,
  }));
}

/** The lab's sshd: its pid, and the meter of the CPU of everything it runs. */
interface Target {
  pid: number;
  meter: CpuMeter;
}

async function measure({ pid: sshdPid, meter }: Target, rounds: number, fn: () => Promise<unknown>): Promise<Cost> {
  const times: number[] = [];
  const target: number[] = [];
  let local = 0;
  for (let i = 0; i < rounds; i++) {
    await waitForNoChildren(sshdPid);
    const target0 = await meter.ms();
    const local0 = selfCpuMs() + (await reapedChildrenCpuMs('self'));
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    local += selfCpuMs() + (await reapedChildrenCpuMs('self')) - local0;
    await waitForNoChildren(sshdPid);
    target.push((await meter.ms()) - target0);
  }
  return { timeMs: median(times), ...meanSe(target), localCpuMs: local / rounds };
}

/** Mean and its standard error. */
function meanSe(xs: readonly number[]): { targetCpuMs: number; targetCpuSe: number } {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const variance = xs.length < 2 ? 0 : xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { targetCpuMs: mean, targetCpuSe: Math.sqrt(variance / xs.length) };
}

/**
 * "No higher than": met when our mean is not above theirs, or above it by less than twice the
 * standard error of the difference (the two cannot be told apart in this many runs).
 */
function noHigher(ours: Cost, theirs: Cost): string {
  if (ours.targetCpuMs <= theirs.targetCpuMs) return 'met';
  const noise = 2 * Math.hypot(ours.targetCpuSe, theirs.targetCpuSe);
  return ours.targetCpuMs - theirs.targetCpuMs < noise ? 'met: equal within the noise' : 'MISSED';
}

const withSe = (c: Cost): string => `${ms(c.targetCpuMs)} ± ${c.targetCpuSe.toFixed(1)}`;

const ratio = (ours: number, theirs: number): string =>
  ours <= 0 || theirs <= 0 ? '-' : theirs >= ours ? `${(theirs / ours).toFixed(1)}x less` : `${(ours / theirs).toFixed(1)}x more`;
const faster = (ours: number, theirs: number): string =>
  theirs >= ours ? `${(theirs / ours).toFixed(2)}x faster` : `${(ours / theirs).toFixed(2)}x slower`;
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/**
 * Time to findings and CPU (on the target and on the diagnosing side) of a diagnosis of one
 * loopback lab host, beside the honest baselines: the same command lines as one shell script
 * over one `ssh` session, and Ansible running them (when installed).
 */
export async function benchDiagnose(lab: Lab, options: { rounds?: number; fleet?: boolean } = {}): Promise<Row[]> {
  const rounds = options.rounds ?? 15;
  const inventory = await loadInventory(lab.inventoryPath);
  const host: TargetHost = { name: 'web-01', ...(inventory.hosts['web-01'] as NonNullable<(typeof inventory.hosts)[string]>) };
  const playbook = getPlaybook(await loadPlaybooks(), 'nginx-502');
  const deps: JobDeps = { connector: new SshConnector(), logger: pino({ level: 'silent' }), now: () => new Date() };
  const meter = await cgroupCpuMeter(lab.snapshot.sshd.pid);
  try {
    return await diagnoseRows(lab, { pid: lab.snapshot.sshd.pid, meter }, host, playbook, deps, rounds, options.fleet !== false);
  } finally {
    await meter.close();
  }
}

async function diagnoseRows(
  lab: Lab,
  sshd: Target,
  host: TargetHost,
  playbook: Playbook,
  deps: JobDeps,
  rounds: number,
  fleet: boolean,
): Promise<Row[]> {
  const warm = await diagnoseHostDetailed({ host, playbook }, deps);
  // The command lines the host got (a batched wave runs several; each is listed as the check that ran it).
  const commands: RanCommand[] = warm.results
    .filter((r) => r.status !== 'skipped' && r.command !== '')
    .map((r) => ({ id: r.id, command: r.command }));
  for (let i = 0; i < 3; i++) await diagnoseHostDetailed({ host, playbook }, deps);

  // Side by side: each round runs every way once, one after another, so that a change of load
  // on this shared machine weighs on all of them alike.
  const script = oneSessionScript(commands);
  // `medic` as a user runs it: the file itself, through its first line (see bin/medic.js).
  const cliArgs = ['diagnose', 'web-01', '--inventory', lab.inventoryPath, '--json'];
  // This environment may set NODE_EXTRA_CA_CERTS (a proxy's CA); Node 20 then parses that file
  // and its own root certificates before any JavaScript runs, in every process. `medic diagnose`
  // starts Node without it; Node started by hand (`node bin/medic.js`) keeps it: measured both ways.
  const extraCa = process.env.NODE_EXTRA_CA_CERTS !== undefined && process.env.NODE_EXTRA_CA_CERTS !== '';
  const { NODE_EXTRA_CA_CERTS: _ca, ...noCaEnv } = process.env;
  const ways: (() => Promise<unknown>)[] = [
    () => diagnoseHostDetailed({ host, playbook }, deps),
    () => run('bin/medic.js', cliArgs),
    () => runOneSession(host, script),
    () => runOneSession(host, script, SAME_KEX_AS_MEDIC),
    () => run(process.execPath, ['-e', '0']),
    ...(extraCa
      ? [() => run(process.execPath, ['bin/medic.js', ...cliArgs]), () => run(process.execPath, ['-e', '0'], { env: noCaEnv })]
      : []),
  ];
  const [medic, cli, oneSession, sameKex, nodeStart, cliByNode, nodeStartNoCa] = (await interleaved(sshd, rounds, ways)) as [
    Cost,
    Cost,
    Cost,
    Cost,
    Cost,
    Cost | undefined,
    Cost | undefined,
  ];
  // The worker's CPU, in a process that only diagnoses (see worker-cpu.ts). V8 keeps optimising
  // the parsers and ssh2 for about the first hundred diagnoses (each runs most functions once), so
  // it is measured twice: early in a new worker's life, and once settled. What V8 optimises
  // differs from process to process, so WORKER_PROCESSES of them, one after another.
  type Probe = { earlyMs: number; earlyFrom: number; earlyTo: number; settledMs: number; settledAfter: number };
  const probes: Probe[] = [];
  for (let i = 0; i < WORKER_PROCESSES; i++) {
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      'bench/worker-cpu.ts',
      lab.inventoryPath,
      host.name,
      String(rounds),
      String(SETTLED_AFTER),
      String(SETTLED_RUNS),
    ]);
    probes.push(JSON.parse(stdout) as Probe);
  }
  const first = probes[0] as Probe;
  const spread = (xs: number[]): string =>
    `${ms(median(xs))} (median of ${xs.length} processes: ${[...xs]
      .sort((a, b) => a - b)
      .map((x) => x.toFixed(0))
      .join(', ')})`;
  const worker = {
    earlyMs: median(probes.map((p) => p.earlyMs)),
    early: spread(probes.map((p) => p.earlyMs)),
    earlyFrom: first.earlyFrom,
    earlyTo: first.earlyTo,
    settledMs: median(probes.map((p) => p.settledMs)),
    settled: spread(probes.map((p) => p.settledMs)),
    settledAfter: first.settledAfter,
  };
  const perCommand = await measure(sshd, 1, () => runPerCommandSsh(host, commands));

  const scripts = (c: Cost, k: Cost): string =>
    `${ms(c.timeMs)} (one shell script over one ssh session, OpenSSH's default key exchange); ${ms(k.timeMs)} with medic's (curve25519)`;
  const both = (ours: number): string => `${faster(ours, oneSession.timeMs)}; ${faster(ours, sameKex.timeMs)}`;
  const verdicts = (ours: number): string =>
    `<= the script: ${verdict(ours <= oneSession.timeMs)}; with the same key exchange: ${verdict(ours <= sameKex.timeMs)}`;
  const rows: Row[] = [
    {
      measure: `diagnose web-01, warm worker: ${commands.length} commands, time to findings (median of ${rounds})`,
      medic: ms(medic.timeMs),
      baseline: scripts(oneSession, sameKex),
      ratio: both(medic.timeMs),
      target: verdicts(medic.timeMs),
    },
    {
      measure: `the same through \`medic diagnose --json\`, a new process (${entryKind() === 'built' ? 'the precompiled CLI' : 'the sources through tsx: dist/cli/ is stale, npm run build'}; median of ${rounds})`,
      medic: ms(cli.timeMs),
      baseline: scripts(oneSession, sameKex),
      ratio: both(cli.timeMs),
      target: verdicts(cli.timeMs),
    },
    ...(cliByNode !== undefined && nodeStartNoCa !== undefined
      ? [
          {
            measure: `the same as \`node bin/medic.js\`, which keeps the NODE_EXTRA_CA_CERTS this environment sets (Node's own start, \`node -e 0\`: ${ms(nodeStart.timeMs)} with it, ${ms(nodeStartNoCa.timeMs)} without)`,
            medic: ms(cliByNode.timeMs),
            baseline: scripts(oneSession, sameKex),
            ratio: both(cliByNode.timeMs),
            target: '',
          },
        ]
      : [
          {
            measure: `Node's own start here (\`node -e 0\`, median of ${rounds})`,
            medic: ms(nodeStart.timeMs),
            baseline: '',
            ratio: '',
            target: '',
          },
        ]),
    {
      measure: `CPU on the target per diagnosis (everything the lab's sshd ran: its connection processes, shells, sudo, commands; ${sshd.meter.how}; mean ± standard error of ${rounds} runs)`,
      medic: withSe(medic),
      baseline: `${withSe(oneSession)} (the script); ${withSe(sameKex)} with medic's key exchange`,
      ratio: ratio(medic.targetCpuMs, oneSession.targetCpuMs),
      target: `<= the script: ${noHigher(medic, oneSession)}; with the same key exchange: ${noHigher(medic, sameKex)}`,
    },
    {
      measure: `CPU in the worker per diagnosis, early (diagnoses ${worker.earlyFrom}-${worker.earlyTo} of a new process that only diagnoses, back to back; parse, classify, ssh2 crypto)`,
      medic: worker.early,
      baseline: `${ms(oneSession.localCpuMs)} (the script's ssh client); ${ms(sameKex.localCpuMs)} with medic's key exchange`,
      ratio: ratio(worker.earlyMs, sameKex.localCpuMs),
      target: '',
    },
    {
      measure: `CPU in the worker per diagnosis, settled (the same process after ${worker.settledAfter} diagnoses, mean of ${SETTLED_RUNS} back to back)`,
      medic: worker.settled,
      baseline: `${ms(oneSession.localCpuMs)} (the script's ssh client); ${ms(sameKex.localCpuMs)} with medic's key exchange`,
      ratio: ratio(worker.settledMs, sameKex.localCpuMs),
      target: `<= 50 ms: ${verdict(worker.settledMs <= 50)}`,
    },
    {
      measure: '`medic diagnose --json` as a new process: CPU here (Node start-up included) / on the target',
      medic: `${ms(cli.localCpuMs)} / ${ms(cli.targetCpuMs)}`,
      baseline: `${ms(oneSession.localCpuMs)} / ${ms(oneSession.targetCpuMs)} (the script); ${ms(sameKex.localCpuMs)} / ${ms(sameKex.targetCpuMs)} with medic's key exchange`,
      ratio: '',
      target: '',
    },
    {
      measure: 'the old baseline: a new ssh connection per command, one after another (1 run)',
      medic: ms(medic.timeMs),
      baseline: `${ms(perCommand.timeMs)}, target CPU ${ms(perCommand.targetCpuMs)}`,
      ratio: faster(medic.timeMs, perCommand.timeMs),
      target: '',
    },
  ];

  rows.push(await benchHungSite(lab, sshd, host, script, cliArgs));
  if (fleet) rows.push(await benchFleet(sshd, host, cli.timeMs));

  const ansible = await ansibleVersion();
  if (ansible === undefined) {
    rows.push({
      measure: 'Ansible running the same commands',
      medic: ms(medic.timeMs),
      baseline: 'skipped: ansible-playbook is not installed',
      ratio: '',
      target: '',
    });
  } else {
    const runner = await ansibleRunner(host, commands);
    try {
      const a = await measure(sshd, 3, runner.run);
      rows.push({
        measure: `Ansible (${ansible}, raw tasks, pipelining, one multiplexed connection): time / target CPU (median of 3)`,
        medic: `${ms(medic.timeMs)} / ${ms(medic.targetCpuMs)}`,
        baseline: `${ms(a.timeMs)} / ${ms(a.targetCpuMs)}`,
        ratio: faster(medic.timeMs, a.timeMs),
        target: '',
      });
    } finally {
      await runner.cleanup();
    }
  }
  return rows;
}
