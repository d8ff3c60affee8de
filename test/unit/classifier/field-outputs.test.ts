import { describe, expect, it } from 'vitest';
import { checkReadOnly } from '../../../src/core/playbook/allowlist.ts';
import { parseBackendLog } from '../../../src/core/classifier/parse/backend-log.ts';
import { parseFpmLog } from '../../../src/core/classifier/parse/fpm-log.ts';
import { parseKernelLog } from '../../../src/core/classifier/parse/kernel-log.ts';
import { parseLimits } from '../../../src/core/classifier/parse/limits.ts';
import { parseSecurityPolicy } from '../../../src/core/classifier/parse/security-policy.ts';
import { parseSockets } from '../../../src/core/classifier/parse/sockets.ts';
import { findGaps } from '../../../src/core/classifier/gaps.ts';
import { sanitizeLine } from '../../../src/core/report/sanitize.ts';
import { asCurrentFpmLine, asCurrentLine, FIELD_CASES, FPM_CASES, type FieldCase } from './field-cases.ts';
import { baseResults, NOW, picture, POOLS, readFixture, result, run } from './fixtures.ts';

/** Real output of other programs from public reports and this machine (test/fixtures/field/README.md). */
const field = (name: string): string => readFixture(`field/${name}`);
const lines = (name: string): string[] =>
  field(name)
    .split('\n')
    .filter((l) => l.trim() !== '');

const SELINUX_LINE = lines('../field/nginx-error.lines').find((l) => l.includes('127.0.0.1:9000 failed (13')) as string;
const AVC = field('audit-avc.log');

describe('parsers over real output', () => {
  it('AVC denials: the permission, the port, the target label', () => {
    const p = parseSecurityPolicy(`Enforcing\nhttpd_can_network_connect --> off\n${AVC}`);
    expect(p.selinux?.mode).toBe('enforcing');
    expect(p.booleans['httpd_can_network_connect']).toEqual({ on: false, line: 'httpd_can_network_connect --> off' });
    expect(p.denials).toHaveLength(1);
    expect(p.denials[0]).toMatchObject({
      permission: 'name_connect',
      comm: 'nginx',
      port: 9000,
      tclass: 'tcp_socket',
      targetType: 'hi_reserved_port_t',
      permissive: false,
      at: 1782900842115,
    });
  });

  it("gunicorn: worker timeouts and the signals that ended them, with gunicorn's own times", () => {
    const entries = parseBackendLog(field('gunicorn.log'));
    expect(entries.map((e) => e.event.kind)).toEqual([
      'worker_timeout',
      'worker_killed',
      'worker_timeout',
      'worker_timeout',
      'worker_timeout',
      'worker_killed',
      'worker_killed',
      'worker_killed',
    ]);
    expect(entries[0]?.at).toBe(Date.parse('2024-01-09T13:24:39Z'));
    expect(entries.at(-1)?.event).toEqual({ kind: 'worker_killed', server: 'gunicorn', signal: 9 });
  });

  it('uWSGI: oversized requests, full listen queues, harakiri', () => {
    const entries = parseBackendLog(field('uwsgi.log'));
    expect(entries.map((e) => e.event.kind)).toEqual([
      'request_too_big',
      'request_too_big',
      'request_too_big',
      'queue_full',
      'queue_full',
      'queue_full',
      'harakiri',
    ]);
    expect(entries[0]?.event).toEqual({ kind: 'request_too_big', server: 'uwsgi', size: 6871, max: 4096 });
    expect(entries[3]?.event).toEqual({ kind: 'queue_full', server: 'uwsgi', socket: '127.0.0.1:5000' });
  });

  it('php-fpm: signals in every layout (FreeBSD debug, core dumped, docker logs -t), SIGTERM kept apart', () => {
    const entries = parseFpmLog(field('php-fpm.log'), 0, NOW.getTime());
    const signals = entries.flatMap((e) => (e.event.kind === 'signal' ? [e.event.signal] : []));
    expect(signals).toEqual(['SIGSEGV', 'SIGSEGV', 'SIGSEGV', 'SIGSEGV', 'SIGTERM']);
    const reached = entries.filter((e) => e.event.kind === 'max_children');
    expect(reached).toHaveLength(2);
    // The docker-prefixed line keeps its php-fpm time.
    expect(reached[0]?.at).toBe(Date.parse('2024-04-10T14:39:26Z'));
  });

  it('kernel: segfaults and general protection faults, the RHEL 6 victim form, the invoker of the OOM killer', () => {
    const entries = parseKernelLog(field('kernel.log'), NOW.getTime(), 0);
    expect(entries.flatMap((e) => (e.crashed === undefined ? [] : [`${e.crashed.process}[${e.crashed.pid}]`]))).toEqual([
      'php5-fpm[7578]',
      'php5-fpm[7954]',
      'php5-fpm[9524]',
    ]);
    expect(entries.find((e) => e.victim !== undefined)?.victim).toEqual({ pid: 11726, process: 'mysqld' });
    expect(entries.flatMap((e) => (e.invoker === undefined ? [] : [e.invoker]))).toEqual(['php.bin', 'fio', 'miniserv.pl']);
    // dmesg -T's bracketed local time is read.
    expect(entries[4]?.at).toBe(Date.parse('2015-08-31T18:23:18Z'));
  });

  it('ss -p: the process that holds each listening socket', () => {
    const sockets = parseSockets(field('ss-processes.txt'));
    expect(sockets.map((s) => s.process)).toEqual([
      { name: 'php-fpm8.2', pid: 14993 },
      { name: 'chromium', pid: 14210 },
      { name: 'sshd', pid: 14275 },
      { name: 'node', pid: 14292 },
      { name: 'redis-server', pid: 14205 },
    ]);
  });

  it('/proc/<pid>/limits and the local port range of this machine', () => {
    expect(parseLimits(field('proc-limits.txt'))).toEqual([{ kind: 'open_files', line: 'Max open files 20000 20000 files', soft: 20000 }]);
    expect(parseLimits(field('ip_local_port_range.txt'))).toEqual([{ kind: 'port_range', line: 'ip_local_port_range: 32768 60999' }]);
  });
});

describe('the checks that read them are read-only and tolerate hosts without SELinux', () => {
  it.each([
    [['getenforce']],
    [['getsebool', 'httpd_can_network_connect']],
    [['ausearch', '-m', 'avc', '-ts', 'recent']],
    [['cat', '/proc/1234/limits']],
    [['cat', '/proc/sys/net/ipv4/ip_local_port_range']],
  ])('accepts %j', (argv) => {
    expect(checkReadOnly(argv)).toBeNull();
  });

  it.each([
    [['setsebool', '-P', 'httpd_can_network_connect', '1'], /"setsebool" is not on/],
    [['setenforce', '0'], /"setenforce" is not on/],
    [['semanage', 'port', '-a', '-t', 'http_port_t', '-p', 'tcp', '8080'], /"semanage" is not on/],
    [['getenforce', 'x'], /at most 0/],
    [['getsebool', '-a', 'x'], /flag "-a"/],
    [['getsebool', 'httpd_can_network_connect;id'], /operand/],
    [['ausearch', '-if', '/etc/shadow'], /flag "-if"/],
    [['ausearch', '-m', 'avc', '-ts', '01/01/2020'], /value of "-ts"/],
    [['ausearch', '-m', 'EXECVE'], /value of "-m"/],
    [['cat', '/proc/1234/environ'], /operand/],
    [['cat', '/proc/self/limits'], /operand/],
    [['cat', '/proc/1234/limits/../environ'], /operand/],
    [['cat', '/proc/sys/kernel/core_pattern'], /operand/],
  ])('refuses %j', (argv, why) => {
    expect(checkReadOnly(argv)).toMatch(why);
  });

  it('a missing getenforce or ausearch is an answer, not a gap; a refused sudo is a gap', () => {
    const missing = result('security_policy', '', {
      id: 'selinux_mode',
      status: 'error',
      exitCode: 127,
      stderr: 'bash: line 1: getenforce: command not found',
      reason: 'command not found on the host',
    });
    const sudoMissing = result('security_policy', '', {
      id: 'selinux_denials',
      status: 'failed',
      exitCode: 1,
      stderr: 'sudo: ausearch: command not found',
    });
    const none = result('security_policy', '', { id: 'selinux_denials', status: 'failed', exitCode: 1, stderr: '<no matches>' });
    const refused = result('security_policy', '', {
      id: 'selinux_denials',
      status: 'error',
      exitCode: 1,
      stderr: 'sudo: a password is required',
      reason: 'sudo refused',
    });
    expect(findGaps([missing, sudoMissing, none])).toEqual([]);
    expect(findGaps([refused]).map((g) => g.check)).toEqual(['selinux_denials']);
  });
});

describe('classify with the real output', () => {
  const selinuxLine = result('nginx_error_log', `${asCurrentLine(SELINUX_LINE)}\n`);

  it('selinux_denied: enforcing, boolean off and an AVC denial name the fix and the port label', () => {
    const { findings } = run({
      results: [
        ...baseResults('fpm-down'),
        selinuxLine,
        result('security_policy', 'Enforcing\n'),
        result('security_policy', 'httpd_can_network_connect --> off\n'),
        result('security_policy', AVC),
      ],
    });
    const v = findings[0];
    expect(v?.cause).toBe('selinux_denied');
    expect(v?.title).toMatch(/^SELinux stops nginx from connecting to 127\.0\.0\.1:9000 \(httpd_can_network_connect is off\)/);
    expect(v?.evidence).toEqual(
      expect.arrayContaining([
        sanitizeLine(asCurrentLine(SELINUX_LINE)),
        'getenforce: Enforcing',
        'httpd_can_network_connect --> off',
        AVC.trim(),
      ]),
    );
    expect(v?.nextSteps[0]).toBe('Allow nginx to connect to network backends (persistent): sudo setsebool -P httpd_can_network_connect 1');
    expect(v?.nextSteps[1]).toMatch(/semanage port -a -t http_port_t -p tcp 9000 \(it is hi_reserved_port_t now/);
    expect(findings.map((f) => f.cause)).not.toContain('socket_permission');
  });

  it('selinux_denied without SELinux tools: a security policy, not file permissions, and where to look', () => {
    const { findings, incomplete } = run({
      results: [
        ...baseResults('fpm-down'),
        selinuxLine,
        result('security_policy', '', { status: 'error', exitCode: 127, stderr: 'getenforce: command not found' }),
      ],
    });
    expect(incomplete).toBe(false);
    expect(findings[0]?.title).toMatch(/\(13: Permission denied\): a security policy, not file permissions/);
    expect(findings[0]?.nextSteps.join('\n')).toMatch(/getenforce; getsebool httpd_can_network_connect; sudo ausearch -m avc -ts recent/);
  });

  it('a unix socket with (13) stays socket_permission unless an AVC denial names a sock_file', () => {
    const unix = result(
      'nginx_error_log',
      `${asCurrentLine(lines('../logs/permission.error.log').find((l) => l.includes('(13:')) as string)}\n`,
    );
    expect(run({ results: [...baseResults('fpm-down'), unix] }).findings[0]?.cause).toBe('socket_permission');
    const sockAvc = AVC.replace('name_connect', 'write').replace('tclass=tcp_socket', 'tclass=sock_file').replace(' dest=9000', '');
    expect(
      run({ results: [...baseResults('fpm-down'), unix, result('security_policy', `Enforcing\n${sockAvc}`)] }).findings[0]?.cause,
    ).toBe('selinux_denied');
  });

  it('evidence nginx did not log: kernel segfaults of php-fpm with a silent nginx log are upstream_reset, with lowered confidence', () => {
    const { findings } = run({ results: [...baseResults('ok'), result('kernel_log', field('kernel.log'))], windowMs: 12 * 3_600_000 });
    const reset = findings.find((f) => f.cause === 'upstream_reset');
    expect(reset?.severity).toBe('warning');
    expect(reset?.title).toMatch(/PHP-FPM workers died .*\(segfault\), with no matching line in nginx's error log/);
    expect(reset?.evidence).toContain(lines('kernel.log')[2]);
  });

  it('php.bin invoked the OOM killer with no victim line: oom_killed, as a warning', () => {
    const invoked = lines('kernel.log').find((l) => l.includes('php.bin invoked')) as string;
    const now = new Date(Date.parse('2015-08-31T18:25:00Z'));
    const { findings } = run({ results: [...baseResults('ok'), result('kernel_log', `${invoked}\n`)], now });
    expect(findings[0]).toMatchObject({ cause: 'oom_killed', severity: 'warning' });
    expect(findings[0]?.evidence).toContain(invoked);
  });

  it('gunicorn WORKER TIMEOUT in the journal explains the resets nginx logged, and says what to change', () => {
    const reset = lines('nginx-error.lines').find((l) => l.includes('127.0.0.1:8501')) as string;
    const stamp = `[${new Date(NOW.getTime() - 60_000).toISOString().slice(0, 19).replace('T', ' ')} +0000]`;
    const journal = field('gunicorn.log').replace(/\[2024-01-09 \d{2}:\d{2}:\d{2} \+0000\]/g, stamp);
    const { findings } = run({
      picture: picture({ directives: [{ name: 'keepalive', value: '32', file: '/etc/nginx/nginx.conf', line: 'keepalive 32;' }] }),
      results: [...baseResults('ok'), result('nginx_error_log', `${asCurrentLine(reset)}\n`), result('backend_log', journal)],
    });
    // Not a keep-alive race: the backend's own log shows its workers killed.
    expect(findings[0]?.cause).toBe('upstream_reset');
    expect(findings[0]?.explanation).toMatch(/gunicorn killed workers that ran past its --timeout/);
    expect(findings[0]?.evidence.join('\n')).toMatch(/\[CRITICAL\] WORKER TIMEOUT \(pid:7284\)/);
    expect(findings[0]?.nextSteps[0]).toMatch(/raise gunicorn --timeout/);
  });

  it('TLS: each OpenSSL reason gets its own fix', () => {
    const tls = (needle: string): string => {
      const l = lines('nginx-error.lines').find((x) => x.includes(needle)) as string;
      return (
        run({ results: [...baseResults('fpm-down'), result('nginx_error_log', `${asCurrentLine(l)}\n`)] }).findings[0]?.nextSteps[0] ?? ''
      );
    };
    expect(tls('wrong version number) while SSL handshaking to upstream, client: OUTSIDEIP')).toMatch(/Use proxy_pass http:\/\//);
    expect(tls('SSL alert number 40')).toMatch(/proxy_ssl_server_name on/);
    expect(tls('certificate verify error')).toMatch(/proxy_ssl_trusted_certificate/);
  });

  it("one report's nginx timeout and php-fpm's max_children, read together where the pool listens: the pool, not slow code", () => {
    const source = 'https://github.com/mail-in-a-box/mailinabox/issues/515';
    const timeout = FIELD_CASES.find((c) => c.source.startsWith(source)) as FieldCase;
    const reached = FPM_CASES.find((c) => c.source.startsWith(source)) as FieldCase;
    const pool = { ...POOLS.www(), listen: '/var/run/php5-fpm.sock', maxChildren: 8 };
    const { findings } = run({
      picture: picture({
        pools: [pool],
        upstreams: [
          {
            kind: 'fastcgi',
            target: 'unix:/var/run/php5-fpm.sock',
            file: '/etc/nginx/sites-enabled/default',
            line: 'fastcgi_pass unix:/var/run/php5-fpm.sock;',
          },
        ],
      }),
      results: [
        ...baseResults('ok'),
        result('nginx_error_log', `${asCurrentLine(timeout.line)}\n`),
        result('fpm_log', `${asCurrentFpmLine(reached.line)}\n`),
      ],
    });
    expect(findings[0]).toMatchObject({ cause: 'max_children_exhausted', severity: 'critical' });
    expect(findings[0]?.title).toMatch(/is at pm\.max_children \(8\): requests queue; 1 request timed out waiting/);
    expect(findings[0]?.evidence).toEqual(expect.arrayContaining([sanitizeLine(asCurrentLine(timeout.line))]));
  });

  it('a resolver that does not answer is named, with a resolver that does as the fix', () => {
    const down = (needle: string) => {
      const l = lines('nginx-error.lines').find((x) => x.includes(needle)) as string;
      return run({ results: [...baseResults('fpm-down'), result('nginx_error_log', `${asCurrentLine(l)}\n`)] }).findings[0];
    };
    const docker = down('while resolving, resolver: 127.0.0.1:53');
    expect(docker?.title).toMatch(/^nginx cannot reach its resolver 127\.0\.0\.1:53 \(1 lookup failed/);
    expect(docker?.nextSteps.join('\n')).toMatch(/127\.0\.0\.11 inside Docker/);
    expect(down('resolver: [::1]:53')?.nextSteps[0]).toMatch(/dig @::1 /);
  });

  it('php_fpm_down under systemd with Restart=no advises Restart=on-failure; Restart=on-failure says nothing', () => {
    const down = (restart: string) =>
      run({
        picture: picture({ fpmRunning: false }),
        results: [
          ...baseResults('fpm-down'),
          result('fpm_service', `${restart}\n`, { id: 'fpm_restart_policy' }),
          result('units', 'php8.2-fpm.service loaded inactive dead PHP FastCGI\n'),
        ],
      }).findings[0];
    expect(down('Restart=no')?.nextSteps.join('\n')).toMatch(/Restart=on-failure \(it is Restart=no now\)/);
    expect(down('Restart=on-failure')?.nextSteps.join('\n')).not.toMatch(/Restart=on-failure/);
  });
});
