import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/core/check-result.ts';
import { discover } from '../../../src/core/discovery/discover.ts';
import { parseProcesses, psColumns } from '../../../src/core/discovery/parse-processes.ts';
import { sortMasters } from '../../../src/core/discovery/trust-masters.ts';

// Real `ps -eo pid=,ppid=,uid=,user:64=,rss=,pidns=,mntns=,args= -ww`, as root and as an
// unprivileged user, of a host where: a real nginx master runs as root (16518); `nobody` titled
// two processes like an nginx master pointing at /tmp/x/nginx (16523) and a php-fpm master
// (16529); root runs a php-fpm look-alike that init adopted (16531) and an nginx look-alike
// under an interactive shell (16538); and an nginx look-alike runs in its own pid namespace (16541).
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/discovery/${name}`, import.meta.url), 'utf8');
const COMMAND = "ps -eo 'pid=,ppid=,uid=,user:64=,rss=,pidns=,mntns=,args=' -ww";
const columns = psColumns(COMMAND);

const processes = (stdout: string): CheckResult => ({
  id: 'processes',
  parse: 'processes',
  command: COMMAND,
  status: 'ok',
  exitCode: 0,
  stdout,
  stderr: '',
  truncated: false,
  durationMs: 1,
});

describe('ps columns', () => {
  it('follows the command line of the check', () => {
    expect(columns).toEqual(['pid', 'ppid', 'uid', 'user', 'rss', 'pidns', 'mntns']);
    expect(psColumns("sudo -n ps -eo 'pid=,ppid=,user=,rss=,args=' -ww")).toEqual(['pid', 'ppid', 'user', 'rss']);
    const rows = parseProcesses(fixture('ps-hostile.txt'), columns);
    expect(rows.find((r) => r.pid === 16541)).toMatchObject({
      ppid: 16534,
      uid: 0,
      user: 'root',
      pidns: '4026532178',
      mntns: '4026532177',
      args: 'nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf',
    });
    expect(rows.find((r) => r.pid === 1)?.pidns).toBeUndefined();
  });
});

describe('which masters are trusted', () => {
  const sorted = sortMasters(parseProcesses(fixture('ps-hostile.txt'), columns));

  it('uses only the root master that init adopted', () => {
    expect(sorted.nginx.map((m) => m.pid)).toEqual([16518]);
    expect(sorted.nginx[0]).toMatchObject({ conf: '/tmp/trustfx/nginx.conf', prefix: '/tmp/trustfx', claimedBinary: '/usr/sbin/nginx' });
    expect(sorted.fpm.map((m) => m.pid)).toEqual([16531]);
  });

  it('reports look-alikes of another owner or parent as suspicious, and a container as a container', () => {
    const byPid = new Map(sorted.untrusted.map((u) => [u.pid, u]));
    expect(byPid.get(16523)).toMatchObject({ kind: 'nginx', status: 'suspicious', user: 'nobody' });
    expect(byPid.get(16523)?.why).toMatch(/owned by nobody \(uid 65534\), not root/);
    expect(byPid.get(16529)).toMatchObject({ kind: 'fpm', status: 'suspicious' });
    expect(byPid.get(16538)?.why).toMatch(/its parent \(pid 16533, bash -c .*\) is neither init nor a service manager/);
    expect(byPid.get(16541)).toMatchObject({ kind: 'nginx', status: 'container' });
    expect(byPid.get(16541)?.why).toMatch(
      /^nginx in a container: its paths are not this host's, so nothing of it is read \(pid namespace \d+\)$/,
    );
    expect(sorted.untrusted).toHaveLength(4);
  });

  it("trusts the inventory's service user and a unit's main pid", () => {
    const rows = parseProcesses(fixture('ps-hostile.txt'), columns);
    const withUser = sortMasters(rows, { serviceUsers: { fpm: 'nobody' } });
    expect(withUser.fpm.map((m) => m.pid)).toEqual([16529, 16531]);
    expect(withUser.nginx.map((m) => m.pid)).toEqual([16518]);
    expect(sortMasters(rows, { mainPids: new Set([16538]) }).nginx.map((m) => m.pid)).toEqual([16518, 16538]);
  });

  it('as an unprivileged user, who cannot read root’s namespaces, still refuses every look-alike', () => {
    const s = sortMasters(parseProcesses(fixture('ps-hostile-unprivileged.txt'), columns));
    expect(s.untrusted.filter((u) => u.status === 'suspicious').map((u) => u.pid)).toEqual([16523, 16529, 16538, 16541]);
    expect(s.nginx.map((m) => m.pid)).toEqual([16518]);
  });
});

describe('discovery never runs or reads what a title names', () => {
  it('runs the system nginx with the trusted master’s config, whatever sorts first', () => {
    const d = discover([processes(fixture('ps-hostile.txt'))], {});
    expect(d.facts.nginx).toMatchObject({ pid: 16518, binary: '/usr/sbin/nginx', conf: '/tmp/trustfx/nginx.conf' });
    expect(d.picture.untrustedMasters.map((u) => u.pid)).toEqual([16523, 16529, 16538, 16541]);
  });

  it('a trusted master claiming a binary outside the system folders still gets the system one', () => {
    const ps = '  700     1     0 root 4026531836 4026531832 1000 nginx: master process /opt/evil/nginx -c /etc/nginx/nginx.conf\n';
    const cols = "ps -eo 'pid=,ppid=,uid=,user=,pidns=,mntns=,rss=,args=' -ww";
    const d = discover([{ ...processes(ps), command: cols }], {});
    expect(d.facts.nginx?.binary).toBe('/usr/sbin/nginx');
    const local = discover([{ ...processes(ps.replace('/opt/evil/nginx', '/usr/local/sbin/nginx')), command: cols }], {});
    expect(local.facts.nginx?.binary).toBe('/usr/local/sbin/nginx');
  });

  it('a fake php-fpm master alone leaves php-fpm not running', () => {
    const rows = fixture('ps-hostile.txt')
      .split('\n')
      .filter((l) => !/^ *16531 /.test(l))
      .join('\n');
    const d = discover([processes(rows)], {});
    expect(d.picture.fpm.running).toBe(false);
    expect(d.facts.fpm?.pid).toBeUndefined();
  });
});
