import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { discover } from '../../../src/core/discovery/discover.ts';
import { parseSockets } from '../../../src/core/classifier/parse/sockets.ts';
import { listensAt, pairStacks, type Listener, type Stack } from '../../../src/core/discovery/pair-stacks.ts';
import { startCommandConf, stackFacts } from '../../../src/core/discovery/stack-facts.ts';
import { selectStacks } from '../../../src/core/discovery/select-stacks.ts';
import type { MasterProcess } from '../../../src/core/discovery/host-picture.ts';
import type { Facts } from '../../../src/core/facts.ts';
import { stackRemediationProblem } from '../../../src/core/remediation/stack-remediations.ts';
import type { FpmPool, NginxUpstreamRef } from '../../../src/core/discovery/host-picture.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/discovery/${name}`, import.meta.url), 'utf8');
const pass = (target: string, kind: NginxUpstreamRef['kind'] = 'fastcgi'): NginxUpstreamRef => ({
  kind,
  target,
  line: `${kind}_pass ${target};`,
});
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
  const pick = (s: Stack): Partial<Stack> => ({ key: s.key, nginxPid: s.nginxPid, fpmPid: s.fpmPid, fpmPids: s.fpmPids, label: s.label });

  it('pairs each nginx with the php-fpm listening where it points, whatever the ps order', () => {
    const nginxA = {
      pid: 11,
      conf: '/etc/nginx/nginx.conf',
      upstreams: [pass('unix:/run/php/php8.2-fpm.sock'), pass('http://127.0.0.1:3000', 'proxy')],
    };
    const nginxB = { pid: 21, conf: '/srv/b/nginx.conf', upstreams: [pass('127.0.0.1:9100')] };
    for (const fpm of [
      [fpmA, fpmB],
      [fpmB, fpmA],
    ]) {
      expect(pairStacks([nginxB, nginxA], fpm).map(pick)).toEqual([
        {
          key: '/srv/b/nginx.conf',
          nginxPid: 21,
          fpmPid: 20,
          fpmPids: [20],
          label: 'nginx /srv/b/nginx.conf + php-fpm /srv/b/php-fpm.conf',
        },
        {
          key: '/etc/nginx/nginx.conf',
          nginxPid: 11,
          fpmPid: 10,
          fpmPids: [10],
          label: 'nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf',
        },
      ]);
    }
  });

  it("never lends another stack's php-fpm to an nginx that no running php-fpm listens for", () => {
    const orphan = { pid: 31, conf: '/srv/c/nginx.conf', upstreams: [pass('unix:/srv/c/php-fpm.sock')] };
    expect(pairStacks([orphan], [fpmA, fpmB]).map(pick)).toEqual([
      { key: '/srv/c/nginx.conf', nginxPid: 31, fpmPid: null, fpmPids: [], label: 'nginx /srv/c/nginx.conf' },
    ]);
  });

  it('one nginx and a stray second php-fpm: the stack is the nginx and the one master whose pool it reaches', () => {
    const nginx = { pid: 11, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/php/php8.2-fpm.sock')] };
    const [stack] = pairStacks([nginx], [fpmB, fpmA]);
    expect(stack).toMatchObject({ fpmPid: 10, fpmPids: [10], fpmConf: '/etc/php/8.2/fpm/php-fpm.conf' });
    expect(stack?.ambiguous).toBeUndefined();
    expect(stackRemediationProblem('reload_php_fpm', stack as Stack)).toBeNull();
    expect(stackRemediationProblem('restart_php_fpm', stack as Stack)).toBeNull();
  });

  it('an nginx passing to pools of two php-fpm masters: "its php-fpm" is ambiguous, reloading nginx is not', () => {
    const nginx = { pid: 11, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/php/php8.2-fpm.sock'), pass('127.0.0.1:9100')] };
    const [stack] = pairStacks([nginx], [fpmA, fpmB]);
    expect(stack).toMatchObject({
      fpmPid: null,
      fpmPids: [10, 20],
      label: 'nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf + php-fpm /srv/b/php-fpm.conf',
    });
    expect(stackRemediationProblem('reload_php_fpm', stack as Stack)).toMatch(/passes requests to 2 php-fpm masters \(pids 10, 20\)/);
    expect(stackRemediationProblem('reload_nginx', stack as Stack)).toBeNull();
  });

  it('two nginx masters with one config: no request can name either, so nothing acts on them', () => {
    const a = { pid: 11, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/php/php8.2-fpm.sock')] };
    const b = { ...a, pid: 12 };
    const stacks = pairStacks([a, b], [fpmA]);
    expect(stacks.map((s) => s.ambiguous)).toEqual([
      expect.stringMatching(/^2 nginx masters run with \/etc\/nginx\/nginx\.conf/),
      expect.any(String),
    ]);
    expect(stackRemediationProblem('reload_nginx', stacks[0] as Stack)).toMatch(/2 nginx masters/);
  });

  it('pairs proxy_pass, uwsgi_pass and grpc_pass targets with the process listening there, and never with a look-alike port elsewhere', () => {
    const listeners: Listener[] = [
      { endpoint: { kind: 'tcp', host: '127.0.0.1', port: 3000 }, process: { name: 'node', pid: 500 } },
      { endpoint: { kind: 'unix', path: '/run/uwsgi/app.sock' }, process: { name: 'uwsgi', pid: 600 } },
      { endpoint: { kind: 'tcp', port: 50051 }, process: { name: 'grpc-server', pid: 700 } },
      { endpoint: { kind: 'tcp', port: 8080 }, process: { name: 'java', pid: 800 } },
      { endpoint: { kind: 'unix', path: '/run/php/php8.2-fpm.sock' }, process: { name: 'php-fpm8.2', pid: 10 } },
    ];
    const api = {
      pid: 11,
      conf: '/srv/api/nginx.conf',
      upstreams: [
        pass('http://127.0.0.1:3000/api/', 'proxy'),
        pass('unix:/run/uwsgi/app.sock', 'uwsgi'),
        pass('grpc://127.0.0.1:50051', 'grpc'),
        pass('http://10.0.0.5:8080', 'proxy'),
        pass('http://127.0.0.1:4000', 'proxy'),
        pass('http://$backend', 'proxy'),
      ],
    };
    const php = { pid: 21, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/php/php8.2-fpm.sock')] };
    const [apiStack, phpStack] = pairStacks([api, php], [fpmA], listeners);
    expect(apiStack?.fpmPids).toEqual([]);
    expect(apiStack?.backends).toEqual([
      {
        kind: 'proxy',
        target: 'http://127.0.0.1:3000/api/',
        address: '127.0.0.1:3000',
        listening: true,
        process: { name: 'node', pid: 500 },
      },
      {
        kind: 'uwsgi',
        target: 'unix:/run/uwsgi/app.sock',
        address: 'unix:/run/uwsgi/app.sock',
        listening: true,
        process: { name: 'uwsgi', pid: 600 },
      },
      {
        kind: 'grpc',
        target: 'grpc://127.0.0.1:50051',
        address: '127.0.0.1:50051',
        listening: true,
        process: { name: 'grpc-server', pid: 700 },
      },
      // Another machine's port: whatever listens on *:8080 here is not it.
      { kind: 'proxy', target: 'http://10.0.0.5:8080', address: '10.0.0.5:8080' },
      { kind: 'proxy', target: 'http://127.0.0.1:4000', address: '127.0.0.1:4000', listening: false },
      { kind: 'proxy', target: 'http://$backend' },
    ]);
    expect(apiStack?.label).toBe(
      'nginx /srv/api/nginx.conf + node at 127.0.0.1:3000 + uwsgi at unix:/run/uwsgi/app.sock + grpc-server at 127.0.0.1:50051',
    );
    // The php stack's socket is its php-fpm's pool, not a backend; it gets none of the other's.
    expect(phpStack).toMatchObject({
      fpmPid: 10,
      backends: [],
      label: 'nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf',
    });
  });

  it("pairs with what a real `ss -H -l -n -x -t -p` names: the lab's php-fpm socket is its pool, the Node port a backend with its pid", () => {
    const listeners: Listener[] = parseSockets(
      readFileSync(new URL('../../fixtures/field/ss-processes.txt', import.meta.url), 'utf8'),
    ).flatMap((l) =>
      l.endpoint === undefined ? [] : [{ endpoint: l.endpoint, ...(l.process === undefined ? {} : { process: l.process }) }],
    );
    const nginx = {
      pid: 14990,
      conf: '/tmp/medic-lab-IbmfxX/nginx/nginx.conf',
      upstreams: [pass('unix:/tmp/medic-lab-IbmfxX/run/php8.2-fpm.sock'), pass('http://127.0.0.1:42603', 'proxy')],
    };
    const fpm = { pid: 14991, conf: '/tmp/medic-lab-IbmfxX/php/php-fpm.conf', pools: [pool('/tmp/medic-lab-IbmfxX/run/php8.2-fpm.sock')] };
    const [stack] = pairStacks([nginx], [fpm], listeners);
    expect(stack?.fpmPid).toBe(14991);
    expect(stack?.backends).toEqual([
      {
        kind: 'proxy',
        target: 'http://127.0.0.1:42603',
        address: '127.0.0.1:42603',
        listening: true,
        process: { name: 'node', pid: 14292 },
      },
    ]);
    expect(stack?.label).toBe(
      'nginx /tmp/medic-lab-IbmfxX/nginx/nginx.conf + php-fpm /tmp/medic-lab-IbmfxX/php/php-fpm.conf + node at 127.0.0.1:42603',
    );
  });

  it('a fastcgi_pass no php-fpm pool serves is a backend (php-cgi, fcgiwrap), with what listens there', () => {
    const listeners: Listener[] = [{ endpoint: { kind: 'unix', path: '/run/fcgiwrap.socket' }, process: { name: 'fcgiwrap', pid: 900 } }];
    const [stack] = pairStacks(
      [{ pid: 11, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/fcgiwrap.socket')] }],
      [fpmA],
      listeners,
    );
    expect(stack).toMatchObject({
      fpmPid: null,
      backends: [{ kind: 'fastcgi', listening: true, process: { name: 'fcgiwrap', pid: 900 } }],
    });
  });
});

describe('selectStacks: a pin of one side selects the stack that holds it', () => {
  const master = (kind: 'nginx' | 'fpm', pid: number, conf: string): MasterProcess => ({ kind, pid, user: 'root', conf });
  const trusted = {
    nginx: [master('nginx', 11, '/etc/nginx/nginx.conf'), master('nginx', 21, '/srv/b/nginx.conf')],
    fpm: [master('fpm', 20, '/srv/b/php-fpm.conf'), master('fpm', 30, '/srv/stray/php-fpm.conf')],
  };
  const stacks = pairStacks(
    [
      { pid: 11, conf: '/etc/nginx/nginx.conf', upstreams: [pass('unix:/run/php/php8.2-fpm.sock')] },
      { pid: 21, conf: '/srv/b/nginx.conf', upstreams: [pass('127.0.0.1:9100')] },
    ],
    [
      { pid: 20, conf: '/srv/b/php-fpm.conf', pools: [pool('127.0.0.1:9100')] },
      { pid: 30, conf: '/srv/stray/php-fpm.conf', pools: [pool('/run/php/stray.sock')] },
    ],
  );
  const keys = (list: Stack[]): string[] => list.map((s) => s.key);

  it('nginx.conf alone: that nginx, with the php-fpm it reaches', () => {
    expect(keys(selectStacks(stacks, trusted, { nginx: { conf: '/srv/b/nginx.conf' } }))).toEqual(['/srv/b/nginx.conf']);
  });

  it('fpm.conf alone: the nginx that reaches that running php-fpm; a stray php-fpm pinned selects nothing, so every stack is shown', () => {
    expect(keys(selectStacks(stacks, trusted, { fpm: { conf: '/srv/b/php-fpm.conf' } }))).toEqual(['/srv/b/nginx.conf']);
    expect(keys(selectStacks(stacks, trusted, { fpm: { conf: '/srv/stray/php-fpm.conf' } }))).toEqual([
      '/etc/nginx/nginx.conf',
      '/srv/b/nginx.conf',
    ]);
  });

  it("fpm.conf of a php-fpm that is down: the nginx reaching the pools its config declares, with that config as the stack's php-fpm", () => {
    const [selected, ...rest] = selectStacks(stacks, trusted, { fpm: { conf: '/etc/php/8.2/fpm/php-fpm.conf' } }, [
      pool('/run/php/php8.2-fpm.sock'),
    ]);
    expect(rest).toEqual([]);
    expect(selected).toMatchObject({
      key: '/etc/nginx/nginx.conf',
      fpmPid: null,
      fpmConf: '/etc/php/8.2/fpm/php-fpm.conf',
      label: 'nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf (not running)',
    });
    expect(stackRemediationProblem('start_php_fpm', selected as Stack)).toBeNull();
  });
});

describe('stackFacts: the inventory facts that hold for one stack', () => {
  const inventory: Facts = {
    systemd: false,
    nginx: { conf: '/etc/nginx/nginx.conf', errorLog: '/var/log/nginx/error.log', masterUser: 'www' },
    fpm: {
      binary: '/usr/sbin/php-fpm8.2',
      unit: 'php8.2-fpm.service',
      startCommand: ['/usr/sbin/php-fpm8.2', '--fpm-config', '/etc/php/8.2/fpm/php-fpm.conf'],
    },
    site: { probeUrl: 'http://127.0.0.1/' },
    kernel: { log: '/var/log/kern.log' },
  };

  it("a pinned side's facts hold for the stack that holds it, not for another", () => {
    const own = stackFacts(
      inventory,
      { nginxConf: '/etc/nginx/nginx.conf', fpmConf: '/etc/php/8.2/fpm/php-fpm.conf', fpmPid: 10 },
      { nginx: 2, fpm: 2 },
    );
    expect(own.nginx).toEqual(inventory.nginx);
    expect(own.site).toEqual(inventory.site);
    const other = stackFacts(
      inventory,
      { nginxConf: '/srv/b/nginx.conf', fpmConf: '/srv/b/php-fpm.conf', fpmPid: 20 },
      { nginx: 2, fpm: 2 },
    );
    expect(other).toEqual({ systemd: false, kernel: { log: '/var/log/kern.log' }, nginx: { masterUser: 'www' } });
  });

  it('an unpinned php-fpm side: the start command (and its binary) only for the stack whose running config it names; the unit never', () => {
    expect(stackFacts(inventory, { fpmConf: '/etc/php/8.2/fpm/php-fpm.conf', fpmPid: 10 }, { nginx: 1, fpm: 2 }).fpm).toEqual({
      startCommand: ['/usr/sbin/php-fpm8.2', '--fpm-config', '/etc/php/8.2/fpm/php-fpm.conf'],
      binary: '/usr/sbin/php-fpm8.2',
    });
    expect(stackFacts(inventory, { fpmConf: '/srv/b/php-fpm.conf', fpmPid: 20 }, { nginx: 1, fpm: 2 }).fpm).toBeUndefined();
    // No php-fpm of the stack runs: nothing says which one the command would start for it.
    expect(stackFacts(inventory, { fpmPid: null }, { nginx: 2, fpm: 1 }).fpm).toBeUndefined();
    // A pinned config of another php-fpm (one that is down) never holds for the host's only running one.
    const other: Facts = { ...inventory, fpm: { ...inventory.fpm, conf: '/srv/b/php-fpm.conf' } };
    expect(stackFacts(other, { fpmConf: '/etc/php/8.2/fpm/php-fpm.conf', fpmPid: 10 }, { nginx: 1, fpm: 1 }).fpm).toEqual({
      startCommand: ['/usr/sbin/php-fpm8.2', '--fpm-config', '/etc/php/8.2/fpm/php-fpm.conf'],
      binary: '/usr/sbin/php-fpm8.2',
    });
    expect(
      stackFacts({ nginx: { conf: '/srv/b/nginx.conf' } }, { nginxConf: '/etc/nginx/nginx.conf', fpmPid: null }, { nginx: 1, fpm: 0 })
        .nginx,
    ).toBeUndefined();
    // ... unless the inventory pins its config, which selected this stack: then the pinned facts are its own.
    const pinned: Facts = { ...inventory, fpm: { ...inventory.fpm, conf: '/srv/b/php-fpm.conf' } };
    expect(stackFacts(pinned, { fpmPid: null, fpmConf: '/srv/b/php-fpm.conf' }, { nginx: 2, fpm: 1 }).fpm).toEqual(pinned.fpm);
    // The host's one php-fpm is this stack's: all its facts hold.
    expect(stackFacts(inventory, { fpmConf: '/etc/php/8.2/fpm/php-fpm.conf', fpmPid: 10 }, { nginx: 2, fpm: 1 }).fpm).toEqual(
      inventory.fpm,
    );
  });

  it('reads the config a start command names', () => {
    expect(startCommandConf(['/usr/sbin/php-fpm8.2', '-R', '-y', '/x/php-fpm.conf'])).toBe('/x/php-fpm.conf');
    expect(startCommandConf(['/usr/sbin/php-fpm8.2'])).toBeUndefined();
  });
});

describe('stackRemediationProblem', () => {
  it('starting a php-fpm that does not run on a host with several stacks needs the inventory to say which', () => {
    expect(stackRemediationProblem('start_php_fpm', { fpmPid: null, fpmPids: [] })).toMatch(/pin it in the inventory/);
    // The inventory pinned the php-fpm config whose pools this stack's nginx reaches.
    expect(stackRemediationProblem('start_php_fpm', { fpmPid: null, fpmPids: [], fpmConf: '/srv/b/php-fpm.conf' })).toBeNull();
    expect(stackRemediationProblem('reload_nginx', { fpmPid: null, fpmPids: [] })).toBeNull();
  });
});

describe('discover with a stack selected', () => {
  const ps: CheckResult = {
    id: 'processes',
    parse: 'processes',
    command: 'ps',
    status: 'ok',
    exitCode: 0,
    stdout: fixture('ps-debian.txt') + fixture('ps-second-stack.txt'),
    stderr: '',
    truncated: false,
    durationMs: 1,
  };
  const units: CheckResult = {
    ...ps,
    id: 'unit_pids',
    parse: 'unit_pids',
    stdout: 'MainPID=18210\nId=php8.2-fpm.service\n\nMainPID=18214\nId=nginx.service\n\nMainPID=0\nId=php7.4-fpm.service\n',
  };
  const listed: CheckResult = {
    ...ps,
    id: 'units',
    parse: 'units',
    stdout:
      'php7.4-fpm.service loaded inactive dead x\nphp8.2-fpm.service loaded active running x\nnginx.service loaded active running x\n',
  };

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
