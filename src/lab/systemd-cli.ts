/**
 * `npm run lab -- <command> --systemd`: the systemd lab host by hand. `.lab-systemd` in the
 * current directory links to the running host's directory (state, inventory, key); the host is
 * stopped by the pid of its systemd-nspawn, never by name.
 */
import { existsSync } from 'node:fs';
import { lstat, readFile, rm, symlink } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { isAlive } from './pids.ts';
import { FPM_UNIT, NGINX_UNIT, SYSTEMD_HOST, startSystemdHost, SystemdHost, type SystemdHostState } from './systemd-host.ts';
import { applySystemdScenario, isSystemdScenarioName, SYSTEMD_SCENARIO_NAMES, SYSTEMD_SCENARIO_SUMMARY } from './systemd-scenarios.ts';

export const SYSTEMD_HELP = `With --systemd, the same commands drive the systemd lab host instead: a real Debian 12 booted
under systemd (debootstrap, cached in /var/cache/medic-lab/, and systemd-nspawn), with nginx,
php8.2-fpm and sshd as Debian ships them, and an inventory that sets no facts (.lab-systemd/).

Scenarios with --systemd:
${SYSTEMD_SCENARIO_NAMES.map((n) => `  ${n.padEnd(24)} ${SYSTEMD_SCENARIO_SUMMARY[n]}`).join('\n')}
`;

const out = (t: string): void => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
const err = (t: string): void => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
const link = resolve(process.cwd(), '.lab-systemd');
const inventory = join(link, 'inventory.yaml');
const shown = (p: string): string => relative(process.cwd(), p) || '.';

async function running(): Promise<SystemdHost | undefined> {
  if (!existsSync(join(link, 'state.json'))) return undefined;
  const host = new SystemdHost(JSON.parse(await readFile(join(link, 'state.json'), 'utf8')) as SystemdHostState);
  return isAlive(host.state.nspawnPid) ? host : undefined;
}

async function removeLink(): Promise<void> {
  const st = await lstat(link).catch(() => undefined);
  if (st?.isSymbolicLink() === true) await rm(link, { force: true });
}

function howTo(host: SystemdHost): void {
  const s = host.state;
  out(`  site:      http://127.0.0.1:${s.httpPort}/index.php`);
  out(`  ssh:       medic@127.0.0.1 port ${s.sshPort}   (systemd-nspawn pid ${s.nspawnPid})`);
  out(`  inventory: ${shown(inventory)}   (host ${SYSTEMD_HOST}, no facts)`);
  out('');
  out(`Diagnose:  npx medic diagnose ${SYSTEMD_HOST} --inventory ${shown(inventory)}`);
  out('Break it:  npm run lab -- scenario php_fpm_down --systemd');
  out('Stop:      npm run lab -- down --systemd');
}

export async function systemdCommand(command: string, rest: readonly string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const existing = await running();
      if (existing !== undefined) {
        out('The systemd lab host already runs.');
        howTo(existing);
        return 0;
      }
      await removeLink();
      if (existsSync(link)) {
        err(`${shown(link)} exists and is not a link to a systemd lab host: remove it first.`);
        return 1;
      }
      out('Booting the systemd lab host (Debian 12 under systemd-nspawn)…');
      const t0 = Date.now();
      const host = await startSystemdHost({ log: out });
      await symlink(host.state.dir, link);
      out(`It runs (booted in ${((Date.now() - t0) / 1000).toFixed(1)} s) in ${host.state.dir}, linked from ${shown(link)}.`);
      howTo(host);
      return 0;
    }
    case 'down': {
      const host = await running();
      if (host === undefined) {
        await removeLink();
        out('No systemd lab host runs here.');
        return 0;
      }
      await host.stop();
      await removeLink();
      out('The systemd lab host is down (systemd-nspawn halted it; its overlay is removed).');
      return 0;
    }
    case 'status': {
      const host = await running();
      if (host === undefined) {
        out('No systemd lab host runs here (npm run lab -- up --systemd starts one).');
        return 0;
      }
      for (const unit of [NGINX_UNIT, FPM_UNIT, 'ssh.service']) out(`  ${unit.padEnd(20)} ${await host.activeState(unit)}`);
      howTo(host);
      return 0;
    }
    default: {
      const name = rest.find((a) => !a.startsWith('--'));
      if (name === undefined || !isSystemdScenarioName(name)) {
        err(`${name === undefined ? 'Which scenario?' : `No systemd scenario "${name}".`} Scenarios: ${SYSTEMD_SCENARIO_NAMES.join(', ')}`);
        return 2;
      }
      const host = await running();
      if (host === undefined) {
        err('No systemd lab host runs here: npm run lab -- up --systemd');
        return 1;
      }
      out(`Scenario ${name}: ${SYSTEMD_SCENARIO_SUMMARY[name]}`);
      await applySystemdScenario(host, name);
      out(`Diagnose: npx medic diagnose ${SYSTEMD_HOST} --inventory ${shown(inventory)}`);
      return 0;
    }
  }
}
