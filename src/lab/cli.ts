/**
 * `npm run lab -- up | down | status | scenario NAME`: the 502 lab by hand. State lives in
 * `.lab/` of the current directory; everything is stopped by pid, never by name.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from './lab.ts';
import { labLayout } from './lab-layout.ts';
import { readLabState } from './lab-state.ts';
import { isAlive, sleep, stopPid, waitFor } from './pids.ts';
import { LAB_HOST, untraversable } from './start-lab.ts';
import { SCENARIO_NAMES, SCENARIOS, isScenarioName } from './scenarios.ts';
import { SYSTEMD_HELP, systemdCommand } from './systemd-cli.ts';
import { errorMessage } from '../errors.ts';

const HELP = `The 502 lab: nginx, php-fpm 8.2, a Node backend and sshd on 127.0.0.1, broken on demand.

Usage: npm run lab -- <command>

  up               start the lab (healthy) in .lab/ and write .lab/inventory.yaml
  scenario NAME    break it one way (or heal it: healthy); sends real traffic
  status           what runs, on which ports, in which scenario
  down             stop everything (by pid) and remove the lab's sudo rules
  --help           this text

Scenarios:
${SCENARIO_NAMES.map((n) => `  ${n.padEnd(24)} ${SCENARIOS.get(n)?.summary ?? ''}`).join('\n')}

Then: npx medic diagnose ${LAB_HOST} --inventory .lab/inventory.yaml

${SYSTEMD_HELP}
Needs root: it creates the users medic-lab and medic-web, a rule in /etc/sudoers.d, and runs
nginx's and php-fpm's masters as root, as on a server.
`;

const out = (t: string): void => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
const err = (t: string): void => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);

/** `.lab/` in the current directory: the lab itself, or a link to it (see {@link labHome}). */
const linkDir = resolve(process.cwd(), '.lab');
const stateFile = join(linkDir, 'state.json');
const inventoryLink = join(linkDir, 'inventory.yaml');
const shown = (p: string): string => relative(process.cwd(), p) || '.';

/**
 * Where `up` puts the lab: `.lab/` itself when the lab's users can reach it; otherwise (a
 * checkout under /root, say) a directory in /tmp named after the checkout, linked from `.lab`.
 */
async function labHome(): Promise<string> {
  if (untraversable(process.cwd()) === undefined) {
    await mkdir(linkDir, { recursive: true });
    return linkDir;
  }
  const home = join(tmpdir(), `medic-lab-${createHash('sha256').update(process.cwd()).digest('hex').slice(0, 12)}`);
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  await symlink(home, linkDir);
  return home;
}

/** Removes `.lab`, and the directory it links to when it is a link. */
async function removeLabHome(): Promise<void> {
  const link = await lstat(linkDir).catch(() => undefined);
  if (link?.isSymbolicLink() === true) await rm(await readlink(linkDir), { recursive: true, force: true });
  await rm(linkDir, { recursive: true, force: true });
}

async function runningLab(): Promise<Lab | undefined> {
  if (!existsSync(stateFile)) return undefined;
  return new Lab(await readLabState(stateFile));
}

async function up(): Promise<number> {
  const existing = await runningLab();
  if (existing !== undefined) {
    const daemon = existing.snapshot.daemonPid;
    if (daemon !== undefined && isAlive(daemon)) {
      out(`The lab already runs (scenario ${existing.current}).`);
      printHowTo(existing);
      return 0;
    }
    // A lab whose owner died: stop what is left of it by pid before starting afresh.
    await existing.stop();
  }
  await removeLabHome();
  const home = await labHome();
  const logPath = join(home, 'daemon.log');
  const log = openSync(logPath, 'a');
  const daemon = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./lab-daemon.ts', import.meta.url)), home], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  daemon.unref();
  const pid = daemon.pid;
  if (pid === undefined) throw new Error('could not start the lab daemon');
  out('Starting the lab (nginx, php-fpm, a Node backend, sshd)…');
  try {
    await waitFor(
      'the lab to start',
      () => {
        if (!isAlive(pid)) throw new Error('the lab daemon exited');
        return existsSync(labLayout(home).inventory) ? true : undefined;
      },
      60_000,
    );
  } catch (e) {
    err(`The lab did not start: ${errorMessage(e)}. ${logPath}:`);
    err((await readFile(logPath, 'utf8')).slice(-3000));
    if (isAlive(pid)) await stopPid(pid);
    return 1;
  }
  const lab = await runningLab();
  if (lab === undefined) return 1;
  out(`The lab runs (scenario healthy) in ${home === linkDir ? '.lab' : `${home} (linked from .lab)`}; state in ${shown(stateFile)}.`);
  printHowTo(lab);
  return 0;
}

function printHowTo(lab: Lab): void {
  const s = lab.snapshot;
  out(`  site:      http://127.0.0.1:${s.nginxPort}/   (Node backend behind /api/)`);
  out(`  ssh:       ${s.loginUser}@127.0.0.1 port ${s.sshd.port}`);
  out(`  inventory: ${shown(inventoryLink)}`);
  out('');
  out(`Diagnose:  npx medic diagnose ${LAB_HOST} --inventory ${shown(inventoryLink)}`);
  out('Break it:  npm run lab -- scenario php_fpm_down   (npm run lab -- --help lists them all)');
  out('Stop:      npm run lab -- down');
}

async function scenarioCommand(name: string | undefined): Promise<number> {
  if (name === undefined || !isScenarioName(name)) {
    err(`${name === undefined ? 'Which scenario?' : `No scenario "${name}".`} Scenarios: ${SCENARIO_NAMES.join(', ')}`);
    return 2;
  }
  const lab = await runningLab();
  if (lab === undefined) {
    err('No lab runs here: npm run lab -- up');
    return 1;
  }
  const spec = SCENARIOS.get(name);
  out(`Scenario ${name}: ${spec?.summary ?? ''}`);
  const outcome = await lab.applyScenario(name);
  for (const [path, statuses] of Object.entries(outcome.traffic)) {
    out(
      `  GET ${path}: ${Object.entries(statuses)
        .map(([code, n]) => `${n}× ${code}`)
        .join(', ')}`,
    );
  }
  out('Real lines the servers wrote:');
  for (const line of outcome.lines) out(`  ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`);
  out(`Expected verdict: ${spec?.cause ?? '?'}`);
  out(`Diagnose: npx medic diagnose ${LAB_HOST} --inventory ${shown(inventoryLink)}`);
  return 0;
}

async function status(): Promise<number> {
  const lab = await runningLab();
  if (lab === undefined) {
    out('No lab runs here (npm run lab -- up starts one).');
    return 0;
  }
  const st = await lab.status();
  const s = lab.snapshot;
  const pid = (p: number | undefined): string => (p === undefined ? 'stopped' : `pid ${p}`);
  out(`Lab ${s.id} in ${s.dir === linkDir ? '.lab' : s.dir}, scenario ${st.scenario}, started ${s.startedAt}`);
  out(`  nginx        ${pid(st.nginx)}  http://127.0.0.1:${s.nginxPort}/`);
  out(`  php-fpm      ${pid(st.fpm)}  ${shown(lab.layout.fpmSocket)}`);
  out(`  node backend ${pid(st.backend)}  http://127.0.0.1:${s.backendPort}/`);
  out(`  sshd         ${pid(st.sshd)}  ${s.loginUser}@127.0.0.1:${s.sshd.port}`);
  out(`  inventory    ${shown(inventoryLink)}`);
  return 0;
}

async function down(): Promise<number> {
  const lab = await runningLab();
  if (lab === undefined) {
    out('No lab runs here.');
    return 0;
  }
  const daemon = lab.snapshot.daemonPid;
  if (daemon !== undefined && isAlive(daemon)) {
    await stopPid(daemon, 'SIGTERM', 20_000);
    await sleep(50);
  }
  // Whatever the daemon left (or if it had died): stop by pid, remove the sudo rules.
  await lab.stop();
  await rm(stateFile, { force: true });
  out(`The lab is down (logs and configs stay in ${shown(linkDir)}).`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
    out(HELP);
    return command === undefined ? 2 : 0;
  }
  if (!['up', 'down', 'status', 'scenario'].includes(command)) {
    err(`Unknown command "${command}".\n\n${HELP}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    err(
      'The lab needs root: it creates Unix users and a sudo rule, and runs nginx and php-fpm masters as root. Run: sudo npm run lab -- ' +
        argv.join(' '),
    );
    return 1;
  }
  if (rest.includes('--systemd')) return systemdCommand(command, rest);
  switch (command) {
    case 'up':
      return up();
    case 'down':
      return down();
    case 'status':
      return status();
    default:
      return scenarioCommand(rest[0]);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  err(`lab: ${errorMessage(e)}`);
  process.exitCode = 1;
}
