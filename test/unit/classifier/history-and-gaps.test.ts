import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { baseResults, CAPTURE, failed, log, NOW, output, picture, POOLS, result, run, THREE_DAYS_LATER } from './fixtures.ts';

const errorLog = (file: string) => result('nginx_error_log', log(file));
const accessLog = (file: string) => result('nginx_access_log', log(file));

describe('old lines are history, never the verdict', () => {
  it('php-fpm was down three days ago and runs now: healthy, with a "last seen 3 days ago" info finding', () => {
    const { findings } = run({
      picture: picture({ pools: [POOLS.www()] }),
      results: [...baseResults('ok'), errorLog('fpm-stopped.error.log'), accessLog('fpm-stopped.access.log')],
      now: THREE_DAYS_LATER,
    });
    expect(findings[0]?.cause).toBe('healthy');
    const history = findings.find((f) => f.cause === 'php_fpm_down');
    expect(history).toMatchObject({ severity: 'info', current: false, remediations: [] });
    expect(history?.title).toMatch(/^Last seen 3 days ago: nginx could not connect to PHP-FPM at unix:\S+php8\.2-fpm\.sock$/);
    expect(history?.evidence[0]).toContain('(2: No such file or directory)');
  });

  it.each([
    ['socket_mismatch', 'mismatch-unix.error.log'],
    ['socket_permission', 'permission.error.log'],
    ['upstream_timeout', 'timeout.error.log'],
    ['upstream_reset', 'killed.error.log'],
    ['script_filename_wrong', 'script-filename.error.log'],
    ['upstream_header_too_big', 'big-header.error.log'],
    ['proxy_upstream_down', 'proxy-refused.error.log'],
    ['max_children_exhausted', 'eagain.error.log'],
    ['unknown_502', 'proxy-garbage.error.log'],
  ])('%s from %s three days ago is an info finding with current: false', (cause, file) => {
    const { findings } = run({
      picture: picture({ pools: [POOLS.www(), POOLS.perm(), POOLS.tiny()] }),
      results: [...baseResults('ok'), errorLog(file)],
      now: THREE_DAYS_LATER,
    });
    expect(findings[0]?.cause).toBe('healthy');
    const old = findings.filter((f) => f.cause === cause);
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ severity: 'info', current: false });
    expect(old[0]?.title).toMatch(/^Last seen 3 days ago: /);
  });

  it('an OOM kill three days ago is history even while php-fpm is down now: the verdict is php_fpm_down', () => {
    const { findings } = run({
      picture: picture({ fpmRunning: false }),
      results: [...baseResults('fpm-down'), result('kernel_log', log('recorded-oom-dmesg-iso.log'))],
      now: THREE_DAYS_LATER,
    });
    expect(findings[0]?.cause).toBe('php_fpm_down');
    expect(findings.find((f) => f.cause === 'oom_killed')).toMatchObject({ current: false, severity: 'info' });
  });

  it('old and current together: the current cause is the verdict, the old one stays history', () => {
    const old = log('fpm-stopped.error.log').replaceAll('2026/11/23', '2026/11/20');
    const { findings } = run({
      picture: picture({ pools: [POOLS.www()] }),
      results: [...baseResults('timeout'), result('nginx_error_log', old + log('timeout.error.log'))],
    });
    expect(findings[0]?.cause).toBe('upstream_timeout');
    expect(findings.find((f) => f.cause === 'php_fpm_down')).toMatchObject({ current: false });
  });

  it("nginx's error log is in the host's local time: at UTC+1 the same lines are an hour older", () => {
    const results = [...baseResults('ok'), errorLog('proxy-refused.error.log')];
    expect(run({ results, utcOffsetMinutes: 0 }).findings[0]?.cause).toBe('proxy_upstream_down');
    const east = run({ results, utcOffsetMinutes: 60 }).findings;
    expect(east[0]?.cause).toBe('healthy');
    expect(east.find((f) => f.cause === 'proxy_upstream_down')?.title).toMatch(/^Last seen 1 h ago/);
  });

  it('access log lines carry their own offset: still current whatever the host offset', () => {
    const { findings } = run({ results: [...baseResults('ok'), accessLog('killed.access.log')], utcOffsetMinutes: 600 });
    expect(findings[0]?.cause).toBe('unknown_502');
    expect(findings[0]?.title).toMatch(/2 × 502/);
  });

  it('the window is an argument: a verification right after a fix (5 s window) ignores the lines that led to it', () => {
    const { findings } = run({ results: [...baseResults('ok'), errorLog('proxy-refused.error.log')], windowMs: 5_000 });
    expect(findings[0]?.cause).toBe('healthy');
  });
});

describe('an incomplete diagnosis is never healthy', () => {
  const denied: CheckResult = {
    ...failed('nginx_error_log', `tail: cannot open '${CAPTURE.dir}/logs/error.log' for reading: Permission denied`, 1),
    id: 'nginx_error_log',
  };

  it('unreadable error log, site answers 200: unknown_502 "Diagnosis incomplete", with the gap', () => {
    const r = run({ results: [...baseResults('ok'), denied] });
    expect(r.incomplete).toBe(true);
    expect(r.gaps).toEqual([
      {
        check: 'nginx_error_log',
        reason: expect.stringMatching(/^could not read the nginx error log: tail: cannot open .* Permission denied$/),
      },
    ]);
    expect(r.findings[0]).toMatchObject({
      cause: 'unknown_502',
      severity: 'warning',
      title: 'Diagnosis incomplete: could not read the nginx error log',
    });
    expect(r.findings.map((f) => f.cause)).not.toContain('healthy');
  });

  it('unreadable error log, site answers 502: critical unknown_502 that says so', () => {
    const r = run({ results: [...baseResults('fpm-down'), denied] });
    expect(r.findings[0]?.title).toBe(
      'Diagnosis incomplete (could not read the nginx error log): The site answers 502, and no rule explains why',
    );
    expect(r.findings[0]?.severity).toBe('critical');
  });

  it('a cause found with what could be read is still the verdict; an unread kernel log is listed with what it could hide', () => {
    const r = run({
      picture: picture({ fpmRunning: false }),
      results: [
        ...baseResults('fpm-down'),
        errorLog('fpm-stopped.error.log'),
        { ...result('kernel_log', ''), status: 'timeout', exitCode: null, reason: 'timed out after 10s' },
      ],
    });
    expect(r.findings[0]?.cause).toBe('php_fpm_down');
    expect(r.incomplete).toBe(false);
    expect(r.gaps).toEqual([
      {
        check: 'kernel_log',
        reason: 'could not read the kernel log: timed out after 10s',
        supplementary: true,
        couldHide: expect.stringMatching(/OOM kill/),
      },
    ]);
  });

  it.each([
    ['error', { status: 'error', exitCode: null, reason: 'sudo: a password is required' }],
    ['timeout', { status: 'timeout', exitCode: null }],
    [
      'failed with Permission denied',
      { status: 'failed', exitCode: 1, stderr: "tail: cannot open '/var/log/nginx/access.log' for reading: Permission denied" },
    ],
  ] as const)('a core check that %s is a gap that forbids healthy', (_name, extra) => {
    const r = run({ results: [...baseResults('ok'), errorLog('fpm-running.error.log'), result('nginx_access_log', '', extra)] });
    expect(r.incomplete).toBe(true);
    expect(r.gaps[0]?.supplementary).toBeUndefined();
    expect(r.findings[0]?.cause).not.toBe('healthy');
  });

  it.each([
    ['error', { status: 'error', exitCode: null, reason: 'sudo: a password is required' }],
    ['timeout', { status: 'timeout', exitCode: null }],
    ['failed with Permission denied', { status: 'failed', exitCode: 1, stderr: 'cat: /proc/meminfo: Permission denied' }],
  ] as const)('a supplementary check that %s is listed, and healthy stays possible', (_name, extra) => {
    const r = run({
      results: [...baseResults('ok'), errorLog('fpm-running.error.log'), accessLog('fpm-running.access.log'), result('memory', '', extra)],
      now: NOW,
    });
    expect(r.incomplete).toBe(false);
    expect(r.gaps).toEqual([
      expect.objectContaining({ check: 'memory', supplementary: true, couldHide: expect.stringMatching(/overcommit/) }),
    ]);
    expect(r.findings[0]?.cause).toBe('healthy');
    expect(r.findings[0]?.explanation).toMatch(/Not read, which could hide .*memory \(memory overcommit/);
  });

  it.each([
    [
      'skipped (the engine decided it does not apply)',
      result('fpm_service', '', { status: 'skipped', exitCode: null, reason: 'the host does not run systemd' }),
    ],
    [
      'systemctl status of a stopped unit (exit 3)',
      result('fpm_service', output('recorded-systemctl-status-inactive.txt'), { status: 'failed', exitCode: 3 }),
    ],
    ['systemctl status of an unknown unit (exit 4)', failed('fpm_service', output('recorded-systemctl-status-not-found.stderr'), 4)],
    ['stat of a socket that does not exist', failed('socket_file', output('stat-socket-missing.stderr'), 1)],
    [
      'curl that could not connect (http_code=000)',
      result('http_probe', output('http-probe-refused.stdout'), {
        status: 'failed',
        exitCode: 7,
        stderr: output('http-probe-refused.stderr'),
      }),
    ],
    [
      'the status page not answering',
      failed('fpm_status', "curl: (7) Failed to connect to 127.0.0.1 port 80 after 0 ms: Couldn't connect to server", 7),
    ],
    ['grep finding no memory_limit in php.ini', failed('fpm_config', '', 1)],
    [
      'ls /run/systemd/system on a host without systemd',
      failed('systemd_probe', "ls: cannot access '/run/systemd/system': No such file or directory", 2),
    ],
  ])('%s is not a gap', (_name, r) => {
    expect(run({ results: [...baseResults('ok'), r] }).gaps).toEqual([]);
  });

  it('an SELinux check refused by sudo is a gap only where SELinux may be at work', () => {
    const refused = failed('security_policy', 'sudo: a password is required', 1);
    const denials = { ...refused, id: 'selinux_denials' };
    // getenforce not installed: no SELinux, nothing the refused ausearch could hide.
    const absent = failed('security_policy', 'sh: 1: getenforce: not found', 127);
    expect(run({ results: [...baseResults('ok'), { ...absent, id: 'selinux_mode' }, denials] }).gaps).toEqual([]);
    expect(run({ results: [...baseResults('ok'), result('security_policy', 'Disabled\n', { id: 'selinux_mode' }), denials] }).gaps).toEqual(
      [],
    );
    // SELinux enforcing: the refused ausearch could hide the denial behind a (13) on a TCP upstream.
    const gaps = run({ results: [...baseResults('ok'), result('security_policy', 'Enforcing\n', { id: 'selinux_mode' }), denials] }).gaps;
    expect(gaps).toEqual([expect.objectContaining({ check: 'selinux_denials', supplementary: true })]);
  });

  it('a master gone between ps and the read of its cgroup or mounts is no gap; a refused read is one, saying what it could hide', () => {
    const gone = { ...failed('cgroup', 'cat: /proc/4242/cgroup: No such file or directory', 1), id: 'master_cgroup', subject: '4242' };
    const goneMounts = {
      ...failed('mountinfo', 'cat: /proc/4242/mountinfo: No such file or directory', 1),
      id: 'master_mounts',
      subject: '4242',
    };
    expect(run({ results: [...baseResults('ok'), gone, goneMounts] }).gaps).toEqual([]);
    const refused = { ...failed('mountinfo', 'cat: /proc/4242/mountinfo: Permission denied', 1), id: 'master_mounts', subject: '4242' };
    expect(run({ results: [...baseResults('ok'), refused] }).gaps).toEqual([
      expect.objectContaining({
        check: 'master_mounts 4242',
        supplementary: true,
        couldHide: "a master in a container (whose paths are not this host's) taken for this host's",
      }),
    ]);
  });

  it('systemctl failing for another reason (no bus) is a gap', () => {
    const r = run({ results: [...baseResults('ok'), failed('fpm_service', 'Failed to connect to bus: Host is down', 1)] });
    expect(r.gaps.map((g) => g.check)).toEqual(['fpm_service']);
  });

  it('no probe at all and clean logs: not healthy either, the verdict says the site was not probed', () => {
    const { findings } = run({ results: [...baseResults('none'), errorLog('fpm-running.error.log')] });
    expect(findings[0]).toMatchObject({ cause: 'unknown_502', severity: 'info' });
    expect(findings[0]?.title).toMatch(/the site was not probed$/);
  });

  it('healthy needs all the core evidence: a gap in any of it turns a healthy verdict into unknown_502', () => {
    const clean = [...baseResults('ok'), errorLog('fpm-running.error.log'), accessLog('fpm-running.access.log')];
    expect(run({ results: clean, now: NOW }).findings[0]?.cause).toBe('healthy');
    for (const parse of ['nginx_error_log', 'nginx_access_log', 'processes', 'nginx_config', 'http_probe'] as const) {
      const gap = result(parse, '', { status: 'error', exitCode: null, reason: 'connection lost' });
      const r = run({ results: [...clean.filter((c) => c.parse !== parse), gap], now: NOW });
      expect(r.incomplete, parse).toBe(true);
      expect(
        r.findings.map((f) => f.cause),
        parse,
      ).not.toContain('healthy');
    }
  });

  it('a gap in supplementary checks (kernel log, php.ini, status page, php-fpm log, sockets) leaves healthy possible and names each', () => {
    const clean = [...baseResults('ok'), errorLog('fpm-running.error.log'), accessLog('fpm-running.access.log')];
    const lost = { status: 'error', exitCode: null, reason: 'connection lost' } as const;
    const gaps = [
      result('kernel_log', '', lost),
      {
        ...result('fpm_config', '', { status: 'failed', exitCode: 2, stderr: 'grep: /etc/php/8.2/fpm/php.ini: Permission denied' }),
        id: 'php_ini',
      },
      result('fpm_status', '', { status: 'timeout', exitCode: null }),
      result('fpm_log', '', lost),
      result('sockets', '', lost),
    ];
    const r = run({ results: [...clean, ...gaps], now: NOW });
    expect(r.incomplete).toBe(false);
    expect(r.findings[0]?.cause).toBe('healthy');
    expect(r.gaps.map((g) => [g.check, g.supplementary])).toEqual([
      ['kernel_log', true],
      ['php_ini', true],
      ['fpm_status', true],
      ['fpm_log', true],
      ['sockets', true],
    ]);
    expect(r.gaps.find((g) => g.check === 'php_ini')).toMatchObject({
      reason: expect.stringMatching(/^could not read php\.ini: grep: .*Permission denied/),
      couldHide: expect.stringMatching(/memory_limit/),
    });
    expect(r.findings[0]?.explanation).toMatch(/kernel_log \(an OOM kill/);
  });
});
