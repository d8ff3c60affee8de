import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { Diagnosis } from '../src/core/finding.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { parsePlaybook } from '../src/core/playbook/parse-playbook.ts';
import type { Playbook } from '../src/core/playbook/playbook-schema.ts';
import { diagnoseHost, diagnoseHostDetailed } from '../src/jobs/diagnose-host.ts';
import type { JobDeps, TargetHost } from '../src/jobs/ports.ts';
import { remediateHost } from '../src/jobs/remediate-host.ts';
import { renderDeploySudoers } from '../src/lab/deploy-sudoers.ts';
import { isAlive } from '../src/lab/pids.ts';
import { LAB_HOST, startLab } from '../src/lab/start-lab.ts';
import { FPM_UNIT, SYSTEMD_HOST, startSystemdHost, systemdLabUnsupported, type SystemdHost } from '../src/lab/systemd-host.ts';
import { APP_UNIT, applySystemdScenario, OLD_SOCKET, repairSystemdConfig } from '../src/lab/systemd-scenarios.ts';

const run = promisify(execFile);

const describeDiagnosis = (d: Diagnosis): string =>
  JSON.stringify(
    {
      verdict: d.verdict,
      findings: d.findings.map((f) => ({ cause: f.cause, evidence: f.evidence, nextSteps: f.nextSteps })),
      gaps: d.gaps,
    },
    null,
    2,
  );

/**
 * A real Debian 12 booted under systemd (debootstrap + systemd-nspawn), reached over SSH with an
 * inventory that sets no facts. Where the machine cannot boot it, every test here fails with the
 * reason: nothing passes without the real host.
 */
describe('the systemd lab host: stock Debian 12 under systemd, diagnosed and fixed over SSH with no facts', () => {
  let host: SystemdHost;
  let target: TargetHost;
  let playbook: Playbook;
  let deps: JobDeps;
  let bootMs = 0;

  beforeAll(async () => {
    const unsupported = systemdLabUnsupported();
    if (unsupported !== undefined) throw new Error(`this machine cannot run the systemd lab: ${unsupported}`);
    const t0 = performance.now();
    // The Debian tree is cached; on a fresh machine the global setup is already building it.
    host = await startSystemdHost({ log: (l) => process.stderr.write(`${l}\n`) });
    bootMs = Math.round(performance.now() - t0);
    const inventoryText = await readFile(host.state.inventoryPath, 'utf8');
    expect(inventoryText).not.toMatch(/^\s*facts:/m);
    const inventory = parseInventory(inventoryText, host.state.inventoryPath);
    target = { ...(inventory.hosts[SYSTEMD_HOST] as NonNullable<(typeof inventory.hosts)[string]>), name: SYSTEMD_HOST };
    playbook = parsePlaybook(await readFile('playbooks/nginx-502.yaml', 'utf8'), 'playbooks/nginx-502.yaml');
    deps = { connector: new SshConnector(), logger: pino({ level: 'silent' }), now: () => new Date() };
  }, 20 * 60_000);

  afterAll(async () => {
    await host?.stop();
  }, 120_000);

  it('boots with nginx.service, php8.2-fpm.service and ssh.service active; discovery with no facts finds every path', async () => {
    process.stderr.write(`systemd lab host booted in ${bootMs} ms (tree cached or built)\n`);
    await applySystemdScenario(host, 'healthy');
    const d = await diagnoseHost({ host: target, playbook }, deps);
    expect(d.verdict.cause, describeDiagnosis(d)).toBe('healthy');
    expect(d.incomplete, describeDiagnosis(d)).toBe(false);
    expect(d.gaps).toEqual([]);
    expect(d.facts).toMatchObject({
      systemd: true,
      nginx: {
        running: true,
        conf: '/etc/nginx/nginx.conf',
        errorLog: '/var/log/nginx/error.log',
        upstreams: ['fastcgi_pass unix:/run/php/php8.2-fpm.sock'],
      },
      fpm: {
        running: true,
        conf: '/etc/php/8.2/fpm/php-fpm.conf',
        errorLog: '/var/log/php8.2-fpm.log',
        pools: [{ name: 'www', listen: '/run/php/php8.2-fpm.sock' }],
      },
    });
  });

  it('php_fpm_down: php8.2-fpm.service stopped → next steps name the unit; start_php_fpm runs systemctl start; verified', async () => {
    await applySystemdScenario(host, 'php_fpm_down');
    const d = await diagnoseHost({ host: target, playbook }, deps);
    expect(d.verdict.cause, describeDiagnosis(d)).toBe('php_fpm_down');
    const verdict = d.findings[0];
    expect(verdict?.evidence, describeDiagnosis(d)).toContainEqual(
      expect.stringMatching(/connect\(\) to unix:\/run\/php\/php8\.2-fpm\.sock failed \(2: No such file or directory\)/),
    );
    expect(verdict?.nextSteps.join('\n')).toContain(`systemctl start ${FPM_UNIT}`);
    expect(verdict?.nextSteps.join('\n')).not.toMatch(/\bpid\b/);
    expect(verdict?.remediations).toContain('start_php_fpm');

    const outcome = await remediateHost({ host: target, playbook, remediation: 'start_php_fpm' }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.steps.map((s) => s.command)).toEqual([`sudo -n -- systemctl start ${FPM_UNIT}`]);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(outcome.probeStatus).toBe(200);
    expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
    expect(await host.activeState(FPM_UNIT)).toBe('active');
  });

  it('socket_mismatch after a "PHP upgrade": the site fixed by hand → reload_nginx runs nginx -t, then systemctl reload nginx.service', async () => {
    await applySystemdScenario(host, 'socket_mismatch');
    const d = await diagnoseHost({ host: target, playbook }, deps);
    expect(d.verdict.cause, describeDiagnosis(d)).toBe('socket_mismatch');
    expect(d.findings[0]?.evidence, describeDiagnosis(d)).toContainEqual(
      expect.stringContaining(`connect() to unix:${OLD_SOCKET} failed (2: No such file or directory)`),
    );
    expect(d.findings[0]?.remediations).toContain('reload_nginx');
    const nginxPid = await host.mainPid('nginx.service');

    await repairSystemdConfig(host, 'site');
    const outcome = await remediateHost({ host: target, playbook, remediation: 'reload_nginx' }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.steps.map((s) => s.command)).toEqual([
      'sudo -n -- /usr/sbin/nginx -t -c /etc/nginx/nginx.conf',
      'sudo -n -- systemctl reload nginx.service',
    ]);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
    // A reload, not a restart: the same master.
    expect(await host.mainPid('nginx.service')).toBe(nginxPid);
  });

  it('reload_php_fpm runs systemctl reload php8.2-fpm.service: systemd counts one reload, same MainPID', async () => {
    await applySystemdScenario(host, 'healthy');
    const reloads = async (): Promise<number> =>
      ((await host.mustExec(['journalctl', '-u', FPM_UNIT, '--no-pager'])).match(/Reloaded .*PHP 8\.2 FastCGI Process Manager/g) ?? [])
        .length;
    const before = await reloads();
    const mainPid = await host.mainPid(FPM_UNIT);
    const outcome = await remediateHost({ host: target, playbook, remediation: 'reload_php_fpm' }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.steps.map((s) => s.command)).toEqual([`sudo -n -- systemctl reload ${FPM_UNIT}`]);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(await reloads()).toBe(before + 1);
    expect(await host.mainPid(FPM_UNIT)).toBe(mainPid);
  });

  it('socket_permission: the pool fixed by hand → restart_php_fpm runs systemctl restart php8.2-fpm.service (a reload would keep the socket)', async () => {
    await applySystemdScenario(host, 'socket_permission');
    const d = await diagnoseHost({ host: target, playbook }, deps);
    expect(d.verdict.cause, describeDiagnosis(d)).toBe('socket_permission');
    expect(d.findings[0]?.evidence, describeDiagnosis(d)).toContainEqual(
      expect.stringMatching(/connect\(\) to unix:\/run\/php\/php8\.2-fpm\.sock failed \(13: Permission denied\)/),
    );
    expect(d.findings[0]?.remediations).toEqual(['restart_php_fpm']);
    expect(d.findings[0]?.nextSteps.join('\n')).toContain(`systemctl restart ${FPM_UNIT}`);
    const mainPid = await host.mainPid(FPM_UNIT);

    await repairSystemdConfig(host, 'pool');
    const outcome = await remediateHost({ host: target, playbook, remediation: 'restart_php_fpm' }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.steps.map((s) => s.command)).toEqual([`sudo -n -- systemctl restart ${FPM_UNIT}`]);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(outcome.probeStatus).toBe(200);
    expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
    expect(await host.mainPid(FPM_UNIT)).not.toBe(mainPid);
  });

  it("fpm_killed: php-fpm's master SIGKILLed → the unit is failed (Result: signal), in the evidence; start_php_fpm brings it back", async () => {
    await applySystemdScenario(host, 'fpm_killed');
    const d = await diagnoseHost({ host: target, playbook }, deps);
    expect(d.verdict.cause, describeDiagnosis(d)).toBe('php_fpm_down');
    const evidence = d.findings[0]?.evidence ?? [];
    expect(evidence, describeDiagnosis(d)).toContainEqual(expect.stringMatching(/Active: failed \(Result: signal\)/));
    expect(evidence, describeDiagnosis(d)).toContainEqual(
      expect.stringMatching(/connect\(\) to unix:\/run\/php\/php8\.2-fpm\.sock failed \(111: Connection refused\)/),
    );

    const outcome = await remediateHost({ host: target, playbook, remediation: 'start_php_fpm' }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.steps.map((s) => s.command)).toEqual([`sudo -n -- systemctl start ${FPM_UNIT}`]);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(await host.activeState(FPM_UNIT)).toBe('active');
  });

  it('fpm_journal_only: php-fpm logs only to the journal (error_log = syslog) → the evidence comes from journalctl -u php8.2-fpm.service', async () => {
    await applySystemdScenario(host, 'fpm_journal_only');
    const { diagnosis: d, results } = await diagnoseHostDetailed({ host: target, playbook }, deps);
    expect(d.verdict.cause, describeDiagnosis(d)).toBe('max_children_exhausted');
    expect(d.findings[0]?.evidence, describeDiagnosis(d)).toContainEqual(
      expect.stringMatching(/php-fpm\S*\[\d+\]: \[WARNING\] \[pool www\] server reached pm\.max_children setting \(2\)/),
    );
    // No log file to tail: the check ran its fallback, the unit's journal, through the sudo rule.
    expect(results.find((r) => r.id === 'fpm_log')?.command).toBe(`sudo -n -- journalctl -u ${FPM_UNIT} --no-pager -n 3000`);
  });

  it("the ordinary lab's diagnosis stays right while the container's nginx and php-fpm masters show in this machine's ps", async () => {
    // The container's php-fpm master runs (it shows in ps with /etc/php/8.2/fpm/php-fpm.conf);
    // the lab's own php-fpm is stopped: the verdict must still be php_fpm_down, not a mismatch.
    await applySystemdScenario(host, 'healthy');
    const lab = await startLab();
    try {
      await lab.applyScenario('php_fpm_down');
      const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
      const labHost = { ...(inventory.hosts[LAB_HOST] as NonNullable<(typeof inventory.hosts)[string]>), name: LAB_HOST };
      const ps = await host.mustExec(['ps', '-eo', 'args']);
      expect(ps).toMatch(/php-fpm: master process \(\/etc\/php\/8\.2\/fpm\/php-fpm\.conf\)/);
      const d = await diagnoseHost({ host: labHost, playbook }, deps);
      expect(d.verdict.cause, describeDiagnosis(d)).toBe('php_fpm_down');
      expect(d.findings[0]?.remediations).toContain('start_php_fpm');
      // Read as the lab's unprivileged login user (no namespaces in its ps), the container's
      // php-fpm master is still known for a container's: its / is not this machine's.
      const container = (d.untrustedMasters ?? []).filter(
        (u) => u.status === 'container' && u.title.includes('(/etc/php/8.2/fpm/php-fpm.conf)'),
      );
      expect(container.length, describeDiagnosis(d)).toBeGreaterThan(0);
      expect(container[0]?.why).toMatch(
        /^php-fpm in a container: its paths are not this host's, so nothing of it is read \(another mount namespace, whose \/ is /,
      );
    } finally {
      await lab.stop({ removeDir: true });
    }
  });

  it('npm run lab -- up|status|down --systemd: boots a second host, names its inventory, halts it by pid', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'medic-lab-cli-'));
    try {
      const cli = (args: string[]) =>
        run(join(process.cwd(), 'node_modules/.bin/tsx'), [join(process.cwd(), 'src/lab/cli.ts'), ...args], { cwd, timeout: 300_000 });
      const up = await cli(['up', '--systemd']);
      expect(up.stdout).toMatch(/It runs \(booted in [\d.]+ s\)/);
      expect(up.stdout).toContain('npx medic diagnose web-systemd --inventory .lab-systemd/inventory.yaml');
      const state = JSON.parse(await readFile(join(cwd, '.lab-systemd/state.json'), 'utf8')) as { nspawnPid: number };
      expect(isAlive(state.nspawnPid)).toBe(true);
      expect((await cli(['status', '--systemd'])).stdout).toMatch(/php8\.2-fpm\.service\s+active/);
      expect((await cli(['down', '--systemd'])).stdout).toContain('is down');
      expect(isAlive(state.nspawnPid)).toBe(false);
      expect(existsSync(join(cwd, '.lab-systemd'))).toBe(false);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }, 180_000);

  it('gunicorn_worker_timeout: the backend behind proxy_pass is named by its unit, and its own journal (read through the sudo rule) is the evidence', async () => {
    await applySystemdScenario(host, 'gunicorn_worker_timeout');
    const { diagnosis: d, results } = await diagnoseHostDetailed({ host: target, playbook }, deps);
    const text = describeDiagnosis(d);
    expect(d.verdict.cause, text).toBe('upstream_reset');
    const v = d.findings[0];
    expect(v?.title, text).toMatch(
      new RegExp(
        `^The backend gunicorn \\(${APP_UNIT.replace('.', '\\.')}, pid \\d+\\) at 127\\.0\\.0\\.1:\\d+ closed connections mid-request`,
      ),
    );
    expect(v?.title, text).not.toMatch(/PHP-FPM/);
    expect(
      v?.evidence.some((e) => /gunicorn\[\d+\]: .*\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/.test(e)),
      text,
    ).toBe(true);
    expect(v?.nextSteps, text).toContain(
      `Read the rest of its journal around those times: sudo journalctl -u ${APP_UNIT} --since "1 hour ago" --no-pager`,
    );
    // The unit was found from the listener, and its journal read through the Deploying rule.
    const unitCheck = results.find((r) => r.id === 'backend_units');
    expect(unitCheck?.status, JSON.stringify(unitCheck)).toBe('ok');
    expect(unitCheck?.stdout).toMatch(new RegExp(`^\\s*\\d+ ${APP_UNIT.replace('.', '\\.')}\\s*$`, 'm'));
    const journal = results.find((r) => r.id === 'backend_unit_journal');
    expect(journal?.command).toBe(`sudo -n -- journalctl -u ${APP_UNIT} --no-pager -o short-iso --since -1h -n 500`);
    expect(journal?.status, JSON.stringify(journal)).toBe('ok');
  });

  it('writes exactly the Deploying sudo rules of docs/deploying.md, and they refuse anything else', async () => {
    const readme = await readFile('docs/deploying.md', 'utf8');
    expect(readme).toContain(renderDeploySudoers('oncall'));
    expect(await readFile(host.path('/etc/sudoers.d/medic'), 'utf8')).toBe(renderDeploySudoers('medic'));
    for (const argv of [
      ['systemctl', 'stop', FPM_UNIT],
      ['systemctl', 'restart', 'ssh.service'],
      ['systemctl', 'reload', FPM_UNIT, 'ssh.service'],
      ['grep', '-r', '-H', '--include=x', '/etc/shadow', '-v', '-e', '^\\s*;', '-e', '^\\s*$', '/etc/php/8.2/fpm/pool.d'],
      ['tail', '-n', '3000', '/etc/shadow'],
      ['cat', '/etc/shadow'],
      ['journalctl', '-u', APP_UNIT, '--no-pager', '-o', 'short-iso', '--since', '-1h', '-n', '500', '-f'],
      ['journalctl', '-u', 'a b.service', '--no-pager', '-o', 'short-iso', '--since', '-1h', '-n', '500'],
      ['journalctl', '-u', APP_UNIT, '--no-pager', '-o', 'export', '--since', '-1h', '-n', '500'],
    ]) {
      const r = await host.exec(['runuser', '-u', 'medic', '--', 'sudo', '-n', '--', ...argv]);
      expect({ argv, code: r.code }).toEqual({ argv, code: 1 });
    }
  });
});
