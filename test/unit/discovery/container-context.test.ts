import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import {
  compareMounts,
  containerEvidence,
  containersOf,
  foreignContainer,
  parseCgroup,
  parseMountinfo,
} from '../../../src/core/discovery/container-context.ts';
import { discover } from '../../../src/core/discovery/discover.ts';
import { sortMasters } from '../../../src/core/discovery/trust-masters.ts';

// Real /proc/<pid>/cgroup and /proc/<pid>/mountinfo contents; their sources are in the fixtures' README.
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/cgroup/${name}`, import.meta.url), 'utf8');

interface Sample {
  source: string;
  expected: { runtime: string; scope: string } | undefined;
  text: string;
}

function samples(): Sample[] {
  return fixture('proc-cgroup.txt')
    .split(/\n\s*\n/)
    .filter((b) => b.trim() !== '')
    .map((block) => {
      const [at, want, ...lines] = block.trim().split('\n');
      const [runtime, scope] = (want as string).slice(2).split(' ');
      return {
        source: (at as string).slice(2),
        expected: runtime === 'none' ? undefined : { runtime: runtime as string, scope: scope as string },
        text: lines.join('\n'),
      };
    });
}

describe('/proc/<pid>/cgroup of real containers', () => {
  const all = samples();

  it('has the runtimes the fixtures promise', () => {
    const runtimes = new Set(all.map((s) => s.expected?.runtime));
    for (const r of ['docker', 'containerd', 'kubernetes', 'podman', 'lxc', 'systemd-nspawn', undefined])
      expect(runtimes.has(r), String(r)).toBe(true);
  });

  it.each(all.map((s) => [s.source, s] as const))('%s', (_, s) => {
    const lines = parseCgroup(s.text);
    // Every line of the sample parses (v1: one per hierarchy; v2: `0::path`).
    expect(lines).toHaveLength(s.text.split('\n').length);
    const found = containersOf(lines).map((c) => ({ runtime: c.runtime, scope: c.scope }));
    if (s.expected === undefined) expect(found).toEqual([]);
    else expect(found).toEqual([s.expected]);
  });

  it('a path may hold colons (containerd on cgroup v1 with the systemd driver)', () => {
    const [line] = parseCgroup(
      '10:pids:/system.slice/containerd.service/kubepods-burstable-podb96a7488_3ee1.slice:cri-containerd:6ef14b5a76df7b5d24285e3a04ccbc6f',
    );
    expect(line).toEqual({
      hierarchy: '10',
      controllers: 'pids',
      path: '/system.slice/containerd.service/kubepods-burstable-podb96a7488_3ee1.slice:cri-containerd:6ef14b5a76df7b5d24285e3a04ccbc6f',
    });
  });

  it('host services, sessions and the runtimes’ own daemons are no containers', () => {
    for (const path of [
      '/system.slice/nginx.service',
      '/system.slice/docker.service',
      '/system.slice/containerd.service',
      '/user.slice/user-1000.slice/session-2.scope',
      '/init.scope',
      '/',
      '/lxc.monitor.buster',
      '/machine.slice',
    ]) {
      expect(containersOf(parseCgroup(`0::${path}`)), path).toEqual([]);
    }
  });

  it('a container is foreign unless our own shell runs in that same container', () => {
    const docker = parseCgroup(samples()[0]?.text ?? '');
    expect(foreignContainer(docker, parseCgroup('0::/user.slice/user-1000.slice/session-2.scope'))?.runtime).toBe('docker');
    expect(foreignContainer(docker, undefined)?.runtime).toBe('docker');
    // A diagnosis from inside that container: its masters are at home.
    expect(foreignContainer(docker, docker)).toBeUndefined();
    expect(
      foreignContainer(
        parseCgroup('0::/lxc.payload.focal/system.slice/nginx.service'),
        parseCgroup('0::/lxc.payload.focal/system.slice/ssh.service'),
      ),
    ).toBeUndefined();
    expect(
      foreignContainer(
        parseCgroup('0::/lxc.payload.other/system.slice/nginx.service'),
        parseCgroup('0::/lxc.payload.focal/system.slice/ssh.service'),
      )?.scope,
    ).toBe('/lxc.payload.other');
  });

  it('ignores what is not a cgroup line', () => {
    expect(parseCgroup('cat: /proc/4242/cgroup: No such file or directory\n\n12:x\nx:y:/z\n0::relative')).toEqual([]);
  });
});

describe('/proc/<pid>/mountinfo compared with our own', () => {
  const host = parseMountinfo(fixture('host.mountinfo'));
  const privateTmp = parseMountinfo(fixture('private-tmp.mountinfo'));
  const overlay = parseMountinfo(fixture('overlay-root.mountinfo'));

  it('parses every line', () => {
    expect(host).toHaveLength(19);
    expect(host.find((m) => m.mountPoint === '/')).toMatchObject({ device: '254:0', root: '/', fsType: 'ext4' });
    expect(overlay).toEqual([{ id: '65', parent: '43', device: '0:39', root: '/', mountPoint: '/', fsType: 'overlay' }]);
  });

  it('the same namespace shares its mounts', () => {
    expect(compareMounts(host, host)).toEqual({ kind: 'same' });
  });

  it("another namespace whose / is the host's (PrivateTmp=, ProtectSystem=) is systemd sandboxing, not a container", () => {
    expect(compareMounts(host, privateTmp)).toEqual({ kind: 'sandbox' });
  });

  it('another namespace whose / is another filesystem is a container', () => {
    expect(compareMounts(host, overlay)).toEqual({ kind: 'other-root', root: 'overlay 0:39' });
    // A machine's directory bound as its root: the same disk, another directory.
    const nspawn = parseMountinfo('812 790 254:0 /var/lib/machines/buster / rw,relatime shared:400 - ext4 /dev/vda rw');
    expect(compareMounts(host, nspawn)).toEqual({ kind: 'other-root', root: 'ext4 254:0 /var/lib/machines/buster' });
  });

  it('our namespace with another mount at / is a chroot (an overlay mounted on the host and chrooted into)', () => {
    const own = parseMountinfo(fixture('host-with-chroot.mountinfo'));
    const chrooted = parseMountinfo(fixture('chroot.mountinfo'));
    expect(compareMounts(own, chrooted)).toEqual({ kind: 'chroot', root: 'overlay 0:39' });
    expect(containerEvidence({ mounts: chrooted }, { mounts: own })).toBe('a chroot, whose / is overlay 0:39');
    expect(compareMounts(own, own)).toEqual({ kind: 'same' });
  });

  it('says nothing when either side could not be read', () => {
    expect(compareMounts([], overlay)).toBeUndefined();
    expect(compareMounts(host, parseMountinfo('cat: /proc/4242/mountinfo: No such file or directory'))).toBeUndefined();
  });
});

describe('container evidence for a master', () => {
  const own = { cgroup: parseCgroup('0::/user.slice/user-1001.slice/session-7.scope'), mounts: parseMountinfo(fixture('host.mountinfo')) };

  it('names the runtime and cgroup, or the other root, and nothing for a sandboxed or host master', () => {
    expect(
      containerEvidence(
        { cgroup: parseCgroup('0::/system.slice/docker-898b44c4a066d2dc6343c21d8a5b7c6a77079367d23bcde8c88be0eb204d3a1e.scope') },
        own,
      ),
    ).toBe('docker cgroup /system.slice/docker-898b44c4a066d2dc6343c21d8a5b7c6a77079367d23bcde8c88be0eb204d3a1e.scope');
    expect(
      containerEvidence(
        { cgroup: parseCgroup('0::/system.slice/nginx.service'), mounts: parseMountinfo(fixture('overlay-root.mountinfo')) },
        own,
      ),
    ).toBe('another mount namespace, whose / is overlay 0:39');
    expect(
      containerEvidence(
        { cgroup: parseCgroup('0::/system.slice/php-fpm.service'), mounts: parseMountinfo(fixture('private-tmp.mountinfo')) },
        own,
      ),
    ).toBeUndefined();
    expect(containerEvidence({ cgroup: parseCgroup('0::/system.slice/nginx.service'), mounts: own.mounts }, own)).toBeUndefined();
    expect(containerEvidence(undefined, own)).toBeUndefined();
  });

  it('sortMasters reports such a root master as a container, never trusts it, and keeps the others', () => {
    const rows = [
      { pid: 100, ppid: 1, uid: 0, user: 'root', rssKb: 1, args: 'nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf' },
      { pid: 200, ppid: 1, uid: 0, user: 'root', rssKb: 1, args: 'nginx: master process nginx -g daemon off;' },
      { pid: 300, ppid: 1, uid: 0, user: 'root', rssKb: 1, args: 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)' },
    ];
    const places = new Map([
      [100, { cgroup: parseCgroup('0::/system.slice/nginx.service'), mounts: own.mounts }],
      [
        200,
        {
          cgroup: parseCgroup('0::/machine.slice/libpod-a2bc7b153f034b17f358cde43a7f8c7475147e8a0d1b2573c26473244ec44ce4.scope/container'),
        },
      ],
      [300, { cgroup: parseCgroup('0::/system.slice/php-fpm.service'), mounts: parseMountinfo(fixture('overlay-root.mountinfo')) }],
    ]);
    const sorted = sortMasters(rows, { places, own });
    expect(sorted.nginx.map((m) => m.pid)).toEqual([100]);
    expect(sorted.fpm).toEqual([]);
    expect(sorted.untrusted.map((u) => [u.pid, u.status, u.why])).toEqual([
      [
        200,
        'container',
        "nginx in a container: its paths are not this host's, so nothing of it is read (podman cgroup /machine.slice/libpod-a2bc7b153f034b17f358cde43a7f8c7475147e8a0d1b2573c26473244ec44ce4.scope)",
      ],
      [
        300,
        'container',
        "php-fpm in a container: its paths are not this host's, so nothing of it is read (another mount namespace, whose / is overlay 0:39)",
      ],
    ]);
  });
});

describe('discovery reads each master’s place before it uses the master', () => {
  const result = (id: string, parse: CheckResult['parse'], stdout: string, subject?: string): CheckResult => ({
    id,
    parse,
    command: '',
    status: 'ok',
    exitCode: 0,
    stdout,
    stderr: '',
    truncated: false,
    durationMs: 1,
    ...(subject === undefined ? {} : { subject }),
  });
  const ps = result(
    'processes',
    'processes',
    [
      '  1     0     0 root       100 /sbin/init',
      ' 40     1     0 root      5000 nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf',
      ' 50     1     0 root      5000 nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf',
      ' 60    40    33 www-data  5000 nginx: worker process',
      ' 70     1  1000 alice      100 nginx: master process /tmp/x/nginx',
    ].join('\n'),
  );
  ps.command = "ps -eo 'pid=,ppid=,uid=,user:64=,rss=,args=' -ww";

  it('lists only the masters a trusted one could be (root-owned), by pid, for the per-master reads', () => {
    const d = discover([ps], {});
    expect(d.items.masters).toEqual([
      { subject: '40', values: { 'item.pid': '40' } },
      { subject: '50', values: { 'item.pid': '50' } },
    ]);
  });

  it("a container's nginx that sorts first with the host's config path is not the one read", () => {
    const before = discover([ps], {});
    // Before the reads, the first root master is taken: the runner holds the checks that use it until the reads ran.
    expect(before.facts.nginx?.pid).toBe(40);
    const d = discover(
      [
        ps,
        result('own_cgroup', 'cgroup', '0::/user.slice/user-1001.slice/session-7.scope'),
        result(
          'master_cgroup',
          'cgroup',
          '0::/system.slice/docker-898b44c4a066d2dc6343c21d8a5b7c6a77079367d23bcde8c88be0eb204d3a1e.scope',
          '40',
        ),
        result('master_cgroup', 'cgroup', '0::/system.slice/nginx.service', '50'),
      ],
      { nginx: { conf: '/etc/nginx/nginx.conf' } },
    );
    expect(d.facts.nginx?.pid).toBe(50);
    expect(d.picture.untrustedMasters.map((u) => [u.pid, u.status])).toEqual([
      [40, 'container'],
      [70, 'suspicious'],
    ]);
  });
});
