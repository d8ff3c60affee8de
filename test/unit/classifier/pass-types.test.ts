import { describe, expect, it } from 'vitest';
import { asCurrentLine } from './field-cases.ts';
import { baseResults, NGINX_UPSTREAMS, picture, result, run } from './fixtures.ts';

const NGINX_FPM = NGINX_UPSTREAMS.fpm;

/**
 * Real nginx lines from public reports, one per kind of pass (the source above each), moved into
 * the diagnosis window: each timeout is explained with the directive of its own module.
 */
const TIMEOUT_LINES = {
  // https://github.com/unbit/uwsgi/issues/1647
  uwsgi:
    '2017/09/22 18:02:02 [error] 6536#0: *56531 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.10.2.171, server: communication-api.harri.com, request: "GET /health_check HTTP/1.1", upstream: "uwsgi://unix:///var/sockets/harri.sock", host: "10.10.2.171"',
  // https://github.com/tsurdilo/my-temporal-dockercompose/issues/1
  grpc: '2023/05/03 14:24:53 [error] 29#29: *7440 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 172.23.0.3, server: , request: "POST /temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue HTTP/2.0", upstream: "grpc://172.23.0.11:7237", host: "temporal-nginx:7233"',
  // https://github.com/fossar/selfoss/issues/1427 (quoted without nginx's date)
  fastcgi:
    '[error] 1046#1046: *2094 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 192.168.17.1, server: localhost, request: "GET /update HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "192.168.17.128"',
} as const;

const directive = (name: string, value: string) => ({ name, value, file: '/etc/nginx/conf.d/app.conf', line: `${name} ${value};` });

describe('upstream_timeout names the directive of the pass that timed out', () => {
  it.each([
    ['uwsgi', 'uwsgi_read_timeout', /proxy_read_timeout|fastcgi_read_timeout/],
    ['grpc', 'grpc_read_timeout', /proxy_read_timeout|fastcgi_read_timeout/],
    ['fastcgi', 'fastcgi_read_timeout', /proxy_read_timeout|uwsgi_read_timeout/],
  ] as const)('%s_pass → %s', (kind, wanted, never) => {
    const directives = [directive('proxy_read_timeout', '30s'), directive(wanted, '20s')];
    const { findings } = run({
      picture: picture({ directives }),
      results: [...baseResults('timeout'), result('nginx_error_log', `${asCurrentLine(TIMEOUT_LINES[kind])}\n`)],
    });
    const v = findings[0];
    expect(v?.cause).toBe('upstream_timeout');
    expect(v?.explanation).toContain(`did not answer within ${wanted}`);
    expect(v?.nextSteps.join('\n')).toContain(`Raise ${wanted} only`);
    expect(`${v?.explanation}\n${v?.nextSteps.join('\n')}`).not.toMatch(never);
    // The evidence quotes the directive that governs this pass, not another module's.
    expect(v?.evidence).toContain(`/etc/nginx/conf.d/app.conf: ${wanted} 20s;`);
    expect(v?.evidence).not.toContain('/etc/nginx/conf.d/app.conf: proxy_read_timeout 30s;');
  });
});

/** A host where no php-fpm runs or is set up: no pools, no config, no unit. */
function noFpmHost(upstream: string, units: Record<string, string> = {}) {
  const p = picture({
    fpmRunning: false,
    pools: [],
    upstreams: [{ kind: 'fastcgi', target: upstream, file: '/etc/nginx/sites-enabled/default', line: `fastcgi_pass ${upstream};` }],
  });
  delete p.fpm.conf;
  p.fpm.configRead = false;
  p.units = units;
  if (Object.keys(units).length > 0) p.systemd = true;
  return p;
}

const FASTCGI_LINES = {
  // https://github.com/rockstorm101/gitweb-docker/issues/1 (docker compose's "gitweb-1 | " prefix dropped)
  fcgiwrap:
    '2024/02/29 07:50:46 [error] 38#38: *3 connect() to unix:/run/fcgiwrap/fcgiwrap.sock failed (111: Connection refused) while connecting to upstream, client: ***, server: localhost, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/fcgiwrap/fcgiwrap.sock:", host: "127.0.0.1:8080"',
  // https://github.com/lewellyn/virtualmin-nginx/issues/5 (Virtualmin runs php-cgi per domain on ports from 8000)
  phpCgi:
    '2020/07/20 19:22:27 [error] 157783#0: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 188.xxx.xxx.xxx, server: www.******.net, request: "GET / HTTP/1.1", upstream: "fastcgi://127.0.0.1:8001", host: "www.******.net", referrer: "https://www.*****.net/"',
  // https://github.com/kasparsd/php-7-debian/issues/26 (wrapped in the report; joined)
  port9000:
    '2016/03/02 07:58:05 [error] 1249#0: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 103.30.85.81, server: localhost, request: "GET /info.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "128.199.181.221"',
} as const;

const errorLine = (line: string) => result('nginx_error_log', `${asCurrentLine(line)}\n`);

describe('a FastCGI server that is not php-fpm is named as such, never php_fpm_down', () => {
  it('fcgiwrap: its socket names it; the fix is starting fcgiwrap, not PHP-FPM', () => {
    const { findings } = run({
      picture: noFpmHost('unix:/run/fcgiwrap/fcgiwrap.sock'),
      results: [...baseResults('fpm-down'), errorLine(FASTCGI_LINES.fcgiwrap)],
    });
    const v = findings[0];
    expect(v?.cause).toBe('proxy_upstream_down');
    expect(v?.title).toBe(
      'The FastCGI server fcgiwrap (its socket /run/fcgiwrap/fcgiwrap.sock) at unix:/run/fcgiwrap/fcgiwrap.sock is not running: nginx could not connect 1 time in the last 15 min',
    );
    expect(v?.remediations).toEqual([]);
    expect(v?.explanation).toMatch(/starting PHP-FPM is not the fix: start fcgiwrap\.$/);
    expect(v?.nextSteps.at(-1)).toBe("Check that it listens: sudo ss -lxp | grep -F '/run/fcgiwrap/fcgiwrap.sock'");
    expect(findings.map((f) => f.cause)).not.toContain('php_fpm_down');
  });

  it('php-cgi under spawn-fcgi: the failed unit names it and says how to start it and read its journal', () => {
    const { findings } = run({
      picture: noFpmHost('127.0.0.1:8001', { 'spawn-fcgi.service': 'failed', 'nginx.service': 'active' }),
      results: [...baseResults('fpm-down'), errorLine(FASTCGI_LINES.phpCgi)],
    });
    const v = findings[0];
    expect(v?.cause).toBe('proxy_upstream_down');
    expect(v?.title).toMatch(/^The FastCGI server spawn-fcgi \(spawn-fcgi\.service, failed\) at 127\.0\.0\.1:8001 is not running/);
    expect(v?.nextSteps.slice(0, 2)).toEqual([
      'Start it: sudo systemctl start spawn-fcgi.service',
      'Find out why it stopped: sudo journalctl -u spawn-fcgi.service --since "1 hour ago" --no-pager',
    ]);
  });

  it('nothing says which FastCGI server belongs there: named as an unknown FastCGI server, not PHP-FPM', () => {
    const { findings } = run({
      picture: noFpmHost('127.0.0.1:9000'),
      results: [...baseResults('fpm-down'), errorLine(FASTCGI_LINES.port9000)],
    });
    expect(findings[0]?.cause).toBe('proxy_upstream_down');
    expect(findings[0]?.title).toMatch(/^The FastCGI server at 127\.0\.0\.1:9000 is not running/);
    expect(findings[0]?.explanation).toMatch(/No PHP-FPM runs or is set up on this host/);
  });

  it('the same line with a php-fpm unit on the host is php_fpm_down, and says why PHP-FPM belongs there', () => {
    const { findings } = run({
      picture: noFpmHost('127.0.0.1:9000', { 'php7-fpm.service': 'inactive' }),
      results: [...baseResults('fpm-down'), errorLine(FASTCGI_LINES.port9000)],
    });
    expect(findings[0]?.cause).toBe('php_fpm_down');
    expect(findings[0]?.explanation).toMatch(/PHP-FPM is what should answer there: the unit php7-fpm\.service exists\.$/);
    expect(findings[0]?.nextSteps[0]).toBe('sudo systemctl start php7-fpm.service');
  });

  it('a php-fpm pool that listens there wins over a dead fcgiwrap unit', () => {
    const p = picture({ fpmRunning: false });
    p.units = { 'fcgiwrap.service': 'inactive' };
    const line = `2024/02/29 07:50:46 [crit] 38#38: *3 connect() to unix:${p.fpm.pools[0]?.listen} failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:${p.fpm.pools[0]?.listen}:", host: "127.0.0.1"`;
    const { findings } = run({ picture: p, results: [...baseResults('fpm-down'), errorLine(line)] });
    expect(findings[0]?.cause).toBe('php_fpm_down');
    expect(findings[0]?.explanation).toMatch(/PHP-FPM is what should answer there: pool www in \S+ listens there\.$/);
  });

  it('no failures, fcgiwrap running, no php-fpm anywhere: no "PHP-FPM is not running" false alarm', () => {
    const p = noFpmHost('unix:/run/fcgiwrap.socket');
    p.processes.push({ pid: 812, ppid: 1, user: 'www-data', rssKb: 900, args: '/usr/sbin/fcgiwrap -f' });
    const { findings } = run({ picture: p, results: baseResults('ok') });
    expect(findings.map((f) => f.cause)).toEqual(['healthy']);
  });
});

describe('a backend host name nginx resolved once, at start (config only)', () => {
  const conf = '/etc/nginx/conf.d/app.conf';
  const pass = (kind: 'proxy' | 'fastcgi', target: string, extra: { upstream?: string; resolve?: boolean; line?: string } = {}) => ({
    kind,
    target,
    file: conf,
    line: extra.line ?? `${kind}_pass ${target};`,
    ...(extra.upstream === undefined ? {} : { upstream: extra.upstream }),
    ...(extra.resolve === true ? { resolve: true } : {}),
  });
  const resolver = directive('resolver', '127.0.0.11 valid=30s');
  const healthySite = (upstreams: ReturnType<typeof pass>[], directives: ReturnType<typeof directive>[] = []) =>
    run({ picture: picture({ upstreams: [NGINX_FPM, ...upstreams], directives }), results: baseResults('ok') });

  it('proxy_pass http://app.internal:8000 without a resolver: a warning with the lines, the variable fix, and no healthy verdict hiding it', () => {
    const { findings } = healthySite([pass('proxy', 'http://app.internal:8000')]);
    const v = findings[0];
    expect(v?.cause).toBe('upstream_dns');
    expect(v?.severity).toBe('warning');
    expect(v?.title).toBe(
      'nginx resolved app.internal once, when it loaded its configuration: when its address changes, requests go to the old address (502) until nginx reloads',
    );
    expect(v?.evidence).toEqual([`${conf}: proxy_pass http://app.internal:8000;`]);
    expect(v?.explanation).toMatch(/No resolver is configured/);
    expect(v?.nextSteps[0]).toMatch(
      /^Resolve at run time: resolver <your DNS server> valid=30s;.* set \$backend http:\/\/app\.internal:8000; proxy_pass \$backend;/,
    );
    expect(findings.map((f) => f.cause)).not.toContain('healthy');
  });

  it('Docker Compose style fastcgi_pass php:9000 is the same: resolved once', () => {
    const { findings } = healthySite([pass('fastcgi', 'php:9000')]);
    expect(findings[0]?.cause).toBe('upstream_dns');
    expect(findings[0]?.nextSteps[0]).toContain('set $backend php:9000; fastcgi_pass $backend;');
  });

  it('a resolver alone does not help a name without a variable, and the warning says so', () => {
    const { findings } = healthySite([pass('proxy', 'http://api.example.com')], [resolver]);
    expect(findings[0]?.cause).toBe('upstream_dns');
    expect(findings[0]?.explanation).toMatch(
      /A resolver is configured, but nginx uses it only for names in variables or servers marked resolve/,
    );
    expect(findings[0]?.evidence).toContain(`${conf}: resolver 127.0.0.11 valid=30s;`);
  });

  it('an upstream server without resolve: the fix is server … resolve with a zone (nginx ≥ 1.27.3)', () => {
    const { findings } = healthySite([pass('proxy', 'http://api-1.internal:8080', { upstream: 'api', line: 'proxy_pass http://api;' })]);
    expect(findings[0]?.cause).toBe('upstream_dns');
    expect(findings[0]?.nextSteps[0]).toBe(
      'In upstream api: zone api 64k; and server api-1.internal:8080 resolve; with a resolver in the http block (nginx ≥ 1.27.3; earlier versions need a variable in the pass instead)',
    );
  });

  it.each([
    ['an address', pass('proxy', 'http://10.0.3.7:8000')],
    ['localhost', pass('proxy', 'http://localhost:3000')],
    ['a variable (resolved per request)', pass('proxy', 'http://$api_host:8000')],
    ['an upstream server marked resolve', pass('proxy', 'http://api-1.internal:8080', { upstream: 'api', resolve: true })],
    ['a unix socket', pass('proxy', 'http://unix:/run/app.sock')],
  ])('%s: nothing to warn about, the site is healthy', (_what, ref) => {
    expect(healthySite([ref], [resolver]).findings.map((f) => f.cause)).toEqual(['healthy']);
  });
});
