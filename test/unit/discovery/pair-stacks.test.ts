import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { discover } from '../../../src/core/discovery/discover.ts';
import { listensAt, pairStacks } from '../../../src/core/discovery/pair-stacks.ts';
import type { FpmPool, NginxUpstreamRef } from '../../../src/core/discovery/host-picture.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/discovery/${name}`, import.meta.url), 'utf8');
const pass = (target: string, kind: NginxUpstreamRef['kind'] = 'fastcgi'): NginxUpstreamRef => ({ kind, target, line: `${kind}_pass ${target};` });
const pool = (listen: string): FpmPool => ({ name: 'www', listen, lines: {} });

describe('listensAt', () => {
  it.each([
    ['/run/php/php8.2-fpm.sock', 'unix:/run/php/php8.2-fpm.sock', true],
    ['/run/php/php8.2-fpm.sock', 'unix:/run/php/php7.4-fpm.sock', false],
    ['127.0.0.1:9000', '127.0.0.1:9000', true],
    ['9000', '127.0.0.1:9000', true],
    ['0.0.0.0:9000', 'localhost:9000', true],
    ['127.0.0.1:9001', '127.0.0.1:9000', false],
    ['10.0.0.5:9000', '127.0.0.1:9000', false],
    ['127.0.0.1:9000', 'unix:/run/php/php8.2-fpm.sock', false],
  ])('listen %s serves fastcgi_pass %s: %s', (listen, target, expected) => {
    expect(listensAt(listen, target)).toBe(expected);
  });
});

describe('pairStacks', () => {
  const fpmA = { pid: 10, conf: '/etc/php/8.2/fpm/php-fpm.conf', pools: [pool('/run/php/php8.2-fpm.sock')] };
  const fpmB = { pid: 20, conf: '/srv/b/php-fpm.conf', pools: [pool('127.0.0.1:9100')] };

  it('pairs each nginx with the php-fpm listening where it points, whatever the ps order', () => {
    const nginxA = { pid: 11, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/php/php8.2-fpm.sock'), pass('http://127.0.0.1:3000', 'proxy')] };
    const nginxB = { pid: 21, conf: '/srv/b/nginx.conf', upstreams: [pass('127.0.0.1:9100')] };
    for (const fpm of [[fpmA, fpmB], [fpmB, fpmA]]) {
      expect(pairStacks([nginxB, nginxA], fpm)).toEqual([
        { nginxPid: 21, fpmPid: 20, label: 'nginx /srv/b/nginx.conf + php-fpm /srv/b/php-fpm.conf' },
        { nginxPid: 11, fpmPid: 10, label: 'nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf' },
      ]);
    }
  });

  it("never lends another stack's php-fpm to an nginx that no running php-fpm listens for", () => {
    const orphan = { pid: 31, conf: '/srv/c/nginx.conf', upstreams: [pass('unix:/srv/c/php-fpm.sock')] };
    expect(pairStacks([orphan], [fpmA, fpmB])).toEqual([{ nginxPid: 31, fpmPid: null, label: 'nginx /srv/c/nginx.conf' }]);
  });
});

describe('discover with a stack selected', () => {
  const ps: CheckResult = { id: 'processes', parse: 'processes', command: 'ps', status: 'ok', exitCode: 0, stdout: fixture('ps-debian.txt') + fixture('ps-second-stack.txt'), stderr: '', truncated: false, durationMs: 1 };
  const units: CheckResult = { ...ps, id: 'unit_pids', parse: 'unit_pids', stdout: 'MainPID=18210\nId=php8.2-fpm.service\n\nMainPID=18214\nId=nginx.service\n\nMainPID=0\nId=php7.4-fpm.service\n' };
  const listed: CheckResult = { ...ps, id: 'units', parse: 'units', stdout: 'php7.4-fpm.service loaded inactive dead x\nphp8.2-fpm.service loaded active running x\nnginx.service loaded active running x\n' };

  it('uses only the selected masters, and a unit only when systemd names that master its MainPID', () => {
    const second = discover([ps, units, listed], {}, { nginxPid: 16959, fpmPid: 16951 });
    expect(second.facts.nginx).toMatchObject({ pid: 16959, conf: '/srv/other/nginx.conf', prefix: '/srv/other' });
    expect(second.facts.fpm).toMatchObject({ pid: 16951, conf: '/srv/other/php-fpm.conf' });
    expect(second.facts.fpm?.unit).toBeUndefined();
    expect(second.picture.fpm.workers.map((w) => w.pid)).toEqual([16952]);
    const first = discover([ps, units, listed], {}, { nginxPid: 18214, fpmPid: 18210 });
    expect(first.facts.fpm?.unit).toBe('php8.2-fpm.service');
    expect(first.facts.nginx?.unit).toBe('nginx.service');
  });

  it('a stack without php-fpm of its own has none, though another runs', () => {
    const d = discover([ps, units, listed], {}, { nginxPid: 16959, fpmPid: null });
    expect(d.picture.fpm.running).toBe(false);
    expect(d.facts.fpm?.pid).toBeUndefined();
    expect(d.facts.fpm?.unit).toBeUndefined();
  });
});
