import { describe, expect, it } from 'vitest';
import { emptyPicture, type HostPicture } from '../../../src/core/discovery/host-picture.ts';
import type { Facts } from '../../../src/core/facts.ts';
import { isAllowedRemediationCommand, planRemediation } from '../../../src/core/remediation/plan-remediation.ts';

const running = (): HostPicture => {
  const p = emptyPicture();
  p.fpm = { ...p.fpm, running: true, masterPid: 4242 };
  p.nginx = { ...p.nginx, running: true, masterPid: 77 };
  return p;
};
const START = ['/usr/sbin/php-fpm8.2', '--fpm-config', '/etc/php/8.2/fpm/php-fpm.conf'];

describe('planRemediation: restart_php_fpm', () => {
  it('is systemctl restart of the unit where systemd runs', () => {
    const facts: Facts = { systemd: true, fpm: { unit: 'php8.2-fpm.service' } };
    const plan = planRemediation('restart_php_fpm', running(), facts);
    expect(plan).toEqual({ ok: true, steps: [expect.objectContaining({ argv: ['systemctl', 'restart', 'php8.2-fpm.service'], gate: true })] });
  });

  it('without systemd: TERM to the master, wait until that pid is gone, then the configured start command', () => {
    const plan = planRemediation('restart_php_fpm', running(), { fpm: { startCommand: START } });
    if (!plan.ok) throw new Error(plan.reason);
    expect(plan.steps.map((s) => s.argv)).toEqual([['kill', '-TERM', '4242'], START]);
    expect(plan.steps[0]).toMatchObject({ gate: true, awaitExit: 4242 });
    expect(plan.steps[0]?.purpose).toMatch(/in flight are dropped/);
  });

  it('refuses when php-fpm is down (start_php_fpm is the one), or could not be started again', () => {
    const down = planRemediation('restart_php_fpm', emptyPicture(), { fpm: { startCommand: START } });
    expect(down).toEqual({ ok: false, reason: expect.stringMatching(/use start_php_fpm/) });
    const noStart = planRemediation('restart_php_fpm', running(), {});
    expect(noStart).toEqual({ ok: false, reason: expect.stringMatching(/fpm\.startCommand/) });
    const badStart = planRemediation('restart_php_fpm', running(), { fpm: { startCommand: ['/usr/sbin/php-fpm8.2', '-F'] } });
    expect(badStart.ok).toBe(false);
  });
});

describe('isAllowedRemediationCommand', () => {
  it('allows exactly the remediation shapes', () => {
    for (const argv of [
      ['systemctl', 'restart', 'php8.2-fpm.service'],
      ['systemctl', 'reload', 'nginx.service'],
      ['systemctl', 'start', 'php8.2-fpm.service'],
      ['kill', '-TERM', '4242'],
      ['kill', '-USR2', '4242'],
      ['kill', '-HUP', '77'],
      ['/usr/sbin/nginx', '-t'],
      START,
    ]) {
      expect({ argv, allowed: isAllowedRemediationCommand(argv) }).toEqual({ argv, allowed: true });
    }
  });

  it('refuses every other shape', () => {
    for (const argv of [
      ['systemctl', 'stop', 'php8.2-fpm.service'],
      ['systemctl', 'restart', 'php8.2-fpm.service', 'nginx.service'],
      ['systemctl', 'restart', '--now'],
      ['systemctl', 'restart', 'a;b'],
      ['kill', '-KILL', '4242'],
      ['kill', '-TERM', '-1'],
      ['kill', '-TERM', '4242', '1'],
      ['kill', '-TERM'],
      ['/usr/sbin/nginx', '-s', 'stop'],
      ['/usr/sbin/php-fpm8.2', '-F'],
    ]) {
      expect({ argv, allowed: isAllowedRemediationCommand(argv) }).toEqual({ argv, allowed: false });
    }
  });
});
