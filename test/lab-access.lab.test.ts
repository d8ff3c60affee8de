import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { shellQuote } from '../src/core/playbook/shell-quote.ts';
import type { CommandRunner, RunOutput, TargetHost } from '../src/jobs/ports.ts';
import type { Lab } from '../src/lab/lab.ts';
import { LAB_HOST, startLab } from '../src/lab/start-lab.ts';
import { listSudo, sudoersPath } from '../src/lab/sudoers.ts';
import { livePid } from '../src/lab/pids.ts';
import { existsSync } from 'node:fs';

/**
 * What the bot's login user may do on the lab host: read every log and config and run
 * `nginx -T` without root, and through sudo only the contract's remediations.
 */
describe('lab host access for the login user (real sshd, nginx, php-fpm)', () => {
  let lab: Lab;
  let host: TargetHost;
  let runner: CommandRunner;
  const sh = (argv: string[]): Promise<RunOutput> => runner.run(shellQuote(argv), { timeoutMs: 15_000 });

  beforeAll(async () => {
    lab = await startLab();
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    const entry = inventory.hosts[LAB_HOST];
    if (entry === undefined) throw new Error('the lab inventory has no web-01');
    host = { ...entry, name: LAB_HOST };
    runner = await new SshConnector().connect(host);
  });

  afterAll(async () => {
    await runner?.close();
    const id = lab?.id;
    await lab?.stop({ removeDir: true });
    if (id !== undefined) expect(existsSync(sudoersPath(id))).toBe(false);
  });

  it('writes an inventory medic accepts: web-01 over the lab sshd as the unprivileged login user, sudo off', () => {
    expect(host).toMatchObject({ address: '127.0.0.1', user: 'medic-lab', sudo: false });
    expect(host.facts.fpm?.startCommand).toEqual(['/usr/sbin/php-fpm8.2', '--fpm-config', lab.layout.fpmConf]);
    expect(host.facts.kernel?.log).toBe(lab.layout.kernelLog);
    expect(host.facts.site?.probeUrl).toBe(`http://127.0.0.1:${lab.nginxPort}/`);
  });

  it('logs in as medic-lab, not root', async () => {
    const r = await sh(['id', '-un']);
    expect(r.stdout.trim()).toBe('medic-lab');
    expect(r.stderr).toBe('');
  });

  it('runs nginx -T on the lab config without root', async () => {
    const r = await sh(['/usr/sbin/nginx', '-T', '-c', lab.layout.nginxConf]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`fastcgi_pass unix:${lab.layout.fpmSocket};`);
    expect(r.stdout).toContain(`error_log ${lab.layout.nginxErrorLog} error;`);
  });

  it('reads the nginx and php-fpm logs, the kernel log and the php-fpm configs', async () => {
    const l = lab.layout;
    for (const path of [l.nginxErrorLog, l.nginxAccessLog, l.fpmLog, l.kernelLog, l.fpmConf, l.fpmPoolConf]) {
      const r = await sh(['tail', '-n', '5', path]);
      expect({ path, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ path, exitCode: 0, stderr: '' });
    }
    const access = await sh(['tail', '-n', '5', l.nginxAccessLog]);
    expect(access.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200 /);
    const pools = await sh(['grep', '-r', '-H', '--include=*.conf', '-v', '-e', '^\\s*;', '-e', '^\\s*$', l.fpmPoolDir]);
    expect(pools.stdout).toContain(`listen = ${l.fpmSocket}`);
    expect(pools.stdout).toContain('pm.status_path = /fpm-status');
  });

  it('sees php-fpm status through nginx (pm.status_path and location = /fpm-status)', async () => {
    const r = await sh(['curl', '-sS', '-m', '3', `http://127.0.0.1:${lab.nginxPort}/fpm-status`]);
    expect(r.stdout).toMatch(/^pool:\s+www$/m);
    expect(r.stdout).toMatch(/^max children reached:\s+\d+$/m);
  });

  it('may sudo exactly the no-systemd remediations (sudo -l -U medic-lab)', async () => {
    // sudo wraps long lines; other labs running at the same time add their own entries.
    const listed = (await listSudo('medic-lab')).replace(/\s+/g, ' ');
    const rule = [
      '/usr/bin/kill ^-USR2 [1-9][0-9]{0,6}$',
      '/usr/bin/kill ^-HUP [1-9][0-9]{0,6}$',
      '/usr/bin/kill ^-TERM [1-9][0-9]{0,6}$',
      `/usr/sbin/nginx -t -c ${lab.layout.nginxConf}`,
      `/usr/sbin/php-fpm8.2 --fpm-config ${lab.layout.fpmConf}`,
    ].join(', ');
    expect(listed).toContain(`(root) NOPASSWD: ${rule}`);
  });

  it('runs nginx -t and reloads nginx through sudo -n, as reload_nginx does', async () => {
    const test = await sh(['sudo', '-n', '--', '/usr/sbin/nginx', '-t', '-c', lab.layout.nginxConf]);
    expect(test.exitCode).toBe(0);
    const pid = await livePid(lab.layout.nginxPidFile);
    const hup = await sh(['sudo', '-n', '--', 'kill', '-HUP', String(pid)]);
    expect(hup.exitCode).toBe(0);
    expect(await livePid(lab.layout.nginxPidFile)).toBe(pid);
  });

  it('is refused everything else through sudo', async () => {
    const pid = String(await livePid(lab.layout.fpmPidFile));
    const refused = [
      ['kill', '-KILL', pid],
      ['kill', '-INT', pid],
      ['kill', '-TERM', pid, '1'],
      ['kill', '-9', pid],
      ['kill', '-USR2', pid, '1'],
      ['/usr/sbin/nginx', '-t', '-c', '/etc/nginx/nginx.conf'],
      ['/usr/sbin/nginx', '-s', 'stop', '-c', lab.layout.nginxConf],
      ['/usr/sbin/php-fpm8.2', '--fpm-config', '/etc/php/8.2/fpm/php-fpm.conf'],
      ['/usr/sbin/php-fpm8.2', '--fpm-config', lab.layout.fpmConf, '-F'],
      ['cat', '/etc/shadow'],
      ['systemctl', 'reload', 'php8.2-fpm'],
    ];
    for (const argv of refused) {
      const r = await sh(['sudo', '-n', '--', ...argv]);
      expect({ argv, exitCode: r.exitCode }).toEqual({ argv, exitCode: 1 });
      expect(r.stderr).toMatch(/sudo: a password is required|not allowed/);
    }
    expect(await livePid(lab.layout.fpmPidFile)).toBe(Number(pid));
  });
});
