/**
 * Ways to break the systemd lab host, each through the host's own service manager and Debian's
 * own files, so that nginx, php-fpm, systemd and journald write their own lines.
 */
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SystemdHost } from './systemd-host.ts';
import { FPM_UNIT, NGINX_UNIT, renderSite } from './systemd-host.ts';
import { get, sendTraffic } from './traffic.ts';
import { waitFor } from './pids.ts';
import { freePort } from './free-port.ts';

export const SYSTEMD_SCENARIO_NAMES = [
  'healthy',
  'php_fpm_down',
  'socket_mismatch',
  'socket_permission',
  'fpm_killed',
  'fpm_journal_only',
  'gunicorn_worker_timeout',
] as const;
export type SystemdScenarioName = (typeof SYSTEMD_SCENARIO_NAMES)[number];
export const isSystemdScenarioName = (v: string): v is SystemdScenarioName => (SYSTEMD_SCENARIO_NAMES as readonly string[]).includes(v);

export const SYSTEMD_SCENARIO_SUMMARY: Record<SystemdScenarioName, string> = {
  healthy: 'stock Debian: nginx.service and php8.2-fpm.service run',
  php_fpm_down: 'systemctl stop php8.2-fpm.service',
  socket_mismatch: 'a "PHP upgrade": the site\'s fastcgi_pass names php7.4-fpm.sock, nginx reloaded',
  socket_permission: "the pool's listen.owner/group root, listen.mode 0600, php8.2-fpm restarted",
  fpm_killed: "php-fpm's master SIGKILLed (by its MainPID): the unit is failed (Result: signal)",
  fpm_journal_only: 'error_log = syslog and pm.max_children = 2 under 12 concurrent slow requests: the evidence is in the journal',
  gunicorn_worker_timeout:
    'a gunicorn app (medic-app.service, --timeout 2) behind proxy_pass /app/; a 30 s request: gunicorn kills the worker, nginx answers 502',
};

/** The gunicorn application of the proxy_pass scenario: a WSGI app with one slow path, as its own unit. */
export const APP_UNIT = 'medic-app.service';
const APP_PY = `# gateway-medic systemd lab: a WSGI application behind proxy_pass.
import time


def app(environ, start_response):
    if environ.get('PATH_INFO', '').endswith('/slow'):
        time.sleep(30)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok\\n']
`;
const appUnit = (port: number): string => `[Unit]
Description=gateway-medic lab: a gunicorn application behind proxy_pass

[Service]
ExecStart=/usr/bin/gunicorn --bind 127.0.0.1:${port} --workers 1 --timeout 2 --chdir /srv/medic-app app:app
`;

const POOL = '/etc/php/8.2/fpm/pool.d/www.conf';
const FPM_CONF = '/etc/php/8.2/fpm/php-fpm.conf';
const SITE = '/etc/nginx/sites-available/default';
export const OLD_SOCKET = '/run/php/php7.4-fpm.sock';

/** The stock file from the cached tree (the overlay's lower layer, never written to). */
async function restoreStock(host: SystemdHost, inside: string): Promise<void> {
  await copyFile(join(host.state.tree, inside), host.path(inside));
}

/** The lab's waitFor for a yes/no probe. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await waitFor(what, async () => ((await probe()) ? true : undefined), timeoutMs);
}

/** Puts the host back to stock Debian, empties nginx's logs and the journal, and checks it answers 200. */
export async function healSystemdHost(host: SystemdHost): Promise<void> {
  await restoreStock(host, POOL);
  await restoreStock(host, FPM_CONF);
  await host.writeFileInside(SITE, renderSite(host.state.httpPort));
  await host.mustExec(['systemctl', 'reset-failed', FPM_UNIT]).catch(() => undefined);
  await host.exec(['systemctl', 'stop', APP_UNIT]);
  await host.mustExec(['systemctl', 'restart', FPM_UNIT]);
  await host.mustExec(['systemctl', 'reload', NGINX_UNIT]);
  await host.mustExec(['truncate', '-s', '0', '/var/log/nginx/error.log', '/var/log/nginx/access.log', '/var/log/php8.2-fpm.log']);
  await host.mustExec(['journalctl', '--rotate']);
  await host.mustExec(['journalctl', '--vacuum-time=1s']);
  // nginx's reload starts new workers asynchronously: wait until the site answers as stock.
  await until('the site to answer 200', async () => (await get(host.state.httpPort, '/index.php', 5000)) === '200');
  await host.mustExec(['truncate', '-s', '0', '/var/log/nginx/access.log']);
}

/** Applies one scenario from a healed host and sends the traffic that makes the servers log it. */
export async function applySystemdScenario(host: SystemdHost, name: SystemdScenarioName): Promise<void> {
  await healSystemdHost(host);
  const port = host.state.httpPort;
  const fail = async (): Promise<void> => {
    await sendTraffic(port, [{ path: '/index.php', count: 3 }]);
  };
  switch (name) {
    case 'healthy':
      await sendTraffic(port, [{ path: '/index.php', count: 2 }]);
      return;
    case 'php_fpm_down':
      await host.mustExec(['systemctl', 'stop', FPM_UNIT]);
      await fail();
      return;
    case 'socket_mismatch':
      await host.writeFileInside(SITE, renderSite(port, `unix:${OLD_SOCKET}`));
      await host.mustExec(['systemctl', 'reload', NGINX_UNIT]);
      await until('nginx to pass PHP to the old socket', async () => (await get(port, '/index.php', 5000)) === '502');
      await fail();
      return;
    case 'socket_permission': {
      const pool = await readFile(host.path(POOL), 'utf8');
      const broken = pool
        .replace(/^listen\.owner = .*$/m, 'listen.owner = root')
        .replace(/^listen\.group = .*$/m, 'listen.group = root')
        .replace(/^;?listen\.mode = .*$/m, 'listen.mode = 0600');
      await host.writeFileInside(POOL, broken);
      await host.mustExec(['systemctl', 'restart', FPM_UNIT]);
      await fail();
      return;
    }
    case 'fpm_killed': {
      // The master, by the pid systemd knows, as the OOM killer or a crash would. Its workers go
      // too: systemd kills what is left in a failed unit's cgroup, but a container on a host
      // without a systemd-managed cgroup tree cannot track them, so the lab does it by pid.
      const master = await host.mainPid(FPM_UNIT);
      const workers = (await host.mustExec(['ps', '-o', 'pid=', '--ppid', String(master)])).split(/\s+/).filter((p) => /^\d+$/.test(p));
      await host.mustExec(['kill', '-KILL', String(master)]);
      // Where the container's systemd does track the unit's cgroup, it may have killed them already.
      if (workers.length > 0) await host.exec(['kill', '-KILL', ...workers]);
      await until('php8.2-fpm.service to be failed', async () => (await host.activeState(FPM_UNIT)) === 'failed');
      await fail();
      return;
    }
    case 'fpm_journal_only': {
      const conf = (await readFile(host.path(FPM_CONF), 'utf8')).replace(/^error_log = .*$/m, 'error_log = syslog');
      await host.writeFileInside(FPM_CONF, conf);
      const pool = (await readFile(host.path(POOL), 'utf8'))
        .replace(/^pm\.max_children = .*$/m, 'pm.max_children = 2')
        .replace(/^pm\.start_servers = .*$/m, 'pm.start_servers = 1')
        .replace(/^pm\.min_spare_servers = .*$/m, 'pm.min_spare_servers = 1')
        .replace(/^pm\.max_spare_servers = .*$/m, 'pm.max_spare_servers = 2');
      await host.writeFileInside(POOL, pool);
      await host.mustExec(['systemctl', 'restart', FPM_UNIT]);
      await sendTraffic(port, [{ path: '/slow.php?ms=500', count: 12, concurrency: 12 }]);
      await until('php-fpm to log max_children to the journal', async () =>
        /server reached pm\.max_children setting \(2\)/.test((await host.exec(['journalctl', '-u', FPM_UNIT, '--no-pager'])).stdout),
      );
      return;
    }
    case 'gunicorn_worker_timeout': {
      // The container shares this machine's network: the app takes a free loopback port.
      const appPort = await freePort();
      await host.mustExec(['mkdir', '-p', '/srv/medic-app']);
      await host.writeFileInside('/srv/medic-app/app.py', APP_PY);
      await host.writeFileInside(`/etc/systemd/system/${APP_UNIT}`, appUnit(appPort));
      await host.mustExec(['systemctl', 'daemon-reload']);
      await host.mustExec(['systemctl', 'restart', APP_UNIT]);
      await host.writeFileInside(SITE, renderSite(port, undefined, appPort));
      await host.mustExec(['systemctl', 'reload', NGINX_UNIT]);
      await until('the app to answer 200 through nginx', async () => (await get(port, '/app/', 5000)) === '200');
      // Each slow request outlives gunicorn's --timeout 2: the arbiter kills the worker mid-request.
      await sendTraffic(port, [{ path: '/app/slow', count: 2 }]);
      await until('gunicorn to log WORKER TIMEOUT to its journal', async () =>
        /WORKER TIMEOUT/.test((await host.exec(['journalctl', '-u', APP_UNIT, '--no-pager'])).stdout),
      );
      await until('nginx to log the closed connection', async () =>
        /upstream prematurely closed connection|Connection reset by peer/.test(
          await readFile(host.path('/var/log/nginx/error.log'), 'utf8'),
        ),
      );
      return;
    }
  }
}

/** Undoes a scenario's config change by hand, as an operator would before pressing a remediation button. */
export async function repairSystemdConfig(host: SystemdHost, what: 'site' | 'pool'): Promise<void> {
  if (what === 'site') await host.writeFileInside(SITE, renderSite(host.state.httpPort));
  else await restoreStock(host, POOL);
}
