import type { RemediationId } from '../causes.ts';
import type { HostPicture } from '../discovery/host-picture.ts';
import { SAFE_PATH, isSafePath, type Facts } from '../facts.ts';
import { SYSTEM_PROGRAM_DIRS } from '../playbook/allowlist.ts';

/** One command of a remediation. `gate`: when it fails, nothing after it runs. */
export interface RemediationStep {
  argv: string[];
  gate: boolean;
  /** What it does, for people and the audit trail. */
  purpose: string;
  /**
   * A process this step asks to stop: nothing after the step runs until that pid is gone
   * (php-fpm cannot start while its old master still holds the socket and the pid file).
   */
  awaitExit?: number;
}

export type RemediationPlan = { ok: true; steps: RemediationStep[] } | { ok: false; reason: string };

const FPM_START_ARGS_WITH_PATH = new Set(['--fpm-config', '-y', '-c', '--php-ini', '--pid', '-g', '-p', '--prefix']);
const FPM_START_FLAGS = new Set(['-R', '--allow-to-run-as-root', '-D', '--daemonize']);

/**
 * The start command comes from the inventory, so it is held to the same standard as a
 * playbook: a php-fpm binary, and only options that choose config, pid and prefix. `-F`
 * (stay in the foreground) is refused: it would hold the SSH channel until the timeout.
 */
export function checkFpmStartCommand(argv: readonly string[]): string | null {
  const [binary, ...args] = argv;
  if (binary === undefined || !SAFE_PATH.test(binary) || !/\/php-fpm[0-9.]*$/.test(binary)) {
    return `fpm.startCommand must start with the absolute path of a php-fpm binary (got ${JSON.stringify(binary ?? '')})`;
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (FPM_START_FLAGS.has(a)) continue;
    if (FPM_START_ARGS_WITH_PATH.has(a)) {
      const v = args[++i];
      if (v === undefined || !SAFE_PATH.test(v)) return `fpm.startCommand: option ${a} needs an absolute path`;
      continue;
    }
    return `fpm.startCommand: argument ${JSON.stringify(a)} is not allowed (allowed: ${[...FPM_START_ARGS_WITH_PATH, ...FPM_START_FLAGS].join(', ')})`;
  }
  return null;
}

/**
 * Plans one contract remediation for a host as it is now. Pure. The host's own service
 * manager is used where there is one; otherwise signals to the master pid seen by the
 * diagnosis that preceded it, or the configured start command.
 */
export function planRemediation(id: RemediationId, picture: HostPicture, facts: Facts): RemediationPlan {
  const systemd = facts.systemd === true;
  switch (id) {
    case 'reload_php_fpm': {
      if (!picture.fpm.running || picture.fpm.masterPid === undefined) {
        return { ok: false, reason: 'php-fpm is not running, so it cannot be reloaded: use start_php_fpm' };
      }
      if (systemd && facts.fpm?.unit !== undefined) {
        return {
          ok: true,
          steps: [{ argv: ['systemctl', 'reload', facts.fpm.unit], gate: true, purpose: `graceful reload of ${facts.fpm.unit}` }],
        };
      }
      return {
        ok: true,
        steps: [
          {
            argv: ['kill', '-USR2', String(picture.fpm.masterPid)],
            gate: true,
            purpose: `graceful reload (USR2) of php-fpm master ${picture.fpm.masterPid}`,
          },
        ],
      };
    }
    case 'start_php_fpm': {
      if (picture.fpm.running)
        return { ok: false, reason: `php-fpm is already running (master pid ${picture.fpm.masterPid ?? '?'}): use reload_php_fpm` };
      if (systemd && facts.fpm?.unit !== undefined) {
        return { ok: true, steps: [{ argv: ['systemctl', 'start', facts.fpm.unit], gate: true, purpose: `start ${facts.fpm.unit}` }] };
      }
      const start = facts.fpm?.startCommand;
      if (start === undefined) {
        return {
          ok: false,
          reason:
            'no systemd unit for php-fpm was found and the inventory sets no fpm.startCommand: set facts.fpm.startCommand for this host',
        };
      }
      const problem = checkFpmStartCommand(start);
      if (problem !== null) return { ok: false, reason: problem };
      return { ok: true, steps: [{ argv: [...start], gate: true, purpose: 'start php-fpm with the configured start command' }] };
    }
    case 'restart_php_fpm': {
      if (!picture.fpm.running || picture.fpm.masterPid === undefined) {
        return { ok: false, reason: 'php-fpm is not running, so there is nothing to restart: use start_php_fpm' };
      }
      if (systemd && facts.fpm?.unit !== undefined) {
        return {
          ok: true,
          steps: [
            {
              argv: ['systemctl', 'restart', facts.fpm.unit],
              gate: true,
              purpose: `restart ${facts.fpm.unit} (requests in flight are dropped)`,
            },
          ],
        };
      }
      const start = facts.fpm?.startCommand;
      if (start === undefined) {
        return {
          ok: false,
          reason:
            'no systemd unit for php-fpm was found and the inventory sets no fpm.startCommand, so php-fpm could be stopped but not started again: set facts.fpm.startCommand for this host',
        };
      }
      const problem = checkFpmStartCommand(start);
      if (problem !== null) return { ok: false, reason: problem };
      const pid = picture.fpm.masterPid;
      return {
        ok: true,
        steps: [
          {
            argv: ['kill', '-TERM', String(pid)],
            gate: true,
            purpose: `stop php-fpm master ${pid} (TERM: requests in flight are dropped)`,
            awaitExit: pid,
          },
          { argv: [...start], gate: true, purpose: 'start php-fpm again with the configured start command' },
        ],
      };
    }
    case 'reload_nginx': {
      if (!picture.nginx.running || picture.nginx.masterPid === undefined)
        return { ok: false, reason: 'nginx is not running, so it cannot be reloaded' };
      const binary = facts.nginx?.binary ?? '/usr/sbin/nginx';
      const test: RemediationStep = {
        argv: facts.nginx?.conf === undefined ? [binary, '-t'] : [binary, '-t', '-c', facts.nginx.conf],
        gate: true,
        purpose: 'test the nginx configuration; nothing is reloaded if it fails',
      };
      if (systemd && facts.nginx?.unit !== undefined) {
        return {
          ok: true,
          steps: [test, { argv: ['systemctl', 'reload', facts.nginx.unit], gate: true, purpose: `graceful reload of ${facts.nginx.unit}` }],
        };
      }
      return {
        ok: true,
        steps: [
          test,
          {
            argv: ['kill', '-HUP', String(picture.nginx.masterPid)],
            gate: true,
            purpose: `graceful reload (HUP) of nginx master ${picture.nginx.masterPid}`,
          },
        ],
      };
    }
  }
}

/** Options of {@link isAllowedRemediationCommand}. */
export interface RemediationCommandOptions {
  /**
   * Program paths outside the system folders that may run: the inventory's own facts
   * (`nginx.binary`, `fpm.binary`, the first word of `fpm.startCommand`), which a person wrote.
   * Never what discovery found.
   * @defaultValue none
   */
  trustedPrograms?: readonly string[];
}

/** Program paths a person wrote in a host's inventory facts: the only ones outside the system folders a remediation may run. */
export const inventoryRemediationPrograms = (inventory: Facts): string[] =>
  [inventory.nginx?.binary, inventory.fpm?.binary, inventory.fpm?.startCommand?.[0]].filter((p): p is string => p !== undefined);

/** A program named by its path: normalised, and in a system folder or written in the inventory. */
const isTrustedProgram = (p: string, trusted: readonly string[]): boolean =>
  isSafePath(p) && (SYSTEM_PROGRAM_DIRS.includes(p.slice(0, p.lastIndexOf('/'))) || trusted.includes(p));

/**
 * The complete list of host-changing command shapes the product may run. Every remediation
 * step is checked against it just before it runs, whatever produced it: a program named by
 * its path must sit in a system folder or be one the inventory names, and every path must be
 * normalised (no `..` that leads out of a system folder).
 */
export function isAllowedRemediationCommand(argv: readonly string[], options: RemediationCommandOptions = {}): boolean {
  const trusted = options.trustedPrograms ?? [];
  const [p, a, b, c, ...rest] = argv;
  // A unit name never starts with '-': systemctl would read it as an option.
  if (p === 'systemctl')
    return (
      (a === 'reload' || a === 'start' || a === 'restart') && b !== undefined && /^[A-Za-z0-9][A-Za-z0-9@._:-]*$/.test(b) && c === undefined
    );
  // A master's pid: never 0 (the caller's own process group), 1 (init) or negative (a group).
  if (p === 'kill')
    return (a === '-USR2' || a === '-HUP' || a === '-TERM') && b !== undefined && /^[1-9]\d{0,6}$/.test(b) && b !== '1' && c === undefined;
  if (p === undefined || !isTrustedProgram(p, trusted)) return false;
  if (/\/nginx$/.test(p)) {
    return a === '-t' && ((b === undefined && c === undefined) || (b === '-c' && c !== undefined && isSafePath(c) && rest.length === 0));
  }
  if (/\/php-fpm[0-9.]*$/.test(p))
    return checkFpmStartCommand(argv) === null && argv.slice(1).every((v) => !v.startsWith('/') || isSafePath(v));
  return false;
}
