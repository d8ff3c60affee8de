import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSER_KINDS, type CheckResult, type ParserKind } from '../../../src/core/check-result.ts';
import { LIST_SOURCES, MASTER_PLACE_KINDS } from '../../../src/core/playbook/each-lists.ts';
import { DISCOVERY_INPUTS, discover, parseHostTime, parseMeminfo, parseUnits } from '../../../src/core/discovery/discover.ts';
import { parseFpmConfig } from '../../../src/core/discovery/parse-fpm-config.ts';
import { parseNginxDump, summarizeNginxConfig } from '../../../src/core/discovery/parse-nginx-config.ts';

// Real output: `nginx -T` of a Debian-style config, `ps -eo …` with nginx and php-fpm running,
// and the playbook's grep over Debian's stock php-fpm.conf, pool.d/www.conf and php.ini.
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/discovery/${name}`, import.meta.url), 'utf8');

const result = (id: string, parse: ParserKind, stdout: string, status: CheckResult['status'] = 'ok'): CheckResult => ({
  id,
  parse,
  command: id,
  status,
  exitCode: status === 'ok' ? 0 : 1,
  stdout,
  stderr: '',
  truncated: false,
  durationMs: 1,
});

describe('nginx -T', () => {
  const summary = summarizeNginxConfig(parseNginxDump(fixture('nginx-T-debian.txt')));
  it('finds logs, listens, the worker user and the pid file', () => {
    expect(summary.errorLogs).toEqual(['/var/log/nginx/error.log']);
    expect(summary.accessLogs).toEqual(['/var/log/nginx/access.log']);
    expect(summary.listenPorts).toEqual([8081, 8082]);
    expect(summary.workerUser).toBe('www-data');
    expect(summary.pidFile).toBe('/run/nginx.pid');
  });
  it('finds every upstream with its file and line, resolving upstream blocks', () => {
    expect(summary.upstreams).toEqual([
      {
        kind: 'fastcgi',
        target: 'unix:/run/php/php7.4-fpm.sock',
        file: '/etc/nginx/sites-enabled/shop.conf',
        line: 'fastcgi_pass unix:/run/php/php7.4-fpm.sock;   # left over from the PHP upgrade',
      },
      {
        kind: 'fastcgi',
        target: 'unix:/run/php/php8.2-fpm.sock',
        file: '/etc/nginx/sites-enabled/shop.conf',
        line: 'fastcgi_pass php_backend;',
        upstream: 'php_backend',
      },
      {
        kind: 'proxy',
        target: 'http://127.0.0.1:3000',
        file: '/etc/nginx/sites-enabled/shop.conf',
        line: 'proxy_pass http://127.0.0.1:3000;',
      },
    ]);
  });
  it('keeps the directives that explain 502s', () => {
    const names = summary.directives.map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'fastcgi_read_timeout',
        'fastcgi_buffer_size',
        'fastcgi_param SCRIPT_FILENAME',
        'proxy_read_timeout',
        'proxy_buffer_size',
      ]),
    );
    expect(summary.directives.find((d) => d.name === 'fastcgi_param SCRIPT_FILENAME')?.value).toBe('$document_root$fastcgi_script_name');
    expect(summary.locations).toContain('= /fpm-status');
  });
});

describe('php-fpm config', () => {
  const summary = parseFpmConfig(fixture('fpm-config-debian.txt'));
  it('reads the global section, pools and php.ini', () => {
    expect(summary.errorLog).toBe('/var/log/php8.2-fpm.log');
    expect(summary.pidFile).toBe('/run/php/php8.2-fpm.pid');
    expect(summary.includes).toEqual(['/etc/php/8.2/fpm/pool.d/*.conf']);
    expect(summary.iniMemoryLimit).toBe('128M');
    expect(summary.pools).toHaveLength(1);
    expect(summary.pools[0]).toMatchObject({
      name: 'www',
      listen: '/run/php/php8.2-fpm.sock',
      listenOwner: 'www-data',
      pm: 'dynamic',
      maxChildren: 5,
      user: 'www-data',
    });
    expect(summary.pools[0]?.lines['pm.max_children']).toBe('pm.max_children = 5');
  });
  it('reads php_admin_value[memory_limit] over php_value', () => {
    const s = parseFpmConfig(
      '/p/a.conf:[a]\n/p/a.conf:php_value[memory_limit] = 64M\n/p/a.conf:php_admin_value[memory_limit] = 512M\n/p/a.conf:listen = "127.0.0.1:9000"',
    );
    expect(s.pools[0]).toMatchObject({ memoryLimit: '512M', listen: '127.0.0.1:9000' });
  });
});

describe('discover', () => {
  const all = [
    result('processes', 'processes', fixture('ps-debian.txt') + fixture('ps-second-stack.txt')),
    result('host_time', 'host_time', '2026-11-23T22:30:01+0100\n'),
    result('systemd', 'systemd_probe', '', 'failed'),
    result('nginx_config', 'nginx_config', fixture('nginx-T-debian.txt')),
    result('fpm_config', 'fpm_config', fixture('fpm-config-debian.txt')),
    result('memory', 'memory', 'MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n'),
    result('php_info', 'php_info', fixture('php-fpm-i-debian.txt')),
  ];

  it('derives the facts later checks need', () => {
    const d = discover(all, {});
    expect(d.facts).toMatchObject({
      systemd: false,
      nginx: {
        pid: 18214,
        binary: '/usr/sbin/nginx',
        conf: '/etc/nginx/nginx.conf',
        errorLog: '/var/log/nginx/error.log',
        upstreamSocket: '/run/php/php7.4-fpm.sock',
      },
      fpm: {
        pid: 18210,
        conf: '/etc/php/8.2/fpm/php-fpm.conf',
        errorLog: '/var/log/php8.2-fpm.log',
        socket: '/run/php/php8.2-fpm.sock',
        poolDir: '/etc/php/8.2/fpm/pool.d',
        phpIni: '/etc/php/8.2/fpm/php.ini',
      },
    });
    // No site URL is guessed from the first port: each virtual host is probed by its own name.
    expect(d.facts.site?.probeUrl).toBeUndefined();
    expect(d.items['site.vhosts']).toEqual([
      {
        subject: 'shop.example.com',
        values: { 'item.url': 'http://shop.example.com:8081/', 'item.resolve': 'shop.example.com:8081:127.0.0.1' },
      },
      { subject: '_:8082', values: { 'item.url': 'http://localhost:8082/', 'item.resolve': 'localhost:8082:127.0.0.1' } },
    ]);
    expect(d.items['nginx.errorLogs']).toEqual([{ subject: '/var/log/nginx/error.log', values: { item: '/var/log/nginx/error.log' } }]);
    expect(d.picture.fpm.workers.map((w) => w.pid)).toEqual([18211, 18212]);
    expect(d.picture.memTotalBytes).toBe(24576000 * 1024);
    expect(d.hostNow?.toISOString()).toBe('2026-11-23T21:30:01.000Z');
    expect(d.utcOffsetMinutes).toBe(60);
  });

  it('reads only its inputs: a result of any other kind, whatever it says, changes nothing', () => {
    const before = discover(all, {});
    const others = PARSER_KINDS.filter((k) => !DISCOVERY_INPUTS.has(k));
    expect(others.length).toBeGreaterThan(10);
    // Every other kind, each carrying text discovery would act on were it read as an input.
    const posing = others.flatMap((kind) =>
      all.map((r) => ({ ...r, id: `${kind}_as_${r.id}`, parse: kind, stdout: fixture('ps-second-stack.txt') + r.stdout })),
    );
    expect(discover([...posing, ...all], {})).toEqual(before);
    expect(discover([...all, ...posing], {})).toEqual(before);
    // The same text as an input does change it: the comparison above can fail.
    const asInput = result('processes', 'processes', fixture('ps-second-stack.txt'));
    expect(discover([...all, asInput], {})).not.toEqual(before);
  });

  it("counts among its inputs every kind a list or a master's place is discovered from", () => {
    const sources = [...Object.values(LIST_SOURCES).flat(), ...MASTER_PLACE_KINDS];
    for (const kind of sources) expect(DISCOVERY_INPUTS.has(kind), kind).toBe(true);
  });

  it('with the config pinned by the inventory, picks that nginx and php-fpm among several', () => {
    const d = discover(all, { nginx: { conf: '/srv/other/nginx.conf' }, fpm: { conf: '/srv/other/php-fpm.conf' } });
    expect(d.facts.nginx?.pid).toBe(16959);
    expect(d.facts.nginx?.prefix).toBe('/srv/other');
    expect(d.facts.fpm?.pid).toBe(16951);
    expect(d.picture.fpm.workers.map((w) => w.pid)).toEqual([16952]);
  });

  it('says php-fpm is not running when its pinned master is absent, even if another runs', () => {
    const d = discover(all, { fpm: { conf: '/etc/php/8.3/fpm/php-fpm.conf' } });
    expect(d.picture.fpm.running).toBe(false);
    expect(d.facts.fpm?.pid).toBeUndefined();
    expect(d.facts.fpm?.conf).toBe('/etc/php/8.3/fpm/php-fpm.conf');
  });

  it('drops a hostile path found in a host config instead of passing it on', () => {
    const evil = result(
      'nginx_config',
      'nginx_config',
      '# configuration file /etc/nginx/nginx.conf:\nerror_log "/var/log/x;$(reboot)";\naccess_log /var/log/`id`;\n',
    );
    const d = discover([all[0] as CheckResult, evil], {});
    expect(d.facts.nginx?.errorLog).toBeUndefined();
    expect(d.facts.nginx?.accessLog).toBeUndefined();
  });

  it('drops log paths a config points under /dev, /proc or /sys, or that are not normalised', () => {
    const nginx = result(
      'nginx_config',
      'nginx_config',
      '# configuration file /etc/nginx/nginx.conf:\nerror_log /proc/self/environ;\naccess_log /var/log/nginx/../../../etc/shadow;\npid /dev/zero;\n',
    );
    const fpm = result(
      'fpm_config',
      'fpm_config',
      '/etc/php/8.2/fpm/php-fpm.conf:[global]\n/etc/php/8.2/fpm/php-fpm.conf:error_log = /dev/zero\n/etc/php/8.2/fpm/php-fpm.conf:pid = //run/php/x.pid\n',
    );
    const d = discover([all[0] as CheckResult, nginx, fpm], {});
    expect(d.facts.nginx?.errorLog).toBeUndefined();
    expect(d.facts.nginx?.accessLog).toBeUndefined();
    expect(d.facts.nginx?.pidFile).toBeUndefined();
    expect(d.facts.fpm?.errorLog).toBeUndefined();
    expect(d.facts.fpm?.pidFile).toBeUndefined();
  });

  it('lets inventory facts win over discovery', () => {
    const d = discover(all, { nginx: { errorLog: '/srv/log/nginx-error.log' } });
    expect(d.facts.nginx?.errorLog).toBe('/srv/log/nginx-error.log');
    expect(d.facts.nginx?.conf).toBe('/etc/nginx/nginx.conf');
  });
});

describe('small parsers', () => {
  it('reads host time with negative offsets', () => {
    expect(parseHostTime('2026-01-02T03:04:05-0430')).toEqual({ now: new Date('2026-01-02T07:34:05Z'), utcOffsetMinutes: -270 });
    expect(parseHostTime('garbage')).toBeUndefined();
  });
  it('reads meminfo and unit lists', () => {
    expect(parseMeminfo('MemTotal: 1000 kB\nMemAvailable: 500 kB')).toEqual({ totalBytes: 1024000, availableBytes: 512000 });
    expect(
      parseUnits(
        'php8.2-fpm.service loaded active running The PHP 8.2 FastCGI Process Manager\nnginx.service loaded failed failed A high performance web server\n',
      ),
    ).toEqual({
      'php8.2-fpm.service': 'active',
      'nginx.service': 'failed',
    });
  });
});

describe('RHEL layout', () => {
  // Stock Rocky/RHEL 9 php-fpm: /etc/php-fpm.conf including /etc/php-fpm.d/*.conf, php.ini at
  // /etc/php.ini, the unit php-fpm.service, nginx from /etc/nginx/nginx.conf run by systemd.
  const fpm = [
    '/etc/php-fpm.conf:include=/etc/php-fpm.d/*.conf',
    '/etc/php-fpm.conf:[global]',
    '/etc/php-fpm.conf:pid = /run/php-fpm/php-fpm.pid',
    '/etc/php-fpm.conf:error_log = /var/log/php-fpm/error.log',
    '/etc/php-fpm.conf:daemonize = yes',
    '/etc/php-fpm.d/www.conf:[www]',
    '/etc/php-fpm.d/www.conf:user = apache',
    '/etc/php-fpm.d/www.conf:group = apache',
    '/etc/php-fpm.d/www.conf:listen = /run/php-fpm/www.sock',
    '/etc/php-fpm.d/www.conf:listen.acl_users = apache,nginx',
    '/etc/php-fpm.d/www.conf:pm = dynamic',
    '/etc/php-fpm.d/www.conf:pm.max_children = 50',
    '/etc/php-fpm.d/www.conf:php_admin_value[error_log] = /var/log/php-fpm/www-error.log',
    '/etc/php.ini:memory_limit = 128M',
  ].join('\n');
  const ps = [
    '  812     1 root     21000 php-fpm: master process (/etc/php-fpm.conf)',
    '  813   812 apache   15000 php-fpm: pool www',
    '  900     1 root      2000 nginx: master process /usr/sbin/nginx',
    '  901   900 nginx     4000 nginx: worker process',
  ].join('\n');
  const results = [
    result('processes', 'processes', ps),
    result('systemd', 'systemd_probe', '/run/systemd/system\n'),
    result(
      'units',
      'units',
      'nginx.service loaded active running The nginx HTTP and reverse proxy server\nphp-fpm.service loaded active running The PHP FastCGI Process Manager\n',
    ),
    result('fpm_config', 'fpm_config', fpm),
    result('php_info', 'php_info', '', 'error'),
  ];

  it('finds the RHEL paths, units and pool', () => {
    const d = discover(results, {});
    expect(d.facts).toMatchObject({
      systemd: true,
      nginx: { pid: 900, binary: '/usr/sbin/nginx', conf: '/etc/nginx/nginx.conf', unit: 'nginx.service' },
      fpm: {
        pid: 812,
        conf: '/etc/php-fpm.conf',
        unit: 'php-fpm.service',
        poolDir: '/etc/php-fpm.d',
        errorLog: '/var/log/php-fpm/error.log',
        pidFile: '/run/php-fpm/php-fpm.pid',
        socket: '/run/php-fpm/www.sock',
        phpIni: '/etc/php.ini',
      },
    });
    expect(d.picture.fpm.pools[0]).toMatchObject({ name: 'www', user: 'apache', listen: '/run/php-fpm/www.sock', maxChildren: 50 });
    expect(d.picture.fpm.iniMemoryLimit).toBe('128M');
    expect(d.picture.fpm.workers.map((w) => w.user)).toEqual(['apache']);
  });
});
