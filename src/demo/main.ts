/**
 * `npm run demo`: the whole thing on 127.0.0.1 with one command (see docs/demo.md). A dev
 * tool, so it talks to the terminal directly; the product's own code logs through pino.
 */
import { resolve } from 'node:path';
import { parseArgs as parseOptions } from 'node:util';
import { loadConfig } from '../config.ts';
import { errorMessage, isMedicError } from '../errors.ts';
import { SCENARIO_NAMES, SCENARIOS, isScenarioName, type ScenarioName } from '../lab/scenarios.ts';
import { hostFacts, missingRequirements, planPackages, runInstall } from './packages.ts';
import { redisGiven, startDemo, type Demo } from './start-demo.ts';

const HELP = `gateway-medic demo: the bot, a worker, Redis and a broken lab host on 127.0.0.1, and a
local page that plays Slack's part. With Slack credentials in .env, it connects to Slack instead.

Usage: sudo npm run demo [-- options]

  --scenario NAME   how the lab host is broken at start (default php_fpm_down)
  --port N          the page's port on 127.0.0.1 (default 8502, or any free one)
  --local           use the local page even when .env has Slack credentials
  --verbose         show the bot's and worker's logs (info level)
  --systemd         also boot the systemd lab host web-systemd (a real Debian 12 under systemd,
                    php8.2-fpm.service stopped; needs debootstrap and systemd-container)
  --help            this text

Scenarios: ${SCENARIO_NAMES.join(', ')}

Needs root (the lab creates Unix users and a sudo rule, and runs nginx's and php-fpm's masters
as root) and the Debian packages redis-server, nginx, php8.2-fpm, openssh-server and sudo; as
root on Debian or Ubuntu it installs whichever are missing. Ctrl-C stops everything.
`;

const out = (t = ''): void => void process.stdout.write(`${t}\n`);
const err = (t: string): void => void process.stderr.write(`${t}\n`);

interface Args {
  scenario: ScenarioName;
  port: number;
  local: boolean;
  verbose: boolean;
  systemd: boolean;
}

function parseArgs(argv: readonly string[]): Args | { exit: number } {
  let values: { help?: boolean; scenario?: string; port?: string; local?: boolean; verbose?: boolean; systemd?: boolean };
  try {
    ({ values } = parseOptions({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h' },
        scenario: { type: 'string' },
        port: { type: 'string' },
        local: { type: 'boolean' },
        verbose: { type: 'boolean' },
        systemd: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    // node:util says which option and why ("Unknown option '--x'", "argument missing").
    err(`${errorMessage(e)}\n\n${HELP}`);
    return { exit: 2 };
  }
  if (values.help === true) {
    out(HELP);
    return { exit: 0 };
  }
  const args: Args = {
    scenario: 'php_fpm_down',
    port: 8502,
    local: values.local === true,
    verbose: values.verbose === true,
    systemd: values.systemd === true,
  };
  if (values.scenario !== undefined) {
    if (!isScenarioName(values.scenario)) {
      err(`No scenario "${values.scenario}". Scenarios: ${SCENARIO_NAMES.join(', ')}`);
      return { exit: 2 };
    }
    args.scenario = values.scenario;
  }
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (values.port.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
      err('--port needs a port number (0 for any free port).');
      return { exit: 2 };
    }
    args.port = port;
  }
  return args;
}

/** Packages first (an install needs root too), then root: the lab cannot run without it. */
async function preflight(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const host = hostFacts();
  const missing = missingRequirements({ needRedis: !redisGiven(env, resolve('.env')) });
  const plan = planPackages(missing, host);
  if (plan.kind === 'tell') {
    err(plan.message);
    if (host.uid !== 0)
      err('\nThe demo also needs root: run it with sudo (sudo npm run demo), which also lets it install them itself on Debian or Ubuntu.');
    return 1;
  }
  if (plan.kind === 'install') {
    out(`Installing the missing Debian packages with apt-get (without starting their own services): ${plan.packages.join(' ')}`);
    if (plan.note !== undefined) out(plan.note);
    const done = await runInstall(plan.commands, env, out);
    const still = missingRequirements({ needRedis: plan.packages.includes('redis-server') });
    if (!done.ok || still.length > 0) {
      err(
        `Could not install them${done.failed !== undefined ? ` (${done.failed})` : ''}. Install ${(still.length > 0 ? still : missing).map((r) => r.pkg).join(' ')} by hand, then run npm run demo again.${plan.note !== undefined ? `\n${plan.note}` : ''}`,
      );
      return 1;
    }
    out('Installed.');
  }
  if (host.uid !== 0) {
    err(
      "The demo needs root: its lab creates the Unix users medic-lab and medic-web and a rule in /etc/sudoers.d, and runs nginx's and php-fpm's masters as root, as on a server.\nRun: sudo npm run demo",
    );
    return 1;
  }
  return undefined;
}

function banner(demo: Demo, approvers: string): void {
  const lab = demo.lab.snapshot;
  const inventory = demo.systemdHost === undefined && demo.labLink !== undefined ? '.lab/inventory.yaml' : demo.inventoryPath;
  out('');
  if (demo.mode === 'stand-in') {
    out('gateway-medic demo is running: local mode (a Slack stand-in and this page; nothing leaves this machine).');
    out('');
    out(`  Open       ${demo.url ?? ''}   and type  /502 diagnose ${demo.host}`);
  } else {
    const how =
      demo.mode === 'slack-socket'
        ? 'Socket Mode (no public URL needed)'
        : `HTTP mode: Slack must reach ${demo.botUrl}/slack/events (a tunnel to this port, as the app's Request URL)`;
    out(`gateway-medic demo is running: connected to Slack, ${how}.`);
    out('');
    out(`  In Slack   /502 diagnose ${demo.host}   in a channel the app is in`);
    out(`  Approvers  ${approvers === '' ? 'none: set MEDIC_APPROVERS=U… in .env to approve remediations' : approvers}`);
  }
  out(
    `  Lab host   ${demo.host}, nginx at http://127.0.0.1:${lab.nginxPort}/, broken as ${demo.scenario}: ${SCENARIOS.get(demo.scenario)?.summary ?? ''}`,
  );
  if (demo.systemdHost !== undefined) {
    out(
      `  systemd    web-systemd, a real Debian 12 under systemd (systemd-nspawn pid ${demo.systemdHost.state.nspawnPid}), php8.2-fpm.service stopped: /502 diagnose web-systemd`,
    );
  }
  out(`  Inventory  ${inventory}`);
  out(`  Bot        ${demo.botUrl}   (/healthz, /readyz, /metrics)`);
  out(`  Redis      ${demo.redisUrl}${demo.ownRedis ? '   (a redis-server of its own, stopped with the demo)' : ''}`);
  if (demo.redisNote !== undefined) out(`             ${demo.redisNote}`);
  out('');
  out('From another terminal:');
  out(`  npx medic diagnose ${demo.host} --inventory ${inventory}`);
  const other = demo.scenario === 'socket_mismatch' ? 'php_fpm_down' : 'socket_mismatch';
  if (demo.labLink !== undefined)
    out(`  sudo npm run lab -- scenario ${other}      (breaks it another way; npm run lab -- --help lists them all)`);
  else out("  .lab holds another lab, so npm run lab drives that one; switch this lab's scenario on the page instead.");
  if (demo.alertToken !== undefined) {
    const alert = JSON.stringify({ host: demo.host, status: 'firing', alertname: 'Site502', summary: 'the site answers 502' });
    out(
      `  curl -sS ${demo.botUrl}/alerts/generic -H 'authorization: Bearer ${demo.alertToken}' -H 'content-type: application/json' -d '${alert}'`,
    );
    out('                                                     (an alert: its report shows up on the page)');
  }
  out('');
  out('Ctrl-C stops everything (bot, worker, lab, Redis).');
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseArgs(argv);
  if ('exit' in args) return args.exit;
  let approvers = '';
  try {
    const config = loadConfig(env);
    approvers = [...config.MEDIC_APPROVERS.users, ...config.MEDIC_APPROVERS.groups].join(', ');
  } catch (e) {
    err(isMedicError(e) ? e.message : String(e));
    return 2;
  }
  const failed = await preflight(env);
  if (failed !== undefined) return failed;

  let stopRequested = 0;
  let demo: Demo | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): void => {
    if (stopRequested !== 0) {
      // Ctrl-C reaches both tsx and this process, and tsx relays it: one keypress, two signals.
      if (Date.now() - stopRequested > 1000) out(`(${signal} again: still stopping, by pid, so that nothing is left behind)`);
      return;
    }
    stopRequested = Date.now();
    if (demo === undefined) {
      out(`\n${signal}: stopping as soon as the start finishes…`);
      return;
    }
    out(`\n${signal}: stopping…`);
    stopping = demo.stop();
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => stop(s));

  try {
    demo = await startDemo({
      env,
      slack: args.local ? 'stand-in' : 'auto',
      scenario: args.scenario,
      port: args.port,
      labLink: '.lab',
      daemonPid: process.pid,
      logLevel: args.verbose ? 'info' : 'warn',
      logFormat: process.stdout.isTTY ? 'pretty' : 'json',
      onStep: (t) => out(t),
      systemd: args.systemd,
    });
  } catch (e) {
    err(`The demo did not start: ${isMedicError(e) ? e.message : ((e as Error).stack ?? String(e))}`);
    return 1;
  }
  if (stopRequested !== 0) stopping = demo.stop();
  else {
    banner(demo, approvers);
    await new Promise<void>((resolve) => {
      const wait = setInterval(() => {
        if (stopping !== undefined) {
          clearInterval(wait);
          resolve();
        }
      }, 100);
    });
  }
  await stopping;
  out('Stopped: nothing the demo started is still running.');
  return 0;
}

// Exit explicitly: the pretty log transport's worker would otherwise hold the process open.
process.exit(await main(process.argv.slice(2), process.env));
