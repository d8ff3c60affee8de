import { describe, expect, it } from 'vitest';
import type { CauseId, RemediationId, Severity } from '../../../src/core/causes.ts';
import { CAUSE_IDS } from '../../../src/core/causes.ts';
import { FIELD_CASES } from './field-cases.ts';
import {
  baseResults,
  CAPTURE,
  type Case,
  DIRECTIVES,
  failed,
  log,
  NGINX_UPSTREAMS,
  output,
  picture,
  POOLS,
  readFixture,
  result,
  run,
} from './fixtures.ts';

/** Matches a string that starts with `prefix`, taken literally. */
const startingWith = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

/** The first line of a fixture that matches: the exact real line the evidence must quote. */
const line = (file: string, pattern: RegExp): string => {
  const found = log(file)
    .split('\n')
    .find((l) => pattern.test(l));
  if (found === undefined) throw new Error(`${file} has no line matching ${pattern}`);
  return found;
};

/** The first line of an output fixture that matches, trimmed (systemctl indents its fields). */
const outputLine = (file: string, pattern: RegExp): string =>
  (
    output(file)
      .split('\n')
      .find((l) => pattern.test(l)) ?? `no ${pattern} in ${file}`
  ).trim();

const errorLog = (file: string) => result('nginx_error_log', log(file));
const accessLog = (file: string) => result('nginx_access_log', log(file));
const fpmLog = () => result('fpm_log', log('php-fpm.log'));
const T = CAPTURE.dir;

interface Expected {
  verdict: CauseId;
  severity?: Severity;
  title?: RegExp;
  /** Exact lines the verdict's evidence must hold. */
  evidence?: string[];
  remediations?: RemediationId[];
  /** Further findings that must be there (any order after the verdict). */
  also?: CauseId[];
  /** Causes that must not be found at all. */
  not?: CauseId[];
}

/**
 * Lines the lab's proxy_upstream_down scenario wrote on a CI run (its dir, ports and times): the
 * Node backend was stopped while a request reached it, so nginx logged one reset and then
 * refusals. `listening`: what ss shows at the backend's port now (undefined: ss did not run).
 */
function STOPPING(o: { listening: boolean | undefined; keepalive?: boolean }): Case {
  const proxy = {
    kind: 'proxy' as const,
    target: 'http://127.0.0.1:38813',
    file: `${T}/nginx.conf`,
    line: 'proxy_pass http://127.0.0.1:38813;',
  };
  const keepalive = { name: 'keepalive', value: '8', file: `${T}/nginx.conf`, line: 'keepalive 8;' };
  const ss =
    output('ss-running.txt') +
    (o.listening === true ? 'tcp   LISTEN 0      511                                    127.0.0.1:38813  0.0.0.0:*\n' : '');
  return {
    picture: picture({ upstreams: [NGINX_UPSTREAMS.fpm, proxy], directives: o.keepalive === true ? [keepalive] : [] }),
    results: [
      ...baseResults('ok'),
      errorLog('lab-proxy-stopping.error.log'),
      ...(o.listening === undefined ? [] : [result('sockets', ss)]),
    ],
    now: new Date('2026-11-26T00:43:01Z'),
  };
}

const CASES: { name: string; input: Case; expect: Expected }[] = [
  {
    name: 'php_fpm_down: php-fpm stopped, nginx gets (2: No such file) on its unix socket',
    input: {
      picture: picture({ fpmRunning: false }),
      results: [...baseResults('fpm-down'), errorLog('fpm-stopped.error.log'), accessLog('fpm-stopped.access.log')],
    },
    expect: {
      verdict: 'php_fpm_down',
      severity: 'critical',
      title: /^PHP-FPM is not running: nginx could not connect to unix:\/tmp\/medic-capture\.\w+\/php8\.2-fpm\.sock \(3 times/,
      evidence: [line('fpm-stopped.error.log', /\(2: No such file or directory\)/)],
      remediations: ['start_php_fpm'],
      not: ['socket_mismatch', 'unknown_502'],
    },
  },
  {
    name: 'php_fpm_down: php-fpm stopped, TCP pool, nginx gets (111: Connection refused)',
    input: {
      picture: picture({ fpmRunning: false, pools: [POOLS.tcp()], upstreams: [NGINX_UPSTREAMS.fpmTcp] }),
      results: [...baseResults('fpm-down'), errorLog('fpm-tcp-stopped.error.log')],
    },
    expect: {
      verdict: 'php_fpm_down',
      evidence: [line('fpm-tcp-stopped.error.log', /\(111: Connection refused\)/)],
      remediations: ['start_php_fpm'],
    },
  },
  {
    name: 'php_fpm_down without any log line: no master runs while nginx has a fastcgi_pass',
    input: {
      picture: picture({ fpmRunning: false }),
      results: [
        ...baseResults('ok'),
        result('socket_file', '', { status: 'failed', exitCode: 1, stderr: output('stat-socket-fpm-down.stderr') }),
      ],
    },
    expect: { verdict: 'php_fpm_down', title: /^PHP-FPM is not running$/, evidence: [output('stat-socket-fpm-down.stderr').trim()] },
  },
  {
    name: 'php_fpm_down from systemd: unit inactive (dead)',
    input: {
      picture: picture({ fpmRunning: false }),
      results: [
        ...baseResults('fpm-down'),
        result('fpm_service', output('recorded-systemctl-status-inactive.txt'), { status: 'failed', exitCode: 3 }),
      ],
    },
    expect: { verdict: 'php_fpm_down', evidence: [outputLine('recorded-systemctl-status-inactive.txt', /Active:/)] },
  },
  {
    name: 'socket_mismatch: php-fpm runs on php8.2-fpm.sock, nginx points at php7.4-fpm.sock (same (2) line as php_fpm_down)',
    input: {
      picture: picture({ pools: [POOLS.www()], upstreams: [NGINX_UPSTREAMS.mismatchUnix] }),
      results: [...baseResults('ok'), errorLog('mismatch-unix.error.log'), accessLog('mismatch-unix.access.log')],
    },
    expect: {
      verdict: 'socket_mismatch',
      title: /nginx passes PHP to unix:\S+php7\.4-fpm\.sock, but PHP-FPM listens on \S+php8\.2-fpm\.sock/,
      evidence: [
        line('mismatch-unix.error.log', /php7\.4-fpm\.sock failed \(2: No such file or directory\)/),
        `${T}/nginx.conf: fastcgi_pass unix:${T}/php7.4-fpm.sock;`,
        `${T}/php-fpm.conf: listen = ${T}/php8.2-fpm.sock`,
      ],
      remediations: ['reload_nginx', 'reload_php_fpm'],
      not: ['php_fpm_down'],
    },
  },
  {
    name: 'socket_mismatch: nginx uses TCP 127.0.0.1:<port> (111) while the only pool listens on a unix socket',
    input: {
      picture: picture({ pools: [POOLS.www()], upstreams: [NGINX_UPSTREAMS.mismatchTcp] }),
      results: [...baseResults('ok'), errorLog('mismatch-tcp.error.log')],
    },
    expect: {
      verdict: 'socket_mismatch',
      evidence: [line('mismatch-tcp.error.log', /\(111: Connection refused\)/)],
      not: ['php_fpm_down', 'proxy_upstream_down'],
    },
  },
  {
    name: 'look-alike: the same TCP (111) line with no php-fpm master is php_fpm_down, not socket_mismatch',
    input: {
      picture: picture({ fpmRunning: false, pools: [POOLS.www()], upstreams: [NGINX_UPSTREAMS.mismatchTcp] }),
      results: [...baseResults('fpm-down'), errorLog('mismatch-tcp.error.log')],
    },
    expect: { verdict: 'php_fpm_down', not: ['socket_mismatch'] },
  },
  {
    name: 'look-alike: (111) to an http:// upstream is proxy_upstream_down, whatever php-fpm does',
    input: {
      picture: picture({ fpmRunning: false, upstreams: [NGINX_UPSTREAMS.proxyRefused] }),
      results: [...baseResults('fpm-down'), errorLog('proxy-refused.error.log')],
    },
    expect: {
      verdict: 'proxy_upstream_down',
      title: new RegExp(`^The proxy_pass backend 127\\.0\\.0\\.1:${CAPTURE.closedPort} refuses connections`),
      evidence: [
        line('proxy-refused.error.log', /\(111: Connection refused\)/),
        `${T}/nginx.conf: proxy_pass http://127.0.0.1:${CAPTURE.closedPort};`,
      ],
      remediations: [],
      not: ['php_fpm_down', 'socket_mismatch'],
    },
  },
  {
    name: 'a proxy backend stopped with a request in flight: one reset, then refusals, nothing listens now: proxy_upstream_down, the reset in its evidence',
    input: STOPPING({ listening: false }),
    expect: {
      verdict: 'proxy_upstream_down',
      title:
        /^The proxy_pass backend 127\.0\.0\.1:38813 refuses connections \(3 requests failed in the last 15 min; nothing listens there now\)$/,
      evidence: [
        line('lab-proxy-stopping.error.log', /\*4 connect\(\) failed \(111/),
        line('lab-proxy-stopping.error.log', /\*6 connect\(\) failed \(111/),
        line('lab-proxy-stopping.error.log', /\*2 recv\(\) failed \(104/),
        `${T}/nginx.conf: proxy_pass http://127.0.0.1:38813;`,
      ],
      not: ['upstream_reset', 'keepalive_mismatch'],
    },
  },
  {
    name: 'the same lines with nginx keeping connections alive and the site answering: still proxy_upstream_down, not a keep-alive race',
    input: STOPPING({ listening: false, keepalive: true }),
    expect: { verdict: 'proxy_upstream_down', not: ['upstream_reset', 'keepalive_mismatch'] },
  },
  {
    name: 'the same lines while the backend listens again now (a crash loop): the reset stays upstream_reset, ahead of the refusals',
    input: STOPPING({ listening: true }),
    expect: {
      verdict: 'upstream_reset',
      title: /closed connections mid-request \(1 request in the last 15 min\)$/,
      also: ['proxy_upstream_down'],
    },
  },
  {
    name: 'the same lines with no ss output: whether it is down now is unknown, so the reset is not folded into the refusals',
    input: STOPPING({ listening: undefined }),
    expect: { verdict: 'upstream_reset', also: ['proxy_upstream_down'] },
  },
  {
    name: 'listen = <port> (all addresses) is where fastcgi_pass 127.0.0.1:<port> goes: no mismatch; php-fpm listens again now',
    input: {
      picture: picture({ pools: [{ ...POOLS.tcp(), listen: String(CAPTURE.fpmTcpPort) }], upstreams: [NGINX_UPSTREAMS.fpmTcp] }),
      results: [...baseResults('ok'), errorLog('fpm-tcp-stopped.error.log'), result('sockets', output('ss-running.txt'))],
    },
    expect: {
      verdict: 'php_fpm_down',
      severity: 'warning',
      title: /PHP-FPM runs again now$/,
      remediations: [],
      not: ['socket_mismatch', 'healthy'],
    },
  },
  {
    name: 'php-fpm runs, its pool is configured where nginx connects, but ss shows nothing listening there',
    input: {
      picture: picture({ pools: [POOLS.www()] }),
      results: [...baseResults('fpm-down'), errorLog('fpm-stopped.error.log'), result('sockets', output('ss-fpm-down.txt'))],
    },
    expect: {
      verdict: 'php_fpm_down',
      severity: 'critical',
      title: /^PHP-FPM runs but nothing listens on unix:/,
      remediations: ['reload_php_fpm'],
    },
  },
  {
    name: 'socket_mismatch before any traffic: fastcgi_pass matches no pool and ss shows nothing there',
    input: {
      picture: picture({ pools: [POOLS.www()], upstreams: [NGINX_UPSTREAMS.fpm, NGINX_UPSTREAMS.mismatchUnix] }),
      results: [...baseResults('ok'), result('sockets', output('ss-running.txt'))],
    },
    expect: {
      verdict: 'socket_mismatch',
      severity: 'warning',
      evidence: [`${T}/nginx.conf: fastcgi_pass unix:${T}/php7.4-fpm.sock;`],
      not: ['healthy'],
    },
  },
  {
    name: 'socket_permission: socket root:root 0600, nginx workers run as nobody, (13: Permission denied)',
    input: {
      picture: picture({ pools: [POOLS.www(), POOLS.perm()], upstreams: [NGINX_UPSTREAMS.permission] }),
      results: [...baseResults('ok'), errorLog('permission.error.log'), result('socket_file', output('stat-socket-permission.stdout'))],
    },
    expect: {
      verdict: 'socket_permission',
      title: /^nginx workers \(user nobody\) may not open the socket unix:\S+perm\.sock \(root:root mode 600\)/,
      evidence: [
        line('permission.error.log', /\(13: Permission denied\)/),
        output('stat-socket-permission.stdout').trim(),
        `${T}/php-fpm.conf: listen.owner = root`,
        `${T}/php-fpm.conf: listen.mode = 0600`,
      ],
      // A reload keeps php-fpm's inherited socket (lab-proven): only a restart applies the fix.
      remediations: ['restart_php_fpm'],
    },
  },
  {
    name: 'upstream_timeout: a 3 s script behind fastcgi_read_timeout 1s (504)',
    input: {
      picture: picture({ directives: [DIRECTIVES.readTimeout] }),
      results: [...baseResults('timeout'), errorLog('timeout.error.log'), accessLog('timeout.access.log')],
    },
    expect: {
      verdict: 'upstream_timeout',
      evidence: [
        line('timeout.error.log', /upstream timed out \(110: Connection timed out\)/),
        `${T}/nginx.conf: fastcgi_read_timeout 1s;`,
      ],
      remediations: [],
    },
  },
  {
    name: 'upstream_timeout: a slow proxy_pass backend',
    input: {
      picture: picture({ directives: [DIRECTIVES.proxyReadTimeout] }),
      results: [...baseResults('ok'), errorLog('proxy-timeout.error.log')],
    },
    expect: {
      verdict: 'upstream_timeout',
      evidence: [line('proxy-timeout.error.log', /upstream timed out/), `${T}/nginx.conf: proxy_read_timeout 1s;`],
    },
  },
  {
    name: 'upstream_reset: workers SIGKILLed mid-request; evidence has the php-fpm log lines',
    input: { results: [...baseResults('ok'), errorLog('killed.error.log'), fpmLog()] },
    expect: {
      verdict: 'upstream_reset',
      title: /^PHP-FPM workers die mid-request \(SIGKILL, SIGSEGV\)/,
      evidence: [
        line('killed.error.log', /recv\(\) failed \(104: Connection reset by peer\)/),
        line('php-fpm.log', /exited on signal 9 \(SIGKILL\)/),
        line('php-fpm.log', /SIGSEGV/),
      ],
      remediations: ['reload_php_fpm'],
    },
  },
  {
    name: 'upstream_reset: a proxy backend resetting connections (no php-fpm remediation)',
    input: { results: [...baseResults('ok'), errorLog('proxy-reset.error.log')] },
    expect: { verdict: 'upstream_reset', title: /^The backend 127\.0\.0\.1:\d+ closed connections mid-request/, remediations: [] },
  },
  {
    name: 'upstream_reset: upstream prematurely closed connection',
    input: { results: [...baseResults('ok'), errorLog('proxy-closed.error.log')] },
    expect: { verdict: 'upstream_reset', evidence: [line('proxy-closed.error.log', /upstream prematurely closed connection/)] },
  },
  {
    name: 'max_children_exhausted (warning): "server reached pm.max_children" while the requests were still served',
    input: {
      picture: picture({ pools: [POOLS.www(), POOLS.small()] }),
      results: [...baseResults('ok'), fpmLog(), accessLog('busy.access.log')],
    },
    expect: {
      verdict: 'max_children_exhausted',
      severity: 'warning',
      title: /^PHP-FPM pool small reached pm\.max_children \(1\) in the last 15 min: requests had to queue$/,
      evidence: [line('php-fpm.log', /server reached pm\.max_children setting \(1\)/), `${T}/php-fpm.conf: pm.max_children = 1`],
      remediations: ['reload_php_fpm'],
      // The capture's php-fpm.log also holds the killed and segfaulted workers of other requests:
      // with no nginx line in the window they are reported after the verdict, as evidence nginx did not log.
      also: ['upstream_reset'],
      not: ['healthy'],
    },
  },
  {
    name: 'root before symptom: 504s on the saturated pool are max_children_exhausted, with upstream_timeout after it',
    input: {
      picture: picture({ pools: [POOLS.www(), POOLS.small()], directives: [DIRECTIVES.readTimeout] }),
      results: [...baseResults('ok'), fpmLog(), errorLog('starved.error.log'), accessLog('starved.access.log')],
    },
    expect: {
      verdict: 'max_children_exhausted',
      severity: 'critical',
      title: /^PHP-FPM pool small is at pm\.max_children \(1\): requests queue; 2 requests timed out waiting in the last 15 min$/,
      evidence: [line('php-fpm.log', /server reached pm\.max_children/), line('starved.error.log', /upstream timed out/)],
      also: ['upstream_timeout'],
    },
  },
  {
    name: 'look-alike: timeouts on another pool than the saturated one stay upstream_timeout',
    input: {
      picture: picture({ pools: [POOLS.www(), POOLS.small()], directives: [DIRECTIVES.readTimeout] }),
      results: [...baseResults('timeout'), fpmLog(), errorLog('timeout.error.log')],
    },
    expect: { verdict: 'upstream_timeout', also: ['max_children_exhausted'] },
  },
  {
    name: 'max_children_exhausted: the listen backlog overflows, (11: Resource temporarily unavailable)',
    input: { picture: picture({ pools: [POOLS.tiny()] }), results: [...baseResults('ok'), errorLog('eagain.error.log')] },
    expect: {
      verdict: 'max_children_exhausted',
      title: /requests queue; 2 connections refused \(backlog full\)/,
      evidence: [line('eagain.error.log', /\(11: Resource temporarily unavailable\)/)],
      not: ['unknown_502', 'php_fpm_down'],
    },
  },
  {
    name: "max_children_exhausted: ss shows connections waiting in a pool socket's accept queue right now",
    input: {
      picture: picture({ pools: [POOLS.www(), POOLS.small()] }),
      results: [...baseResults('ok'), result('sockets', output('ss-busy.txt'))],
    },
    expect: {
      verdict: 'max_children_exhausted',
      severity: 'critical',
      evidence: [
        output('ss-busy.txt')
          .split('\n')
          .find((l) => l.includes('small.sock')) as string,
      ],
    },
  },
  {
    name: 'max_children_exhausted (warning): the status page counts max children reached, nothing queued now',
    input: {
      picture: picture({ pools: [POOLS.www(), POOLS.small()] }),
      results: [...baseResults('ok'), result('fpm_status', output('fpm-status-busy.txt'))],
    },
    expect: { verdict: 'max_children_exhausted', severity: 'warning', evidence: ['max children reached: 1'], not: ['healthy'] },
  },
  ...(['recorded-oom-dmesg-iso.log', 'recorded-oom-journalctl-short-iso.log', 'recorded-oom-kern-syslog.log'] as const).map((file) => ({
    name: `oom_killed beats its symptom php_fpm_down: ${file}`,
    input: {
      picture: picture({ fpmRunning: false }),
      results: [...baseResults('fpm-down'), errorLog('fpm-stopped.error.log'), result('kernel_log', log(file))],
    },
    expect: {
      verdict: 'oom_killed' as const,
      title: /^The kernel OOM killer killed php-fpm \(pid 31117\), and PHP-FPM is not running$/,
      evidence: [line(file, /Out of memory: Killed process 31117 \(php-fpm8\.2\)/)],
      remediations: ['start_php_fpm' as const],
      also: ['php_fpm_down' as const],
    },
  })),
  {
    name: 'oom_killed from systemd alone: Result: oom-kill',
    input: {
      picture: picture({ fpmRunning: false }),
      results: [
        ...baseResults('fpm-down'),
        result('fpm_service', output('recorded-systemctl-status-failed-oom.txt'), { status: 'failed', exitCode: 3 }),
      ],
    },
    expect: {
      verdict: 'oom_killed',
      evidence: [outputLine('recorded-systemctl-status-failed-oom.txt', /Active:/), 'Main PID: 598 (code=killed, signal=KILL)'],
    },
  },
  {
    name: 'look-alike: the OOM killer killing MariaDB is not oom_killed',
    input: {
      picture: picture({ fpmRunning: false }),
      results: [
        ...baseResults('fpm-down'),
        errorLog('fpm-stopped.error.log'),
        result('kernel_log', log('recorded-oom-mysqld-dmesg-iso.log')),
      ],
    },
    expect: { verdict: 'php_fpm_down', not: ['oom_killed'] },
  },
  {
    name: 'memory_overcommit: 64 children × 2G on a 24 GiB host, the site still answers 200',
    input: {
      picture: picture({
        pools: [
          {
            ...POOLS.www(),
            maxChildren: 64,
            memoryLimit: '2G',
            lines: {
              ...POOLS.www().lines,
              'pm.max_children': 'pm.max_children = 64',
              'php_admin_value[memory_limit]': 'php_admin_value[memory_limit] = 2G',
            },
          },
        ],
      }),
      results: [...baseResults('ok'), accessLog('fpm-running.access.log')],
    },
    expect: {
      verdict: 'memory_overcommit',
      severity: 'warning',
      title: /^PHP-FPM may need up to 128\.0 GiB \(pm\.max_children × memory_limit\), but only 23\.\d GiB is left for PHP$/,
      evidence: [
        `${T}/php-fpm.conf: pm.max_children = 64`,
        `${T}/php-fpm.conf: php_admin_value[memory_limit] = 2G`,
        output('meminfo.txt').split('\n')[0] as string,
      ],
      remediations: ['reload_php_fpm'],
      not: ['healthy'],
    },
  },
  {
    name: 'memory_overcommit: memory_limit = -1 (unlimited) from php.ini',
    input: {
      picture: { ...picture(), fpm: { ...picture().fpm, iniMemoryLimit: '-1' } },
      results: [...baseResults('ok'), result('fpm_config', '/etc/php/8.2/fpm/php.ini:memory_limit = -1\n', { id: 'php_ini' })],
    },
    expect: {
      verdict: 'memory_overcommit',
      title: /^memory_limit is unlimited \(-1\) in PHP-FPM pool www/,
      evidence: ['/etc/php/8.2/fpm/php.ini:memory_limit = -1'],
    },
  },
  {
    name: 'script_filename_wrong: "Primary script unknown" (nginx answers 404)',
    input: {
      picture: picture({ directives: [DIRECTIVES.scriptFilename] }),
      results: [...baseResults('script-filename'), errorLog('script-filename.error.log'), accessLog('script-filename.access.log')],
    },
    expect: {
      verdict: 'script_filename_wrong',
      evidence: [
        line('script-filename.error.log', /Primary script unknown/),
        `${T}/nginx.conf: fastcgi_param SCRIPT_FILENAME /srv/app/public$fastcgi_script_name;`,
      ],
      remediations: ['reload_nginx'],
    },
  },
  {
    name: 'upstream_header_too_big: 8000-byte header, fastcgi_buffer_size 1k',
    input: { picture: picture({ directives: [DIRECTIVES.bufferSize] }), results: [...baseResults('ok'), errorLog('big-header.error.log')] },
    expect: {
      verdict: 'upstream_header_too_big',
      evidence: [line('big-header.error.log', /upstream sent too big header/), `${T}/nginx.conf: fastcgi_buffer_size 1k;`],
      remediations: ['reload_nginx'],
    },
  },
  {
    name: 'proxy_upstream_down: an upstream group with every server refusing, then "no live upstreams"',
    input: { results: [...baseResults('ok'), errorLog('proxy-group.error.log')] },
    expect: { verdict: 'proxy_upstream_down', evidence: [line('proxy-group.error.log', /no live upstreams/)], not: ['unknown_502'] },
  },
  {
    name: 'unknown_502: an upstream error no rule explains is shown as it is',
    input: { results: [...baseResults('ok'), errorLog('proxy-garbage.error.log')] },
    expect: {
      verdict: 'unknown_502',
      severity: 'critical',
      evidence: [line('proxy-garbage.error.log', /upstream sent no valid HTTP\/1\.0 header/)],
    },
  },
  {
    name: 'unknown_502: 502s in the access log and a probe answering 502, with a clean error log',
    input: { results: [...baseResults('fpm-down'), result('nginx_error_log', ''), accessLog('killed.access.log')] },
    expect: {
      verdict: 'unknown_502',
      title: /^The site answers 502 \(nginx answered 2 × 502 in the last 15 min\), and no rule explains why$/,
      evidence: [line('killed.access.log', /" 502 /), 'http_code=502'],
    },
  },
  {
    name: 'unknown_502: the site does not answer at all (curl 000, connection refused)',
    input: { results: [...baseResults('refused')] },
    expect: { verdict: 'unknown_502', title: /^The site does not answer \(curl: \(7\) Failed to connect/, evidence: ['http_code=000'] },
  },
  {
    name: 'look-alike: a PHP fatal error (500, "FastCGI sent in stderr") is not a 502',
    input: { results: [...baseResults('ok'), errorLog('php-fatal.error.log'), accessLog('php-fatal.access.log')] },
    expect: { verdict: 'healthy', not: ['unknown_502', 'upstream_reset'] },
  },
  {
    name: 'healthy: clean logs, php-fpm up, probe 200',
    input: {
      results: [
        ...baseResults('ok'),
        errorLog('fpm-running.error.log'),
        accessLog('fpm-running.access.log'),
        fpmLog(),
        result('kernel_log', output('dmesg-iso-no-oom.txt')),
      ],
      picture: picture({ pools: [POOLS.www()] }),
      now: new Date(Date.parse(CAPTURE.capturedAt) + 3 * 3_600_000),
    },
    expect: {
      verdict: 'healthy',
      severity: 'info',
      title: /^The site answers 200 and nginx logged no 502\/504 in the last 15 min$/,
      evidence: ['http_code=200'],
    },
  },
  {
    name: 'healthy: a 404 is an answer, not a 502',
    input: { results: [...baseResults('script-filename'), accessLog('fpm-running.access.log')] },
    expect: { verdict: 'healthy', title: /^The site answers 404/ },
  },
  {
    name: 'pool_tuning: the status page shows every worker of a pool of 5 active (4 besides its own request)',
    input: { results: [...baseResults('ok'), result('fpm_status', output('fpm-status-held.txt'))] },
    expect: {
      verdict: 'pool_tuning',
      severity: 'warning',
      title: /^PHP-FPM pool www: 4 of 5 workers busy \(80 % of pm\.max_children\)/,
      evidence: ['active processes:     5'],
    },
  },
  {
    name: 'php_cli_oom: the kernel OOM killer killed php8.2, the CLI, not php-fpm',
    input: {
      results: [...baseResults('ok'), result('kernel_log', readFixture('kernel/oom-php-cli.dmesg.txt'))],
      now: new Date('2026-11-25T19:33:20Z'),
    },
    expect: { verdict: 'php_cli_oom', severity: 'warning', remediations: [], not: ['oom_killed'] },
  },
  {
    name: 'cdn_to_origin: the public URL asked on the origin answers 200',
    input: {
      results: [
        ...baseResults('ok'),
        result('origin_probe', output('origin-probe-ok.stdout'), { subject: 'https://shop.example/checkout' }),
      ],
    },
    expect: {
      verdict: 'cdn_to_origin',
      severity: 'warning',
      title: /^The origin answers 200 for https:\/\/shop\.example\/checkout on this host/,
      not: ['healthy'],
    },
  },
];

describe('classify: real captured output → the verdict', () => {
  it.each(CASES)('$name', ({ input, expect: e }) => {
    const { findings } = run(input);
    const verdict = findings[0];
    const summary = JSON.stringify(
      findings.map((f) => ({ cause: f.cause, severity: f.severity, title: f.title, current: f.current, evidence: f.evidence })),
      null,
      2,
    );
    expect(verdict?.cause, summary).toBe(e.verdict);
    if (e.severity !== undefined) expect(verdict?.severity, summary).toBe(e.severity);
    if (e.title !== undefined) expect(verdict?.title, summary).toMatch(e.title);
    for (const l of e.evidence ?? []) expect(verdict?.evidence, `evidence holds ${l}\n${summary}`).toContainEqual(startingWith(l));
    if (e.remediations !== undefined) expect(verdict?.remediations).toEqual(e.remediations);
    for (const c of e.also ?? [])
      expect(
        findings.slice(1).map((f) => f.cause),
        summary,
      ).toContain(c);
    for (const c of e.not ?? [])
      expect(
        findings.map((f) => f.cause),
        summary,
      ).not.toContain(c);
  });

  it('every cause id of the contract has a positive case above', () => {
    // The cases above and the real lines from public reports (field-lines.test.ts).
    const covered = new Set([...CASES.map((c) => c.expect.verdict), ...FIELD_CASES.map((c) => c.cause)]);
    expect(CAUSE_IDS.filter((c) => !covered.has(c))).toEqual([]);
  });

  it('every finding is well formed: one-line title, evidence capped, current findings never info unless healthy or the no-probe note', () => {
    for (const { input } of CASES) {
      for (const f of run(input).findings) {
        expect(f.title).not.toMatch(/[\n\r]/);
        expect(f.evidence.length).toBeLessThanOrEqual(16);
        expect(f.explanation.length).toBeGreaterThan(0);
        expect(new Set(f.remediations).size).toBe(f.remediations.length);
      }
    }
  });

  it('a failed stat of a socket that does not exist is an observation, not a gap', () => {
    const r = run({ results: [...baseResults('ok'), failed('socket_file', output('stat-socket-missing.stderr'), 1)] });
    expect(r.incomplete).toBe(false);
    expect(r.gaps).toEqual([]);
  });
});
