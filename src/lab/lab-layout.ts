import { join } from 'node:path';

/** The Debian binaries the lab runs; the sudo rules and the inventory name them too. */
export const NGINX_BINARY = '/usr/sbin/nginx';
export const FPM_BINARY = '/usr/sbin/php-fpm8.2';

/** Where everything of one lab lives under its directory. Pure. */
export interface LabLayout {
  dir: string;
  nginxPrefix: string;
  nginxConf: string;
  nginxPidFile: string;
  nginxErrorLog: string;
  nginxAccessLog: string;
  /** The second virtual host's own logs (the `shop` vhost on a TLS port). */
  shopErrorLog: string;
  shopAccessLog: string;
  /** The shop vhost's self-signed certificate and key, made with openssl when the lab starts. */
  tlsCert: string;
  tlsKey: string;
  /** client_body, proxy, fastcgi… temp paths, absolute so `nginx -T -c conf` without `-p` reads the same config. */
  nginxTempDir: string;
  fpmConf: string;
  fpmPoolDir: string;
  fpmPoolConf: string;
  fpmPidFile: string;
  fpmLog: string;
  /** The pool's slow log (request_slowlog_timeout), in scenarios that turn it on. */
  fpmSlowlog: string;
  /** Requests to hold.php wait until this file exists (see LabSettings.hold). */
  holdRelease: string;
  /** Where php-fpm listens when healthy: named like Debian's `/run/php/php8.2-fpm.sock`. */
  fpmSocket: string;
  /** Where a config written for PHP 7.4 still points after the "upgrade". */
  oldFpmSocket: string;
  runDir: string;
  logDir: string;
  docroot: string;
  /** The kernel log file the inventory's `kernel.log` fact points at. */
  kernelLog: string;
  backendScript: string;
  backendPidFile: string;
  backendLog: string;
  sshDir: string;
  inventory: string;
  state: string;
}

export function labLayout(dir: string): LabLayout {
  const runDir = join(dir, 'run');
  const logDir = join(dir, 'log');
  return {
    dir,
    nginxPrefix: join(dir, 'nginx'),
    nginxConf: join(dir, 'nginx', 'nginx.conf'),
    nginxPidFile: join(runDir, 'nginx.pid'),
    nginxErrorLog: join(logDir, 'nginx', 'error.log'),
    nginxAccessLog: join(logDir, 'nginx', 'access.log'),
    shopErrorLog: join(logDir, 'nginx', 'shop.error.log'),
    shopAccessLog: join(logDir, 'nginx', 'shop.access.log'),
    tlsCert: join(dir, 'nginx', 'tls', 'shop.crt'),
    tlsKey: join(dir, 'nginx', 'tls', 'shop.key'),
    nginxTempDir: join(dir, 'nginx', 'tmp'),
    fpmConf: join(dir, 'php', 'php-fpm.conf'),
    fpmPoolDir: join(dir, 'php', 'pool.d'),
    fpmPoolConf: join(dir, 'php', 'pool.d', 'www.conf'),
    fpmPidFile: join(runDir, 'php8.2-fpm.pid'),
    fpmLog: join(logDir, 'php8.2-fpm.log'),
    fpmSlowlog: join(logDir, 'php8.2-fpm.slow.log'),
    holdRelease: join(runDir, 'hold.release'),
    fpmSocket: join(runDir, 'php8.2-fpm.sock'),
    oldFpmSocket: join(runDir, 'php7.4-fpm.sock'),
    runDir,
    logDir,
    docroot: join(dir, 'www'),
    kernelLog: join(logDir, 'kern.log'),
    backendScript: join(dir, 'backend', 'server.mjs'),
    backendPidFile: join(runDir, 'backend.pid'),
    backendLog: join(logDir, 'backend.log'),
    sshDir: join(dir, 'ssh'),
    inventory: join(dir, 'inventory.yaml'),
    state: join(dir, 'state.json'),
  };
}

/** The exact argv that starts the lab's php-fpm; the sudo rule and the `fpm.startCommand` fact use it verbatim. */
export const fpmStartCommand = (layout: LabLayout): string[] => [FPM_BINARY, '--fpm-config', layout.fpmConf];

/** The exact argv that starts the lab's nginx; its process title is what discovery reads. */
export const nginxStartCommand = (layout: LabLayout): string[] => [NGINX_BINARY, '-c', layout.nginxConf, '-p', `${layout.nginxPrefix}/`];
