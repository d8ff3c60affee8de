import type { LabLayout } from './lab-layout.ts';
import { SHOP_NAME, type LabSettings, type PoolSettings } from './scenarios.ts';

/** What the config files of one lab depend on besides the scenario. */
export interface LabEnv {
  layout: LabLayout;
  nginxPort: number;
  backendPort: number;
  /** The shop vhost's TLS port and its backend's port (nothing listens there). */
  shop?: { tlsPort: number; backendPort: number };
  /** Where `fastcgi_pass` points in the TCP scenario (the seed's 9000 for the CLI lab, else a free port). */
  tcpPort: number;
  /** nginx workers, the php-fpm pool and the Node backend run as this unprivileged user. */
  webUser: string;
  /** The host's MemTotal, to size the overcommitted memory_limit. */
  memTotalBytes: number;
  /** A name of this machine's /etc/hosts on a loopback address, for the name resolved once at start. */
  loopbackName?: { name: string; address: string };
}

/**
 * The lab's nginx.conf. Every path is absolute so that `nginx -T -c <conf>` (what the diagnosis
 * runs, without `-p`) reads exactly what the running master read.
 */
export function renderNginxConf(env: LabEnv, s: LabSettings): string {
  const { layout: l } = env;
  const pass =
    s.fastcgiPass === 'socket'
      ? `unix:${l.fpmSocket}`
      : s.fastcgiPass === 'old-socket'
        ? `unix:${l.oldFpmSocket}`
        : `127.0.0.1:${env.tcpPort}`;
  // In split containers PHP lives elsewhere than nginx's root; this path exists nowhere here.
  const scriptRoot = s.scriptRoot === 'docroot' ? '$document_root' : '/srv/php-app/public';
  const tmp = (name: string): string => `${l.nginxTempDir}/${name}`;
  return `# gateway-medic lab: written by src/lab, rewritten by every scenario.
user ${env.webUser} ${env.webUser};
worker_processes 1;
pid ${l.nginxPidFile};
error_log ${l.nginxErrorLog} error;

events {
    worker_connections ${s.workerConnections ?? 256};
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${l.nginxAccessLog} combined;
    client_body_temp_path ${tmp('client_body')};
    proxy_temp_path ${tmp('proxy')};
    fastcgi_temp_path ${tmp('fastcgi')};
    uwsgi_temp_path ${tmp('uwsgi')};
    scgi_temp_path ${tmp('scgi')};

    server {
        listen 127.0.0.1:${env.nginxPort};
        server_name web-01;
        root ${l.docroot};
        index index.php;
${s.fastcgiReadTimeout === undefined ? '' : `        fastcgi_read_timeout ${s.fastcgiReadTimeout};\n`}
        location ~ \\.php$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME ${scriptRoot}$fastcgi_script_name;
            fastcgi_pass ${pass};
        }

        location = /fpm-status {
            allow 127.0.0.1;
            deny all;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME ${scriptRoot}$fastcgi_script_name;
            fastcgi_pass ${pass};
        }

        location /api/ {
${apiPass(env, s)}
        }
    }
${s.shop === 'broken' && env.shop !== undefined ? renderShopVhost(env.layout, env.shop) : ''}}
`;
}

/** An nginx with no PHP: every request goes to one proxy_pass backend (the lab's "API gateway" stack). */
export function renderProxyNginxConf(env: LabEnv, backendPort: number): string {
  const { layout: l } = env;
  const tmp = (name: string): string => `${l.nginxTempDir}/${name}`;
  return `# gateway-medic lab: a proxy-only nginx, written by src/lab.
user ${env.webUser} ${env.webUser};
worker_processes 1;
pid ${l.nginxPidFile};
error_log ${l.nginxErrorLog} error;

events {
    worker_connections 64;
}

http {
    access_log ${l.nginxAccessLog} combined;
    client_body_temp_path ${tmp('client_body')};
    proxy_temp_path ${tmp('proxy')};
    fastcgi_temp_path ${tmp('fastcgi')};
    uwsgi_temp_path ${tmp('uwsgi')};
    scgi_temp_path ${tmp('scgi')};

    server {
        listen 127.0.0.1:${env.nginxPort};
        server_name api-gw;

        location / {
            proxy_pass http://127.0.0.1:${backendPort};
        }
    }
}
`;
}

/** The second vhost: TLS with the lab's self-signed certificate, its own logs, a backend that is down. */
function renderShopVhost(l: LabLayout, shop: { tlsPort: number; backendPort: number }): string {
  return `
    server {
        listen 127.0.0.1:${shop.tlsPort} ssl;
        server_name ${SHOP_NAME};
        ssl_certificate ${l.tlsCert};
        ssl_certificate_key ${l.tlsKey};
        error_log ${l.shopErrorLog} error;
        access_log ${l.shopAccessLog} combined;

        location / {
            proxy_pass http://127.0.0.1:${shop.backendPort};
        }
    }
`;
}

/** /api/'s proxy_pass, as the scenario wants it (see LabSettings.api). */
function apiPass(env: LabEnv, s: LabSettings): string {
  const indent = '            ';
  if (s.api === 'https-to-plain') return `${indent}proxy_pass https://127.0.0.1:${env.backendPort};`;
  // .invalid never resolves (RFC 2606), and without a resolver nginx does not even ask.
  if (s.api === 'unresolved-name')
    return `${indent}set $api_host backend.invalid;\n${indent}proxy_pass http://$api_host:${env.backendPort};`;
  if (s.api === 'static-name') {
    if (env.loopbackName === undefined)
      throw new Error(
        '/etc/hosts names no loopback address besides localhost: the static-name scenario needs one (most systems list their host name there)',
      );
    return `${indent}proxy_pass http://${env.loopbackName.name}:${env.backendPort};`;
  }
  return `${indent}proxy_pass http://127.0.0.1:${env.backendPort};`;
}

/** The php-fpm master config: daemonizes, so the start command returns once php-fpm is ready. */
export function renderFpmConf(env: LabEnv): string {
  const { layout: l } = env;
  return `; gateway-medic lab: php-fpm master config, written by src/lab.
[global]
pid = ${l.fpmPidFile}
error_log = ${l.fpmLog}
daemonize = yes
include = ${l.fpmPoolDir}/*.conf
`;
}

/** The `www` pool. */
export function renderPool(env: LabEnv, p: PoolSettings): string {
  const { layout: l } = env;
  const owner = p.socketAccess === 'web' ? env.webUser : 'root';
  const mode = p.socketAccess === 'web' ? '0660' : '0600';
  const lines = [
    '; gateway-medic lab: the www pool, rewritten by every scenario.',
    '[www]',
    `user = ${env.webUser}`,
    `group = ${env.webUser}`,
    `listen = ${p.listen === 'tcp' ? `127.0.0.1:${env.tcpPort}` : l.fpmSocket}`,
    `listen.owner = ${owner}`,
    `listen.group = ${owner}`,
    `listen.mode = ${mode}`,
    `pm = ${p.pm}`,
    `pm.max_children = ${p.maxChildren}`,
    `pm.start_servers = ${p.startServers}`,
    `pm.min_spare_servers = ${p.minSpare}`,
    `pm.max_spare_servers = ${p.maxSpare}`,
    'pm.status_path = /fpm-status',
  ];
  if (p.slowlog === true) lines.push('request_slowlog_timeout = 1s', `slowlog = ${l.fpmSlowlog}`);
  if (p.memoryLimit === 'host-overcommit') {
    lines.push(`php_admin_value[memory_limit] = ${overcommitLimitMb(env.memTotalBytes, p.maxChildren)}M`);
  }
  return `${lines.join('\n')}\n`;
}

/** A memory_limit (MiB, a multiple of 256) such that × maxChildren is at least 4× the host's RAM. */
export function overcommitLimitMb(memTotalBytes: number, maxChildren: number): number {
  const mb = Math.ceil((4 * memTotalBytes) / (1024 * 1024) / maxChildren);
  return Math.ceil(mb / 256) * 256;
}

/** The docroot: a fast page and the three misbehaving scripts of the scenarios. */
export const PHP_SCRIPTS: Readonly<Record<string, string>> = {
  'index.php': `<?php
header('Content-Type: text/plain');
echo "gateway-medic lab: ok\\n";
`,
  'slow.php': `<?php
// Sleeps ?s= seconds (at most 10): slower than fastcgi_read_timeout, or long enough to keep workers busy.
$s = min(10.0, max(0.0, (float) ($_GET['s'] ?? 3)));
usleep((int) ($s * 1000000));
echo "slow: {$s}s\\n";
`,
  'kill.php': `<?php
// Dies the way a segfault or the OOM killer ends a worker: mid-request, without a response.
posix_kill(getmypid(), 9);
`,
  'hold.php': `<?php
// Keeps its worker busy until the lab releases it (run/hold.release appears), for at most 60 s.
$release = dirname(__DIR__) . '/run/hold.release';
$deadline = microtime(true) + 60;
while (microtime(true) < $deadline && !file_exists($release)) { usleep(50000); clearstatcache(); }
echo "held\\n";
`,
  'big-header.php': `<?php
// 32 KiB of one header: beyond fastcgi_buffer_size (4k/8k by default).
header('X-Medic-Lab-Padding: ' . str_repeat('x', 32 * 1024));
echo "big header\\n";
`,
};

/** The proxy_pass backend: a tiny Node HTTP server, stopped for proxy_upstream_down. */
export const BACKEND_SCRIPT = `// gateway-medic lab: the proxy_pass backend (a small Node.js API).
// argv: the port, then the loopback addresses to listen on (127.0.0.1 when none).
import { createServer } from 'node:http';
const port = Number(process.argv[2]);
const addresses = process.argv.slice(3).filter((a) => /^127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$/.test(a));
for (const address of addresses.length > 0 ? addresses : ['127.0.0.1']) {
  createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url }) + '\\n');
  }).listen(port, address);
}
process.on('SIGTERM', () => process.exit(0));
`;
