import { readFileSync } from 'node:fs';
import type { CheckResult, ParserKind } from '../../../src/core/check-result.ts';
import { classify, type Classification } from '../../../src/core/classifier/classify.ts';
import { emptyPicture, type FpmPool, type HostPicture } from '../../../src/core/discovery/host-picture.ts';

/**
 * The classifier's tests read real captured output (test/fixtures/logs/README.md) and build the
 * host picture that matches the capture: its temp dir, ports and configs.
 */

const FIXTURES = new URL('../../fixtures/', import.meta.url);

export const readFixture = (path: string): string => readFileSync(new URL(path, FIXTURES), 'utf8');
export const log = (name: string): string => readFixture(`logs/${name}`);
export const output = (name: string): string => readFixture(`outputs/${name}`);

export const CAPTURE = JSON.parse(output('capture.json')) as {
  dir: string;
  httpPort: number;
  fpmTcpPort: number;
  closedPort: number;
  slowHttpPort: number;
  resetHttpPort: number;
  closeHttpPort: number;
  garbageHttpPort: number;
  capturedAt: string;
};
const T = CAPTURE.dir;

/** A minute after the capture: every captured line is current in a 15 min window. */
export const NOW = new Date(Date.parse(CAPTURE.capturedAt) + 60_000);
export const THREE_DAYS_LATER = new Date(NOW.getTime() + 3 * 86_400_000);
export const WINDOW = 15 * 60_000;

export function result(parse: ParserKind, stdout: string, extra: Partial<CheckResult> = {}): CheckResult {
  return {
    id: extra.id ?? parse,
    parse,
    command: `<${parse}>`,
    status: 'ok',
    exitCode: 0,
    stdout,
    stderr: '',
    truncated: false,
    durationMs: 5,
    ...extra,
  };
}

export const failed = (parse: ParserKind, stderr: string, exitCode: number, stdout = ''): CheckResult =>
  result(parse, stdout, { status: 'failed', exitCode, stderr });

const pool = (name: string, settings: Record<string, string>): FpmPool => {
  const p: FpmPool = { name, file: `${T}/php-fpm.conf`, lines: {} };
  for (const [k, v] of Object.entries(settings)) p.lines[k] = `${k} = ${v}`;
  if (settings.listen !== undefined) p.listen = settings.listen;
  if (settings['listen.owner'] !== undefined) p.listenOwner = settings['listen.owner'];
  if (settings['listen.group'] !== undefined) p.listenGroup = settings['listen.group'];
  if (settings['listen.mode'] !== undefined) p.listenMode = settings['listen.mode'];
  if (settings.pm !== undefined) p.pm = settings.pm;
  if (settings['pm.max_children'] !== undefined) p.maxChildren = Number(settings['pm.max_children']);
  if (settings['php_admin_value[memory_limit]'] !== undefined) p.memoryLimit = settings['php_admin_value[memory_limit]'];
  return p;
};

/** The pools of the capture's php-fpm.conf. */
export const POOLS = {
  www: () =>
    pool('www', {
      user: 'nobody',
      listen: `${T}/php8.2-fpm.sock`,
      'listen.owner': 'nobody',
      'listen.group': 'nogroup',
      'listen.mode': '0660',
      pm: 'dynamic',
      'pm.max_children': '5',
    }),
  tcp: () => pool('tcp', { user: 'nobody', listen: `127.0.0.1:${CAPTURE.fpmTcpPort}`, pm: 'static', 'pm.max_children': '2' }),
  perm: () =>
    pool('perm', {
      user: 'nobody',
      listen: `${T}/perm.sock`,
      'listen.owner': 'root',
      'listen.group': 'root',
      'listen.mode': '0600',
      pm: 'static',
      'pm.max_children': '1',
    }),
  small: () => pool('small', { user: 'nobody', listen: `${T}/small.sock`, pm: 'dynamic', 'pm.max_children': '1' }),
  tiny: () => pool('tiny', { user: 'nobody', listen: `${T}/tiny.sock`, 'listen.backlog': '1', pm: 'static', 'pm.max_children': '1' }),
};

const pass = (kind: 'fastcgi' | 'proxy', target: string) => ({ kind, target, file: `${T}/nginx.conf`, line: `${kind}_pass ${target};` });

/** The capture's nginx.conf, its fastcgi_pass/proxy_pass targets and the directives that matter. */
export const NGINX_UPSTREAMS = {
  fpm: pass('fastcgi', `unix:${T}/php8.2-fpm.sock`),
  fpmTcp: pass('fastcgi', `127.0.0.1:${CAPTURE.fpmTcpPort}`),
  mismatchUnix: pass('fastcgi', `unix:${T}/php7.4-fpm.sock`),
  mismatchTcp: pass('fastcgi', `127.0.0.1:${CAPTURE.closedPort}`),
  permission: pass('fastcgi', `unix:${T}/perm.sock`),
  proxyRefused: pass('proxy', `http://127.0.0.1:${CAPTURE.closedPort}`),
};

const directive = (name: string, value: string, line = `${name} ${value};`) => ({ name, value, file: `${T}/nginx.conf`, line });

export const DIRECTIVES = {
  readTimeout: directive('fastcgi_read_timeout', '1s'),
  proxyReadTimeout: directive('proxy_read_timeout', '1s'),
  bufferSize: directive('fastcgi_buffer_size', '1k'),
  scriptFilename: directive(
    'fastcgi_param SCRIPT_FILENAME',
    '/srv/app/public$fastcgi_script_name',
    'fastcgi_param SCRIPT_FILENAME /srv/app/public$fastcgi_script_name;',
  ),
};

export interface PictureOptions {
  fpmRunning?: boolean;
  pools?: FpmPool[];
  upstreams?: HostPicture['nginx']['upstreams'];
  directives?: HostPicture['nginx']['directives'];
}

/** The capture's host: nginx workers as nobody, php-fpm with the given pools, 24 GiB of RAM. */
export function picture(o: PictureOptions = {}): HostPicture {
  const p = emptyPicture();
  const running = o.fpmRunning ?? true;
  p.nginx = {
    ...p.nginx,
    running: true,
    masterPid: 29570,
    workerUser: 'nobody',
    configRead: true,
    upstreams: o.upstreams ?? [NGINX_UPSTREAMS.fpm],
    directives: o.directives ?? [],
  };
  p.fpm = {
    ...p.fpm,
    running,
    configRead: true,
    conf: `${T}/php-fpm.conf`,
    errorLog: `${T}/logs/php-fpm.log`,
    pools: o.pools ?? [POOLS.www()],
    workers: running ? [{ pid: 30996, ppid: 30995, user: 'nobody', rssKb: 20_000, args: 'php-fpm: pool www' }] : [],
  };
  if (running) p.fpm.masterPid = 30995;
  p.processes = [{ pid: 29570, ppid: 1, user: 'root', rssKb: 3000, args: `nginx: master process nginx -c ${T}/nginx.conf` }];
  p.systemd = false;
  p.memTotalBytes = 24_684_096 * 1024;
  p.memAvailableBytes = 24_365_764 * 1024;
  return p;
}

/** The checks every diagnosis has: a process list (so "no master" is known), memory, and a probe. */
export function baseResults(probe: 'ok' | 'fpm-down' | 'timeout' | 'refused' | 'script-filename' | 'none' = 'ok'): CheckResult[] {
  const out = [
    result('processes', `29570 1 root 3000 nginx: master process nginx -c ${T}/nginx.conf\n`),
    result('memory', output('meminfo.txt')),
  ];
  if (probe !== 'none') {
    const exit = probe === 'refused' ? Number(output('http-probe-refused.exit').trim()) : 0;
    out.push(
      result('http_probe', output(`http-probe-${probe}.stdout`), {
        stderr: output(`http-probe-${probe}.stderr`),
        status: exit === 0 ? 'ok' : 'failed',
        exitCode: exit,
      }),
    );
  }
  return out;
}

export interface Case {
  picture?: HostPicture;
  results: CheckResult[];
  now?: Date;
  windowMs?: number;
  utcOffsetMinutes?: number;
}

export function run(c: Case): Classification {
  return classify({
    picture: c.picture ?? picture(),
    results: c.results,
    now: c.now ?? NOW,
    utcOffsetMinutes: c.utcOffsetMinutes ?? 0,
    windowMs: c.windowMs ?? WINDOW,
  });
}

/** The lines of a fixture file, as they must appear in evidence (the first line of each entry). */
export const linesOf = (text: string, pattern: RegExp): string[] => text.split('\n').filter((l) => pattern.test(l));
