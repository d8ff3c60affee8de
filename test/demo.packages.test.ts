import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REQUIREMENTS, hostFacts, missingRequirements, planPackages, type HostFacts } from '../src/demo/packages.ts';

const debianRoot: HostFacts = { uid: 0, osId: 'debian', debianLike: true, aptGet: true };
const only = (...names: string[]) => REQUIREMENTS.filter((r) => names.includes(r.pkg));

describe("the demo's package check", () => {
  it('names, for each program the demo runs, the Debian package that really ships it', () => {
    for (const r of REQUIREMENTS) {
      // dpkg's own answer on this Debian machine: "<package>: <path>"
      expect(execFileSync('dpkg-query', ['-S', r.binary], { encoding: 'utf8' }).trim()).toBe(`${r.pkg}: ${r.binary}`);
    }
    expect(REQUIREMENTS.map((r) => r.pkg)).toEqual(['redis-server', 'nginx', 'php8.2-fpm', 'openssh-server', 'sudo']);
  });

  it('finds nothing missing here, and skips redis-server when REDIS_URL is given', () => {
    expect(missingRequirements({ needRedis: true })).toEqual([]);
    const none = (): boolean => false;
    expect(missingRequirements({ needRedis: true, exists: none }).map((r) => r.pkg)).toContain('redis-server');
    expect(missingRequirements({ needRedis: false, exists: none }).map((r) => r.pkg)).not.toContain('redis-server');
    expect(hostFacts()).toMatchObject({ uid: 0, osId: 'debian', debianLike: true, aptGet: true });
  });

  it('installs with apt-get as root on Debian: update, then exactly the missing packages', () => {
    expect(planPackages([], debianRoot)).toEqual({ kind: 'ok' });
    expect(planPackages(only('nginx', 'php8.2-fpm'), debianRoot)).toEqual({
      kind: 'install',
      packages: ['nginx', 'php8.2-fpm'],
      commands: [
        ['/usr/bin/apt-get', 'update'],
        ['/usr/bin/apt-get', 'install', '-y', '--no-install-recommends', 'nginx', 'php8.2-fpm'],
      ],
    });
    const ubuntu = planPackages(only('php8.2-fpm'), { ...debianRoot, osId: 'ubuntu' });
    expect(ubuntu.kind === 'install' && ubuntu.note).toContain('ppa:ondrej/php');
  });

  it('otherwise says exactly what to install, and installs nothing', () => {
    const user = planPackages(only('redis-server', 'openssh-server'), { ...debianRoot, uid: 1000 });
    expect(user.kind).toBe('tell');
    const text = user.kind === 'tell' ? user.message : '';
    expect(text).toContain('sudo apt-get install redis-server openssh-server');
    expect(text).toContain('/usr/sbin/sshd');
    const other = planPackages(only('nginx'), { uid: 0, osId: 'fedora', debianLike: false, aptGet: false });
    expect(other.kind).toBe('tell');
    expect(other.kind === 'tell' && other.message).toContain('not Debian or Ubuntu');
    expect(other.kind === 'tell' && other.message).not.toContain('apt-get');
  });
});
