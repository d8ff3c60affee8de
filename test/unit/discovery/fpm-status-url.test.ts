import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { discover } from '../../../src/core/discovery/discover.ts';
import { fpmStatusUrl } from '../../../src/core/discovery/fpm-status-url.ts';
import type { FpmPool } from '../../../src/core/discovery/host-picture.ts';
import { parseNginxDump } from '../../../src/core/discovery/parse-nginx-config.ts';

/** Two stacks' worth of vhosts in one nginx: a TLS shop first, whose status location passes to another php-fpm's pool, then the site. */
const NGINX = `# configuration file /etc/nginx/nginx.conf:
http {
    upstream php_site { server unix:/run/php/site.sock; }
    server {
        listen 443 ssl;
        listen 8081;
        server_name shop.example.com;
        location = /fpm-status { fastcgi_pass unix:/run/php/shop.sock; }
    }
    server {
        listen 8080;
        server_name site.example.com;
        location ~ \\.php$ { fastcgi_pass php_site; }
        location = /fpm-status { allow 127.0.0.1; fastcgi_pass php_site; }
    }
    server {
        listen 127.0.0.1:9090 default_server;
        server_name _;
    }
    server {
        listen 127.0.0.1:9090;
        server_name status.example.com;
        location = /fpm-status { fastcgi_pass unix:/run/php/hidden.sock; }
    }
}
`;

const pool = (name: string, listen: string): FpmPool => ({ name, listen, statusPath: '/fpm-status', lines: {} });

describe('fpmStatusUrl', () => {
  const statements = parseNginxDump(NGINX);

  it("goes through the server whose status location passes to this stack's pool, on its plain-HTTP port (not the first listen of the config)", () => {
    expect(fpmStatusUrl(statements, [pool('site', '/run/php/site.sock')])).toBe('http://127.0.0.1:8080/fpm-status?full');
    expect(fpmStatusUrl(statements, [pool('shop', '/run/php/shop.sock')])).toBe('http://127.0.0.1:8081/fpm-status?full');
  });

  it('finds none for a pool no location passes to, or one only a name-based vhost that 127.0.0.1 does not reach serves', () => {
    expect(fpmStatusUrl(statements, [pool('other', '/run/php/other.sock')])).toBeUndefined();
    expect(fpmStatusUrl(statements, [pool('hidden', '/run/php/hidden.sock')])).toBeUndefined();
    expect(fpmStatusUrl(statements, [{ ...pool('site', '/run/php/site.sock'), statusPath: '/x y' }])).toBeUndefined();
  });

  it('discover sets fpm.statusUrl from the pools of the php-fpm it reads', () => {
    const result = (parse: CheckResult['parse'], stdout: string): CheckResult => ({
      id: parse,
      parse,
      command: '',
      status: 'ok',
      exitCode: 0,
      stdout,
      stderr: '',
      truncated: false,
      durationMs: 1,
    });
    const fpm = ['[global]', '[site]', 'listen = /run/php/site.sock', 'pm.status_path = /fpm-status']
      .map((l) => `/etc/php/8.2/fpm/php-fpm.conf:${l}`)
      .join('\n');
    const d = discover([result('nginx_config', NGINX), result('fpm_config', fpm)], {});
    expect(d.facts.fpm?.statusUrl).toBe('http://127.0.0.1:8080/fpm-status?full');
  });
});
