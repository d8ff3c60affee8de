import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { discover, MAX_LOG_FILES } from '../../../src/core/discovery/discover.ts';
import type { NginxServer } from '../../../src/core/discovery/host-picture.ts';
import { parseListen } from '../../../src/core/discovery/nginx-servers.ts';
import { globMatches, parseNginxDump, summarizeNginxConfig } from '../../../src/core/discovery/parse-nginx-config.ts';
import { planVhostProbes } from '../../../src/core/discovery/vhost-probes.ts';

// A Debian-style `nginx -T` with sites-enabled/*, a snippet included in a location, a TLS vhost
// with its own (relative) error log, a vhost on a non-loopback address only, a regex-named
// vhost logging to syslog, and a stream server (not a virtual host).
const dump = readFileSync(new URL('../../fixtures/discovery/nginx-T-vhosts.txt', import.meta.url), 'utf8');
const servers = summarizeNginxConfig(parseNginxDump(dump), '/usr/share/nginx').servers;

describe('nginx -T: every virtual host and where it logs', () => {
  it('finds each http server block (not the stream one), with names and listens', () => {
    expect(servers.map((s) => s.names)).toEqual([
      ['_'],
      ['blog.example.com', 'www.blog.example.com'],
      ['shop.example.com'],
      ['internal.example.com'],
      ['~^(?<tenant>.+)\\.saas\\.example\\.com$'],
    ]);
    expect(servers[0]?.listens).toEqual([
      { port: 80, ssl: false, defaultServer: true },
      { port: 80, ssl: false, defaultServer: true, address: '[::]' },
    ]);
    expect(servers[2]?.listens.map((l) => [l.port, l.ssl])).toEqual([
      [443, true],
      [443, true],
    ]);
  });

  it("gives each server its own error/access logs, or the inherited ones, plus its locations' (through includes)", () => {
    const logs = (s: NginxServer | undefined): [string[], string[]] => [s?.errorLogs ?? [], s?.accessLogs ?? []];
    expect(logs(servers[0])).toEqual([['/var/log/nginx/error.log'], ['/var/log/nginx/access.log']]);
    // The snippet included inside blog's PHP location sets an error_log for that location.
    expect(logs(servers[1])).toEqual([['/var/log/nginx/error.log', '/var/log/nginx/php.error.log'], ['/var/log/nginx/access.log']]);
    // A relative path is under the prefix; `access_log off` in a location adds nothing.
    expect(logs(servers[2])).toEqual([['/usr/share/nginx/logs/shop.error.log'], ['/var/log/nginx/shop.access.log']]);
    expect(logs(servers[3])).toEqual([['/var/log/nginx/internal.error.log'], ['/var/log/nginx/access.log']]);
    // syslog only: no access log file.
    expect(logs(servers[4])).toEqual([['/var/log/nginx/error.log'], []]);
  });

  it('plans one probe per virtual host, by name over its own scheme and port, resolved to loopback', () => {
    const plan = planVhostProbes(servers);
    expect(plan.probes).toEqual([
      { server: '_:80', url: 'http://localhost/', resolve: 'localhost:80:127.0.0.1' },
      { server: 'blog.example.com', url: 'http://blog.example.com/', resolve: 'blog.example.com:80:127.0.0.1' },
      { server: 'shop.example.com', url: 'https://shop.example.com/', resolve: 'shop.example.com:443:127.0.0.1' },
      { server: '_:8081', url: 'http://localhost:8081/', resolve: 'localhost:8081:127.0.0.1' },
    ]);
    expect(plan.skipped).toEqual([{ server: 'internal.example.com', reason: 'listens only on 10.0.0.5:8080, not on loopback' }]);
  });

  it('probes at most the cap, and says which virtual hosts were left out', () => {
    const plan = planVhostProbes(servers, 2);
    expect(plan.probes.map((p) => p.server)).toEqual(['_:80', 'blog.example.com']);
    expect(plan.skipped.map((s) => `${s.server}: ${s.reason}`)).toEqual([
      'shop.example.com: more than 2 virtual hosts: not probed',
      'internal.example.com: listens only on 10.0.0.5:8080, not on loopback',
      '_:8081: more than 2 virtual hosts: not probed',
    ]);
  });

  it('does not probe a nameless server that is not the default of its port (another server would answer)', () => {
    const a: NginxServer = {
      names: ['a.example'],
      listens: [{ port: 80, ssl: false, defaultServer: true }],
      errorLogs: [],
      accessLogs: [],
    };
    const b: NginxServer = { names: [''], listens: [{ port: 80, ssl: false, defaultServer: false }], errorLogs: [], accessLogs: [] };
    expect(planVhostProbes([a, b]).skipped).toEqual([
      { server: '_:80', reason: 'no exact server_name, and not the default server of port 80' },
    ]);
  });

  it('never lets a hostile server_name shape the probe: it is no exact name, so the server is probed as the default or not at all', () => {
    const evil: NginxServer = {
      names: ['-K/tmp/rc', 'a.example;id', '$(reboot)', 'x y'],
      listens: [{ port: 8443, ssl: true, defaultServer: false }],
      errorLogs: [],
      accessLogs: [],
    };
    expect(planVhostProbes([evil]).probes).toEqual([
      { server: '_:8443', url: 'https://localhost:8443/', resolve: 'localhost:8443:127.0.0.1' },
    ]);
  });

  it('reads listen forms: address:port, [v6]:port, bare address, ssl, quic and unix sockets', () => {
    expect(parseListen(['127.0.0.1:8443', 'ssl', 'http2'], false)).toEqual({
      port: 8443,
      ssl: true,
      address: '127.0.0.1',
      defaultServer: false,
    });
    expect(parseListen(['[::1]:80'], false)).toEqual({ port: 80, ssl: false, address: '[::1]', defaultServer: false });
    expect(parseListen(['127.0.0.1'], true)).toEqual({ port: 80, ssl: true, address: '127.0.0.1', defaultServer: false });
    expect(parseListen(['443', 'quic'], false)).toBeUndefined();
    expect(parseListen(['unix:/run/nginx.sock'], false)).toBeUndefined();
  });
});

describe('discovery of the logs and probes', () => {
  const nginxT = (text: string): CheckResult => ({
    id: 'nginx_config',
    parse: 'nginx_config',
    command: '',
    status: 'ok',
    exitCode: 0,
    stdout: text,
    stderr: '',
    truncated: false,
    durationMs: 1,
  });

  it("lists every error and access log once, the inventory's first", () => {
    const d = discover([nginxT(dump)], { nginx: { errorLog: '/srv/log/pinned.log' } });
    expect(d.items['nginx.errorLogs'].map((i) => i.subject)).toEqual([
      '/srv/log/pinned.log',
      '/var/log/nginx/error.log',
      '/var/log/nginx/php.error.log',
      '/usr/share/nginx/logs/shop.error.log',
      '/var/log/nginx/internal.error.log',
      '/var/log/nginx/stream.error.log',
    ]);
    expect(d.items['nginx.accessLogs'].map((i) => i.subject)).toEqual(['/var/log/nginx/access.log', '/var/log/nginx/shop.access.log']);
    expect(d.picture.nginx.notChecked).toEqual(['internal.example.com: listens only on 10.0.0.5:8080, not on loopback']);
  });

  it('reads at most MAX_LOG_FILES error logs, and says which it left out', () => {
    const many = Array.from(
      { length: MAX_LOG_FILES + 2 },
      (_, i) => `server { listen ${8000 + i}; server_name s${i}.example; error_log /var/log/nginx/s${i}.log; }`,
    ).join('\n');
    const d = discover([nginxT(`# configuration file /etc/nginx/nginx.conf:\nhttp {\n${many}\n}\n`)], {});
    expect(d.items['nginx.errorLogs']).toHaveLength(MAX_LOG_FILES);
    expect(d.picture.nginx.notChecked).toContain(
      `/var/log/nginx/s${MAX_LOG_FILES + 1}.log: more than ${MAX_LOG_FILES} error logs, not read`,
    );
    expect(d.items['site.vhosts']).toHaveLength(8);
  });
});

describe('include globs', () => {
  it('match like glob(3): * and ? within a segment, [sets]', () => {
    expect(globMatches('/etc/nginx/sites-enabled/*', '/etc/nginx/sites-enabled/shop.conf')).toBe(true);
    expect(globMatches('/etc/nginx/*.conf', '/etc/nginx/conf.d/x.conf')).toBe(false);
    expect(globMatches('/etc/nginx/conf.d/[a-c]?.conf', '/etc/nginx/conf.d/b1.conf')).toBe(true);
    expect(globMatches('/etc/nginx/conf.d/[!a-c]*.conf', '/etc/nginx/conf.d/b1.conf')).toBe(false);
  });

  it('stay fast on a long near-miss (no exponential backtracking)', () => {
    const t0 = performance.now();
    expect(globMatches(`/${'*a'.repeat(200)}b`, `/${'a'.repeat(4000)}`)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
