import { describe, expect, it } from 'vitest';
import { emptyPicture, type HostPicture } from '../../../src/core/discovery/host-picture.ts';
import type { RemediationId } from '../../../src/core/causes.ts';
import type { Facts } from '../../../src/core/facts.ts';
import {
  inventoryRemediationPrograms,
  isAllowedRemediationCommand,
  planRemediation,
} from '../../../src/core/remediation/plan-remediation.ts';

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
    expect(plan).toEqual({
      ok: true,
      steps: [expect.objectContaining({ argv: ['systemctl', 'restart', 'php8.2-fpm.service'], gate: true })],
    });
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

  it('runs a program by its path only from a system folder or from the inventory, and only normalised paths', () => {
    for (const argv of [
      ['/tmp/x/nginx', '-t'],
      ['/usr/sbin/../../tmp/nginx', '-t'],
      ['/usr/sbin/../../tmp/php-fpm', '-y', '/etc/php-fpm.conf'],
      ['/home/web/bin/php-fpm8.2', '-y', '/etc/php/8.2/fpm/php-fpm.conf'],
      ['/usr/sbin/nginx', '-t', '-c', '/etc/nginx/../../tmp/nginx.conf'],
      ['/usr/sbin/php-fpm8.2', '-y', '/etc/php/../../tmp/evil.conf'],
      ['/usr/sbin/php-fpm8.2', '-y', '/proc/self/environ'],
    ]) {
      expect({ argv, allowed: isAllowedRemediationCommand(argv) }).toEqual({ argv, allowed: false });
    }
    // What a person wrote in the inventory may live elsewhere (a Remi or SCL build under /opt).
    const remi = ['/opt/remi/php74/root/usr/sbin/php-fpm', '-y', '/etc/opt/remi/php74/php-fpm.conf'];
    expect(isAllowedRemediationCommand(remi)).toBe(false);
    const trustedPrograms = inventoryRemediationPrograms({ fpm: { startCommand: remi }, nginx: { binary: '/opt/nginx/sbin/nginx' } });
    expect(isAllowedRemediationCommand(remi, { trustedPrograms })).toBe(true);
    expect(isAllowedRemediationCommand(['/opt/nginx/sbin/nginx', '-t'], { trustedPrograms })).toBe(true);
    expect(isAllowedRemediationCommand(['/opt/other/sbin/nginx', '-t'], { trustedPrograms })).toBe(false);
  });
});

/*
 * Hostile inputs: what discovery read from a host (unit names, master pids, config paths) and
 * what an inventory may hold (start commands, binaries). Each row must end in one of two ways:
 * the plan refuses (its reason says why), or the plan contains a step that the final check
 * (`isAllowedRemediationCommand`, run just before each command) refuses. Never a runnable plan.
 */
describe('planRemediation with hostile inputs: never a plan that runs', () => {
  const picture = (fpmPid?: number, nginxPid?: number): HostPicture => {
    const p = emptyPicture();
    if (fpmPid !== undefined) p.fpm = { ...p.fpm, running: true, masterPid: fpmPid };
    if (nginxPid !== undefined) p.nginx = { ...p.nginx, running: true, masterPid: nginxPid };
    return p;
  };
  const FPM = '/usr/sbin/php-fpm8.2';
  /** `refused`: the plan says no, with this reason; `gated`: the plan's step `argv` is refused by the final check. */
  type Outcome = { refused: RegExp } | { gated: string[] };
  const rows: [string, RemediationId, HostPicture, Facts, Outcome][] = [
    [
      'a unit name that is an option',
      'reload_php_fpm',
      picture(42),
      { systemd: true, fpm: { unit: '--now' } },
      { gated: ['systemctl', 'reload', '--now'] },
    ],
    [
      'a unit name with shell syntax',
      'restart_php_fpm',
      picture(42),
      { systemd: true, fpm: { unit: 'php.service; reboot' } },
      { gated: ['systemctl', 'restart', 'php.service; reboot'] },
    ],
    [
      'a unit name with a newline',
      'start_php_fpm',
      picture(),
      { systemd: true, fpm: { unit: 'php.service\nreboot' } },
      { gated: ['systemctl', 'start', 'php.service\nreboot'] },
    ],
    [
      'two unit names in one',
      'reload_nginx',
      picture(undefined, 7),
      { systemd: true, nginx: { unit: 'nginx.service other.service' } },
      { gated: ['systemctl', 'reload', 'nginx.service other.service'] },
    ],
    ['master pid -1 (every process)', 'reload_php_fpm', picture(-1), {}, { gated: ['kill', '-USR2', '-1'] }],
    ["master pid 0 (the shell's own process group)", 'reload_php_fpm', picture(0), {}, { gated: ['kill', '-USR2', '0'] }],
    ['master pid 1 (init)', 'restart_php_fpm', picture(1), { fpm: { startCommand: [FPM] } }, { gated: ['kill', '-TERM', '1'] }],
    ['master pid NaN', 'reload_nginx', picture(undefined, Number.NaN), {}, { gated: ['kill', '-HUP', 'NaN'] }],
    ['master pid past any pid_max', 'reload_nginx', picture(undefined, 1e9), {}, { gated: ['kill', '-HUP', '1000000000'] }],
    ['a fractional master pid', 'reload_php_fpm', picture(4.5), {}, { gated: ['kill', '-USR2', '4.5'] }],
    [
      'a start command that is a shell',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: ['/bin/sh', '-c', 'id'] } },
      { refused: /absolute path of a php-fpm binary/ },
    ],
    [
      'a start command by bare name',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: ['php-fpm8.2'] } },
      { refused: /absolute path of a php-fpm binary/ },
    ],
    [
      'a start command with shell syntax',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: [`${FPM};id`] } },
      { refused: /absolute path of a php-fpm binary/ },
    ],
    ['an empty start command', 'start_php_fpm', picture(), { fpm: { startCommand: [] } }, { refused: /absolute path of a php-fpm binary/ }],
    [
      'a start command in the foreground (-F)',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: [FPM, '-F'] } },
      { refused: /"-F" is not allowed/ },
    ],
    [
      'a start command setting ini values (-d)',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: [FPM, '-d', 'auto_prepend_file=/tmp/x'] } },
      { refused: /"-d" is not allowed/ },
    ],
    [
      'a relative config path',
      'restart_php_fpm',
      picture(42),
      { fpm: { startCommand: [FPM, '--fpm-config', 'x.conf'] } },
      { refused: /--fpm-config needs an absolute path/ },
    ],
    [
      'a config path with a space',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: [FPM, '-y', '/etc/a b.conf'] } },
      { refused: /-y needs an absolute path/ },
    ],
    [
      'an option missing its path',
      'start_php_fpm',
      picture(),
      { fpm: { startCommand: [FPM, '-y'] } },
      { refused: /-y needs an absolute path/ },
    ],
    [
      'an nginx config path with shell syntax',
      'reload_nginx',
      picture(undefined, 7),
      { nginx: { conf: '/etc/nginx/n.conf;reboot' } },
      { gated: ['/usr/sbin/nginx', '-t', '-c', '/etc/nginx/n.conf;reboot'] },
    ],
    [
      'an nginx config path with a space',
      'reload_nginx',
      picture(undefined, 7),
      { nginx: { conf: '/etc/nginx/a b.conf' } },
      { gated: ['/usr/sbin/nginx', '-t', '-c', '/etc/nginx/a b.conf'] },
    ],
    [
      'an nginx config "path" that is an option',
      'reload_nginx',
      picture(undefined, 7),
      { nginx: { conf: '-s' } },
      { gated: ['/usr/sbin/nginx', '-t', '-c', '-s'] },
    ],
    [
      'an nginx binary that is a shell',
      'reload_nginx',
      picture(undefined, 7),
      { nginx: { binary: '/bin/sh' } },
      { gated: ['/bin/sh', '-t'] },
    ],
    ['an nginx binary by bare name', 'reload_nginx', picture(undefined, 7), { nginx: { binary: 'nginx' } }, { gated: ['nginx', '-t'] }],
    [
      'an nginx binary with a quote',
      'reload_nginx',
      picture(undefined, 7),
      { nginx: { binary: '/usr/sbin/"nginx' } },
      { gated: ['/usr/sbin/"nginx', '-t'] },
    ],
    [
      'php-fpm down: nothing to reload',
      'reload_php_fpm',
      picture(),
      { systemd: true, fpm: { unit: 'php8.2-fpm.service' } },
      { refused: /use start_php_fpm/ },
    ],
    [
      'php-fpm up: nothing to start',
      'start_php_fpm',
      picture(42),
      { systemd: true, fpm: { unit: 'php8.2-fpm.service' } },
      { refused: /already running/ },
    ],
    ['nginx down: nothing to reload', 'reload_nginx', picture(42), {}, { refused: /nginx is not running/ }],
  ];

  it.each(rows)('%s', (_name, id, hostPicture, facts, outcome) => {
    const plan = planRemediation(id, hostPicture, facts);
    if ('refused' in outcome) {
      expect(plan).toEqual({ ok: false, reason: expect.stringMatching(outcome.refused) });
      return;
    }
    if (!plan.ok) throw new Error(`expected a plan the final check refuses, got a refusal: ${plan.reason}`);
    expect(plan.steps.map((s) => s.argv)).toContainEqual(outcome.gated);
    expect(isAllowedRemediationCommand(outcome.gated)).toBe(false);
  });

  it('the same shapes with sound inputs do run (the table is not refusing everything)', () => {
    const sound: [RemediationId, HostPicture, Facts][] = [
      ['reload_php_fpm', picture(42), { systemd: true, fpm: { unit: 'php8.2-fpm.service' } }],
      ['reload_php_fpm', picture(42), {}],
      ['restart_php_fpm', picture(42), { fpm: { startCommand: [FPM, '--fpm-config', '/etc/php/8.2/fpm/php-fpm.conf', '-R'] } }],
      ['start_php_fpm', picture(), { fpm: { startCommand: [FPM, '-y', '/etc/php/8.2/fpm/php-fpm.conf'] } }],
      ['reload_nginx', picture(undefined, 7), { nginx: { conf: '/etc/nginx/nginx.conf' } }],
      ['reload_nginx', picture(undefined, 7), { systemd: true, nginx: { unit: 'nginx.service', binary: '/usr/local/sbin/nginx' } }],
    ];
    for (const [id, hostPicture, facts] of sound) {
      const plan = planRemediation(id, hostPicture, facts);
      if (!plan.ok) throw new Error(`${id} with ${JSON.stringify(facts)} was refused: ${plan.reason}`);
      for (const s of plan.steps)
        expect({ argv: s.argv, allowed: isAllowedRemediationCommand(s.argv) }).toEqual({ argv: s.argv, allowed: true });
    }
  });
});
