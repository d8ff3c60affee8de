import { describe, expect, it } from 'vitest';
import { discover } from '../../../src/core/discovery/discover.ts';
import type { FpmPool } from '../../../src/core/discovery/host-picture.ts';
import { parseFpmLog } from '../../../src/core/classifier/parse/fpm-log.ts';
import { parseFpmSlowlog } from '../../../src/core/classifier/parse/fpm-slowlog.ts';
import { isFpmProcess, isPhpCli } from '../../../src/core/classifier/parse/kernel-log.ts';
import { baseResults, log, output, picture, POOLS, readFixture, result, run } from './fixtures.ts';

/**
 * Pool health and the public URL behind a CDN, over real output: the 502 lab's slow log, status
 * page and origin probes, a slow log from Pantheon's documentation, and a PHP CLI OOM kill
 * captured on the development machine (test/fixtures/logs/README.md, test/fixtures/kernel/README.md).
 */

const LAB = '/work/wt-poolcdn/.lab';
/** A minute after the lab's slowlog_timeout capture (the lab ran in UTC). */
const AFTER_SLOW = new Date('2026-11-25T20:03:51Z');
const labPool = (o: Partial<FpmPool> = {}): FpmPool => ({
  name: 'www',
  file: `${LAB}/php/pool.d/www.conf`,
  listen: `${LAB}/run/php8.2-fpm.sock`,
  pm: 'dynamic',
  maxChildren: 5,
  statusPath: '/fpm-status',
  lines: { pm: `pm = ${o.pm ?? 'dynamic'}`, 'pm.max_children': `pm.max_children = ${o.maxChildren ?? 5}` },
  ...o,
});
const labPicture = (pool: FpmPool = labPool()) => {
  const p = picture({
    pools: [pool],
    upstreams: [{ kind: 'fastcgi', target: `unix:${LAB}/run/php8.2-fpm.sock`, line: `fastcgi_pass unix:${LAB}/run/php8.2-fpm.sock;` }],
  });
  p.nginx.servers = [
    {
      names: ['web-01'],
      listens: [{ port: 32899, ssl: false, address: '127.0.0.1', defaultServer: false }],
      errorLogs: [],
      accessLogs: [],
      file: `${LAB}/nginx/nginx.conf`,
    },
  ];
  p.nginx.listenPorts = [32899];
  return p;
};
const origin = (name: string, url: string) =>
  result('origin_probe', output(`origin-probe-${name}.stdout`), {
    subject: url,
    stderr: output(`origin-probe-${name}.stderr`),
    ...(name === 'refused' || name === 'tls-to-plain' ? { status: 'failed' as const, exitCode: name === 'refused' ? 7 : 35 } : {}),
  });

describe('the slow log', () => {
  it('reads the lab capture and a deep stack from a public report', () => {
    const lab = parseFpmSlowlog(log('slowlog-lab.slow.log'), 0);
    // Two requests of the scenario, and the origin probe's own request for the same script.
    expect(lab).toHaveLength(3);
    expect(lab[0]).toMatchObject({
      pool: 'www',
      pid: 23778,
      script: `${LAB}/www/slow.php`,
      frames: [`[0x00007f43266150b0] usleep() ${LAB}/www/slow.php:4`],
      at: Date.parse('2026-11-25T20:02:51Z'),
    });
    const deep = parseFpmSlowlog(readFixture('logs/slowlog-pantheon.slow.log'), 0);
    expect(deep).toHaveLength(1);
    expect(deep[0]?.frames).toHaveLength(10);
    expect(deep[0]?.frames[0]).toBe('[0x00007f9e4ee17230] curl_exec() /code/vendor/guzzlehttp/guzzle/src/Handler/CurlHandler.php:40');
  });

  it('reads php-fpm\'s "executing too slow" warning with the script and its time', () => {
    const [first] = parseFpmLog(log('slowlog-lab.php-fpm.log'), 0, AFTER_SLOW.getTime());
    expect(first?.event).toEqual({ kind: 'slow', pool: 'www', child: 23778, script: `${LAB}/www/slow.php`, seconds: 1.30218 });
  });

  it('puts the slowest script and its stack into the timeout verdict', () => {
    const r = run({
      picture: labPicture(labPool({ slowlogTimeout: '1s', slowlog: `${LAB}/log/php8.2-fpm.slow.log` })),
      now: AFTER_SLOW,
      results: [
        ...baseResults('ok'),
        result('nginx_error_log', log('slowlog-lab.error.log')),
        result('fpm_log', log('slowlog-lab.php-fpm.log')),
        result('fpm_slowlog', log('slowlog-lab.slow.log')),
      ],
    });
    const v = r.findings[0];
    expect(v?.cause).toBe('upstream_timeout');
    expect(v?.evidence).toContain(
      `slow log: ${LAB}/www/slow.php (3 slow requests in the last 15 min, up to 1.3 s); stack: usleep() ${LAB}/www/slow.php:4`,
    );
    expect(v?.evidence.length).toBeLessThanOrEqual(16);
  });

  it('shows at most five frames of a deep stack, innermost first, without addresses', () => {
    const deep = readFixture('logs/slowlog-pantheon.slow.log');
    const r = run({
      now: new Date('2024-03-20T01:15:07Z'),
      results: [
        ...baseResults('ok'),
        result(
          'nginx_error_log',
          '2024/03/20 01:14:30 [error] 77#77: *9 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.5, server: _, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "x"\n',
        ),
        result('fpm_slowlog', deep),
      ],
    });
    const line = r.findings[0]?.evidence.find((e) => e.startsWith('slow log:')) ?? '';
    expect(line).toMatch(
      /^slow log: \/code\/web\/\/index\.php \(1 slow request in the last 15 min\); stack: curl_exec\(\) \/code\/vendor\/guzzlehttp\/guzzle\/src\/Handler\/CurlHandler\.php:40 ← __invoke\(\) newrelic\/Guzzle6:1 ← /,
    );
    expect(line).toContain('← … 5 more');
    expect(line).not.toContain('0x00007f');
  });
});

describe('pool_tuning', () => {
  it('the status page under load: 4 of 5 busy (its own request not counted) is 80 %, and 5 is the default', () => {
    const r = run({ picture: labPicture(), results: [...baseResults('ok'), result('fpm_status', output('fpm-status-held.txt'))] });
    const v = r.findings[0];
    expect(v?.cause).toBe('pool_tuning');
    expect(v?.severity).toBe('warning');
    expect(v?.title).toBe('PHP-FPM pool www: 4 of 5 workers busy (80 % of pm.max_children); pm.max_children is the default 5');
    expect(v?.evidence).toEqual(expect.arrayContaining(['active processes:     5', `${LAB}/php/pool.d/www.conf: pm.max_children = 5`]));
    expect(r.findings.map((f) => f.cause)).not.toContain('healthy');
  });

  it("the diagnosis's own requests tip the pool over (reached, served): the pool at its limit now is the verdict, the reached line its evidence", () => {
    const reached = '[25-Nov-2026 20:53:27] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n';
    const r = run({
      picture: labPicture(),
      now: new Date('2026-11-25T20:53:30Z'),
      results: [...baseResults('ok'), result('fpm_log', reached), result('fpm_status', output('fpm-status-held.txt'))],
    });
    expect(r.findings.map((f) => f.cause)).toEqual(['pool_tuning', 'max_children_exhausted']);
    expect(r.findings[0]?.evidence).toContain(reached.trim());
  });

  it('3 busy of 5 is below the warning; the all-clear still says max_children is the default', () => {
    const idle = output('fpm-status-held.txt').replace(/^active processes:\s+5$/m, 'active processes:     4');
    const r = run({ picture: labPicture(), results: [...baseResults('ok'), result('fpm_status', idle)] });
    expect(r.findings.map((f) => f.cause)).toEqual(['healthy']);
    expect(r.findings[0]?.nextSteps.join('\n')).toMatch(/pm\.max_children is still php-fpm's default 5 in pool www/);
  });

  it('pm = ondemand with "max children reached" on its status page', () => {
    const small = { ...POOLS.small(), pm: 'ondemand', lines: { ...POOLS.small().lines, pm: 'pm = ondemand' } };
    const r = run({
      picture: picture({ pools: [small] }),
      results: [...baseResults('ok'), result('fpm_status', output('fpm-status-busy.txt'))],
    });
    const f = r.findings.find((x) => x.cause === 'pool_tuning');
    expect(f?.title).toMatch(/^PHP-FPM pool small: pm = ondemand under bursts/);
    expect(f?.evidence).toContain('max children reached: 1');
    expect(f?.nextSteps.join('\n')).toMatch(/Switch pool small .* to pm = dynamic/);
  });

  it('pm = ondemand on a quiet pool is not flagged', () => {
    const r = run({
      picture: labPicture(labPool({ pm: 'ondemand', maxChildren: 50 })),
      results: [...baseResults('ok'), result('fpm_status', output('fpm-status-idle.txt'))],
    });
    expect(r.findings.map((f) => f.cause)).toEqual(['healthy']);
  });

  it('says how to turn on the status page when no pool sets pm.status_path', () => {
    const r = run({ picture: picture({ pools: [POOLS.www()] }), results: [...baseResults('ok')] });
    expect(r.findings[0]?.cause).toBe('healthy');
    expect(r.findings[0]?.nextSteps.join('\n')).toMatch(
      /pm\.status_path = \/fpm-status in .*php-fpm\.conf, then in nginx location = \/fpm-status \{ allow 127\.0\.0\.1; deny all;/,
    );
  });
});

describe('the status page', () => {
  it('set in the pool but served by no nginx location: says which location to add', () => {
    const r = run({ picture: labPicture(), results: [...baseResults('ok')] });
    expect(r.findings[0]?.nextSteps.join('\n')).toMatch(
      /pm\.status_path = \/fpm-status is set but no nginx location serves it: add location = \/fpm-status \{/,
    );
  });

  it('served and read: no advice about it', () => {
    const p = labPicture();
    p.fpm.statusUrl = 'http://127.0.0.1:32899/fpm-status?full';
    const r = run({ picture: p, results: [...baseResults('ok'), result('fpm_status', output('fpm-status-idle.txt'))] });
    expect(r.findings[0]?.nextSteps.join('\n')).not.toMatch(/status_path/);
  });

  it('off, with workers too slow: the timeout says how to turn it on', () => {
    const r = run({
      picture: picture({ pools: [POOLS.www()] }),
      now: AFTER_SLOW,
      results: [...baseResults('ok'), result('nginx_error_log', log('slowlog-lab.error.log'))],
    });
    expect(r.findings[0]?.cause).toBe('upstream_timeout');
    expect(r.findings[0]?.nextSteps.join('\n')).toMatch(/Turn on PHP-FPM's status page .* pm\.status_path = \/fpm-status/);
  });
});

describe('php_cli_oom', () => {
  it("tells the PHP command line (php8.2) from php-fpm in the kernel's names", () => {
    for (const n of ['php', 'php8.2', 'php82', 'php7.4']) expect([n, isPhpCli(n), isFpmProcess(n)]).toEqual([n, true, false]);
    for (const n of ['php-fpm8.2', 'php-fpm', 'php5-fpm', 'php-fpm: pool w'])
      expect([n, isPhpCli(n), isFpmProcess(n)]).toEqual([n, false, true]);
  });

  it("a real OOM kill of a PHP CLI process is the job's, not php-fpm's: its own memory limit, no php-fpm tuning", () => {
    const r = run({
      now: new Date('2026-11-25T19:33:20Z'),
      results: [...baseResults('ok'), result('kernel_log', readFixture('kernel/oom-php-cli.dmesg.txt'))],
    });
    const v = r.findings[0];
    expect(v?.cause).toBe('php_cli_oom');
    expect(v?.title).toBe(
      'The kernel OOM killer killed a PHP command-line process (php8.2, pid 2562), not php-fpm: a cron job or CLI task ran out of memory',
    );
    expect(v?.evidence.join('\n')).toContain('Memory cgroup out of memory: Killed process 2562 (php8.2) total-vm:155228kB');
    expect(v?.evidence.join('\n')).toContain('php8.2 invoked oom-killer');
    expect(v?.nextSteps.join('\n')).toMatch(/MemoryMax=2G/);
    expect(v?.remediations).toEqual([]);
    expect(r.findings.map((f) => f.cause)).not.toContain('oom_killed');
  });

  it('is history three days later', () => {
    const r = run({
      now: new Date('2026-11-28T19:33:20Z'),
      results: [...baseResults('ok'), result('kernel_log', readFixture('kernel/oom-php-cli.dmesg.txt'))],
    });
    expect(r.findings.find((f) => f.cause === 'php_cli_oom')?.current).toBe(false);
    expect(r.findings[0]?.cause).toBe('healthy');
  });
});

describe('cdn_to_origin: the public URL, probed on the origin', () => {
  it('the origin answers 200: the 52x is made in front of it, and the report reads the Cloudflare codes', () => {
    const r = run({ picture: labPicture(), results: [...baseResults('ok'), origin('ok', 'http://web-01:32899/')] });
    const v = r.findings[0];
    expect(v?.cause).toBe('cdn_to_origin');
    expect(v?.severity).toBe('warning');
    expect(v?.title).toBe(
      'The origin answers 200 for http://web-01:32899/ on this host: a 502/52x at that URL comes from in front of it (CDN, firewall, TLS mode)',
    );
    expect(v?.evidence[0]).toMatch(/^http:\/\/web-01:32899\/ \(on this host\) http_code=200 /);
    expect(v?.evidence).toContain(`server web-01 answers web-01 on port 32899 (${LAB}/nginx/nginx.conf)`);
    for (const code of ['520', '521', '522', '523', '524', '525', '526']) expect(v?.explanation).toContain(`${code} `);
    expect(v?.explanation.length).toBeLessThan(1000);
    expect(r.findings.map((f) => f.cause)).not.toContain('healthy');
  });

  it("nothing listens on the URL's port: refused, Cloudflare 521", () => {
    const r = run({ results: [...baseResults('ok'), origin('refused', 'https://shop.example:46585/checkout')] });
    const v = r.findings[0];
    expect(v?.cause).toBe('cdn_to_origin');
    expect(v?.severity).toBe('critical');
    expect(v?.title).toBe(
      'The origin gives no answer for https://shop.example:46585/checkout on this host: the origin refuses the connection (behind Cloudflare: 521)',
    );
    expect(v?.evidence).toContain("curl: (7) Failed to connect to shop.example port 46585 after 0 ms: Couldn't connect to server");
  });

  it('https to a port that speaks plain HTTP: the handshake fails, Cloudflare 525, and the config says why', () => {
    const r = run({ picture: labPicture(), results: [...baseResults('ok'), origin('tls-to-plain', 'https://web-01:32899/checkout')] });
    const v = r.findings[0];
    expect(v?.title).toMatch(/the TLS handshake with the origin fails \(behind Cloudflare: 525\)$/);
    expect(v?.evidence).toContain('nginx listens on port 32899 without ssl: https to it fails (Cloudflare: 525)');
  });

  it("the origin answers 504 itself: the verdict that explains it says the 504 is the origin's own", () => {
    const r = run({
      picture: labPicture(),
      now: AFTER_SLOW,
      results: [
        ...baseResults('ok'),
        result('nginx_error_log', log('slowlog-lab.error.log')),
        origin('504', 'http://web-01:32899/slow.php?s=3'),
      ],
    });
    const v = r.findings[0];
    expect(v?.cause).toBe('upstream_timeout');
    expect(v?.explanation).toMatch(
      /^The origin itself answers 504 for http:\/\/web-01:32899\/slow\.php\?s=3 \(asked on this host by that name\): behind a CDN, the 504 users see is this host's own/,
    );
    expect(v?.evidence.at(-1)).toMatch(/^http:\/\/web-01:32899\/slow\.php\?s=3 \(on this host\) http_code=504 /);
    expect(r.findings.map((f) => f.cause)).not.toContain('cdn_to_origin');
  });

  it('an origin 502 with no log line to explain it is still never healthy', () => {
    const r = run({ results: [...baseResults('ok'), origin('tls-502', 'https://shop.lab.test:40443/checkout')] });
    expect(r.findings[0]).toMatchObject({
      cause: 'unknown_502',
      severity: 'critical',
      title: 'The origin answers 502 for https://shop.lab.test:40443/checkout on this host, and no rule explains why',
    });
  });

  it('a URL in the facts that is not a safe shape is never probed, and says why', () => {
    for (const url of ['https://10.0.0.11/', 'https://shop.example/a,b@c:d/%zz']) {
      const d = discover([], { site: { publicUrl: url } });
      expect(d.items['site.origin']).toEqual([]);
      expect(d.picture.nginx.notChecked.join('\n')).toContain('the public URL');
    }
    const ok = discover([], { site: { publicUrl: 'https://shop.example/checkout' } });
    expect(ok.items['site.origin']).toEqual([
      {
        subject: 'https://shop.example/checkout',
        values: { 'item.url': 'https://shop.example/checkout', 'item.resolve': 'shop.example:443:127.0.0.1' },
      },
    ]);
  });
});
