import { describe, expect, it } from 'vitest';
import { parseFpmLog } from '../../../src/core/classifier/parse/fpm-log.ts';
import { parseFpmService } from '../../../src/core/classifier/parse/fpm-service.ts';
import { parseFpmStatus } from '../../../src/core/classifier/parse/fpm-status.ts';
import { parseHttpProbe } from '../../../src/core/classifier/parse/http-probe.ts';
import { parseKernelLog } from '../../../src/core/classifier/parse/kernel-log.ts';
import { parseMeminfo } from '../../../src/core/classifier/parse/meminfo.ts';
import { parseNginxAccessLog } from '../../../src/core/classifier/parse/nginx-access-log.ts';
import { isUpstreamFailure, parseNginxErrorLog } from '../../../src/core/classifier/parse/nginx-error-log.ts';
import { parseSocketFile } from '../../../src/core/classifier/parse/socket-file.ts';
import { parseSockets } from '../../../src/core/classifier/parse/sockets.ts';
import {
  formatEndpoint,
  isLocalEndpoint,
  parseFpmListen,
  parseNginxTarget,
  sameEndpoint,
} from '../../../src/core/classifier/upstream-address.ts';
import { CAPTURE, log, NOW, output } from './fixtures.ts';

const T = CAPTURE.dir;
const at = (iso: string): number => Date.parse(iso);

describe('nginx error log', () => {
  it('reads time (host local), level, errno and the upstream of a (2: No such file) line', () => {
    const [e] = parseNginxErrorLog(log('fpm-stopped.error.log'), 0);
    expect(e).toMatchObject({
      level: 'crit',
      errno: 2,
      scheme: 'fastcgi',
      upstream: `fastcgi://unix:${T}/php8.2-fpm.sock:`,
      endpoint: { kind: 'unix', path: `${T}/php8.2-fpm.sock` },
    });
    expect(e?.message).toMatch(/^connect\(\) to unix:\S+ failed \(2: No such file or directory\) while connecting to upstream$/);
    const local = parseNginxErrorLog(log('fpm-stopped.error.log'), 120)[0];
    expect((e?.at ?? 0) - (local?.at ?? 0)).toBe(2 * 3_600_000);
  });

  it('keeps a multi-line FastCGI stderr entry as one entry, and does not count it as an upstream failure', () => {
    const entries = parseNginxErrorLog(log('php-fatal.error.log'), 0);
    expect(entries.map((e) => e.level)).toEqual(['error', 'info']);
    expect(entries[0]?.text.split('\n')).toHaveLength(4);
    expect(entries[0]?.upstream).toBe(`fastcgi://unix:${T}/php8.2-fpm.sock:`);
    expect(isUpstreamFailure(entries[0] as never)).toBe(false);
  });

  it('reads http:// upstreams and upstream-group names', () => {
    const entries = parseNginxErrorLog(log('proxy-group.error.log'), 0).filter((e) => e.level === 'error');
    expect(entries.map((e) => e.endpoint)).toEqual([
      { kind: 'tcp', host: '127.0.0.1', port: CAPTURE.closedPort },
      { kind: 'tcp', host: '127.0.0.1', port: expect.any(Number) },
      { kind: 'name', name: 'app_group' },
      { kind: 'name', name: 'app_group' },
    ]);
  });
});

describe('other outputs', () => {
  it('access log: status and time with its own offset', () => {
    const [first] = parseNginxAccessLog(log('killed.access.log'));
    expect(first?.status).toBe(502);
    expect(first?.request).toBe('GET /killed/ HTTP/1.1');
    expect(typeof first?.at).toBe('number');
    expect(parseNginxAccessLog('203.0.113.9 - - [23/Nov/2026:23:08:40 +0100] "GET / HTTP/1.1" 504 167 "-" "x"')[0]?.at).toBe(
      at('2026-11-23T22:08:40Z'),
    );
  });

  it('access log: only the statuses asked for, however the request or agent looks', () => {
    const lines = [
      '203.0.113.9 - - [23/Nov/2026:23:08:40 +0100] "GET /a HTTP/1.1" 200 5 "-" "agent \\" 502 "',
      '203.0.113.9 - - [23/Nov/2026:23:08:41 +0100] "GET /\\" 504 x HTTP/1.1" 502 167 "-" "x"',
      '203.0.113.9 - - [23/Nov/2026:23:08:42 +0100] "GET /c HTTP/1.1" 504 0 "-" "x"',
      '203.0.113.9 - - [23/Nov/2026:23:08:43 +0100] "GET /d HTTP/1.1" 404 0 "-" "x"',
    ].join('\n');
    const all = parseNginxAccessLog(lines).map((a) => a.status);
    expect(parseNginxAccessLog(lines, [502, 504]).map((a) => a.status)).toEqual(all.filter((s) => s === 502 || s === 504));
    expect(all.filter((s) => s === 502 || s === 504)).toHaveLength(2);
  });

  it('php-fpm log: max_children, signals and request_terminate_timeout kills', () => {
    const events = parseFpmLog(log('php-fpm.log'), 0, NOW.getTime()).map((e) => e.event.kind);
    expect(events.filter((k) => k === 'signal')).toHaveLength(3);
    expect(events.filter((k) => k === 'max_children')).toHaveLength(1);
    const terminated = parseFpmLog(
      `[23-Nov-2026 23:08:40] WARNING: [pool www] child 812, script '/var/www/index.php' (request: "GET /index.php") execution timed out (30.012 sec), terminating`,
      0,
      NOW.getTime(),
    );
    expect(terminated[0]?.event).toEqual({ kind: 'terminated', pool: 'www', child: 812 });
    const ondemand = parseFpmLog(
      '[23-Nov-2026 23:08:40] WARNING: [pool www] server reached max_children setting (5), consider raising it',
      0,
      NOW.getTime(),
    );
    expect(ondemand[0]?.event).toEqual({ kind: 'max_children', pool: 'www', maxChildren: 5 });
  });

  it.each([
    ['recorded-oom-dmesg-iso.log', '2026-11-23T23:08:05.118Z'],
    ['recorded-oom-journalctl-short-iso.log', '2026-11-23T23:08:05.000Z'],
    ['recorded-oom-kern-syslog.log', '2026-11-23T23:08:05.000Z'],
  ])('kernel log %s: the victim and its time', (file, time) => {
    const victim = parseKernelLog(log(file), NOW.getTime(), 0).find((k) => /^Out of memory/.test(k.message));
    expect(victim?.victim).toEqual({ pid: 31117, process: 'php-fpm8.2' });
    expect(new Date(victim?.at ?? 0).toISOString()).toBe(time);
  });

  it('kernel log: a classic syslog line from December read in January belongs to last year; uptime-only lines have no time', () => {
    const jan = at('2027-01-02T00:00:00Z');
    expect(new Date(parseKernelLog('Dec 31 23:59:00 web-01 kernel: x', jan, 0)[0]?.at ?? 0).toISOString()).toBe('2026-12-31T23:59:00.000Z');
    const uptimeOnly = parseKernelLog('[ 9123.118990] Out of memory: Killed process 31117 (php-fpm8.2)', jan, 0)[0];
    expect(uptimeOnly?.victim).toEqual({ pid: 31117, process: 'php-fpm8.2' });
    expect(uptimeOnly?.at).toBeUndefined();
    expect(
      parseKernelLog(output('dmesg-iso-no-oom.txt'), NOW.getTime(), 0).filter((k) => k.victim !== undefined || k.at === undefined),
    ).toEqual([]);
  });

  it('ss: Recv-Q of listening unix sockets is the accept queue', () => {
    const small = parseSockets(output('ss-busy.txt')).find((s) => s.local.endsWith('/small.sock'));
    expect(small).toMatchObject({ netid: 'u_str', recvQ: 6, sendQ: 4096, endpoint: { kind: 'unix', path: `${T}/small.sock` } });
    const tcp = parseSockets(output('ss-running.txt')).find((s) => s.endpoint?.kind === 'tcp' && s.endpoint.port === CAPTURE.fpmTcpPort);
    expect(tcp?.endpoint).toEqual({ kind: 'tcp', host: '127.0.0.1', port: CAPTURE.fpmTcpPort });
    expect(parseSockets('tcp LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*')[0]?.endpoint).toEqual({
      kind: 'tcp',
      host: '127.0.0.53',
      port: 53,
    });
  });

  it('stat: owner and mode, and "No such file" on stderr', () => {
    expect(parseSocketFile(output('stat-socket-permission.stdout'), '')).toEqual([
      {
        path: `${T}/perm.sock`,
        type: 'socket',
        owner: 'root',
        group: 'root',
        mode: '600',
        missing: false,
        line: `${T}/perm.sock|socket|root|root|600`,
      },
    ]);
    expect(parseSocketFile('', output('stat-socket-missing.stderr'))[0]).toMatchObject({ path: `${T}/php7.4-fpm.sock`, missing: true });
    expect(parseSocketFile('', "stat: cannot stat '/run/php/x.sock': Permission denied")[0]).toMatchObject({
      missing: false,
      error: 'Permission denied',
    });
  });

  it('fpm status page: plain text and ?json; anything else is not a status page', () => {
    expect(parseFpmStatus(output('fpm-status-busy.txt'))).toMatchObject({
      pool: 'small',
      listenQueue: 0,
      maxChildrenReached: 1,
      activeProcesses: 1,
    });
    expect(parseFpmStatus('{"pool":"www","listen queue":3,"max children reached":7}')).toMatchObject({
      pool: 'www',
      listenQueue: 3,
      maxChildrenReached: 7,
    });
    // ?full: the pool's own fields, not those of the processes listed after it (each has its own `start since`).
    const full = parseFpmStatus(output('fpm-status-full.txt'));
    expect(full).toMatchObject({ pool: 'www', startSince: 14, activeProcesses: 1, totalProcesses: 2 });
    expect(full?.lines['start since']).toBe('start since:          14');
    expect(full?.lines['pid']).toBeUndefined();
    expect(parseFpmStatus('File not found.\n')).toBeUndefined();
    expect(parseFpmStatus('<html><head><title>502 Bad Gateway</title></head></html>')).toBeUndefined();
  });

  it('http probe: code, time and curl error', () => {
    expect(parseHttpProbe(output('http-probe-timeout.stdout'), '')).toMatchObject({ code: 504 });
    expect(parseHttpProbe(output('http-probe-refused.stdout'), output('http-probe-refused.stderr'))).toMatchObject({
      code: 0,
      error: expect.stringMatching(/^curl: \(7\) Failed to connect/),
    });
    expect(parseHttpProbe('', 'curl: (6) Could not resolve host')).toBeUndefined();
  });

  it('meminfo and systemctl status', () => {
    const m = parseMeminfo(output('meminfo.txt'));
    expect(m.totalBytes).toBeGreaterThan(0);
    expect(m.lines.MemTotal).toMatch(/^MemTotal:\s+\d+ kB$/);
    expect(parseFpmService(output('recorded-systemctl-status-failed-oom.txt'), '')).toMatchObject({
      unit: 'php8.2-fpm.service',
      active: 'failed',
      result: 'oom-kill',
    });
    expect(parseFpmService(output('recorded-systemctl-status-active.txt'), '')).toMatchObject({ active: 'active', sub: 'running' });
    expect(parseFpmService('', output('recorded-systemctl-status-not-found.stderr'))).toMatchObject({
      notFound: true,
      unit: 'php8.2-fpm.service',
    });
  });
});

describe('where nginx connects vs where php-fpm listens', () => {
  const nginx = (t: string) => parseNginxTarget(t) as NonNullable<ReturnType<typeof parseNginxTarget>>;
  const fpm = (l: string) => parseFpmListen(l) as NonNullable<ReturnType<typeof parseFpmListen>>;

  it.each([
    ['unix:/run/php/php8.2-fpm.sock', '/run/php/php8.2-fpm.sock', true],
    ['fastcgi://unix:/run/php/php8.2-fpm.sock:', '/run/php/php8.2-fpm.sock', true],
    ['unix:/run/php/php7.4-fpm.sock', '/run/php/php8.2-fpm.sock', false],
    // The kernel collapses repeated slashes: these name the same socket.
    ['unix:/run/php//php8.2-fpm.sock', '/run/php/php8.2-fpm.sock', true],
    ['unix:///var/run/php-fpm.sock', '/var/run/php-fpm.sock', true],
    ['uwsgi://unix:////var/run/uwsgi.sock:', '/var/run/uwsgi.sock', true],
    ['fastcgi://unix:///var/run/php-fpm.sock:', '/var/run//php-fpm.sock', true],
    ['127.0.0.1:9000', '9000', true],
    ['127.0.0.1:9000', '127.0.0.1:9000', true],
    ['localhost:9000', '127.0.0.1:9000', true],
    ['127.0.0.1:9000', '0.0.0.0:9000', true],
    ['[::1]:9000', '[::]:9000', true],
    ['127.0.0.1:9001', '9000', false],
    ['127.0.0.1:9000', '/run/php/php8.2-fpm.sock', false],
    ['unix:/run/php/php8.2-fpm.sock', '127.0.0.1:9000', false],
    ['10.0.0.5:9000', '127.0.0.1:9000', false],
  ])('fastcgi_pass %s vs listen = %s → %s', (target, listen, same) => {
    expect(sameEndpoint(nginx(target), fpm(listen))).toBe(same);
  });

  it('a private address is only local when a pool listens on it', () => {
    expect(isLocalEndpoint(nginx('10.0.0.5:9000'), [fpm('/run/php/x.sock')])).toBe(false);
    expect(isLocalEndpoint(nginx('10.0.0.5:9000'), [fpm('10.0.0.5:9001')])).toBe(true);
    expect(isLocalEndpoint(nginx('127.0.0.1:9000'), [])).toBe(true);
    expect(nginx('php_backend')).toEqual({ kind: 'name', name: 'php_backend' });
    expect(formatEndpoint(nginx('http://[::1]:3000/api'))).toBe('[::1]:3000');
  });
});
