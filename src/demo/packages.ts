import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { FPM_BINARY, NGINX_BINARY } from '../lab/lab-layout.ts';
import { REDIS_SERVER } from './local-redis.ts';

/** A Debian package the demo needs, known by the program it must provide. */
export interface Requirement {
  pkg: string;
  binary: string;
  why: string;
}

/** What the lab runs (by these exact paths) and the demo's own Redis. */
export const REQUIREMENTS: readonly Requirement[] = [
  { pkg: 'redis-server', binary: REDIS_SERVER, why: 'the queue and audit trail (not needed when REDIS_URL is given)' },
  { pkg: 'nginx', binary: NGINX_BINARY, why: "the lab's web server" },
  { pkg: 'php8.2-fpm', binary: FPM_BINARY, why: "the lab's PHP-FPM" },
  { pkg: 'openssh-server', binary: '/usr/sbin/sshd', why: 'how the bot reaches the lab host' },
  { pkg: 'sudo', binary: '/usr/bin/sudo', why: "the lab's narrow rules for the remediations" },
];

/** The requirements whose program is missing; Redis only when the demo must start its own. */
export function missingRequirements(o: { needRedis: boolean; exists?: (path: string) => boolean }): Requirement[] {
  const exists = o.exists ?? existsSync;
  return REQUIREMENTS.filter((r) => (o.needRedis || r.pkg !== 'redis-server') && !exists(r.binary));
}

/** The machine as far as installing goes. */
export interface HostFacts {
  uid: number;
  /** `ID` of /etc/os-release (`debian`, `ubuntu`), when there is one. */
  osId?: string;
  /** Debian or a derivative (`ID_LIKE` names debian). */
  debianLike: boolean;
  aptGet: boolean;
}

export type PackagePlan =
  | { kind: 'ok' }
  | { kind: 'install'; packages: string[]; commands: string[][]; note?: string }
  | { kind: 'tell'; packages: string[]; message: string };

const APT = '/usr/bin/apt-get';

/** What /etc/os-release and the file system say about this machine. */
export function hostFacts(): HostFacts {
  let osId: string | undefined;
  let like = '';
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    osId = /^ID="?([^"\n]+)"?$/m.exec(text)?.[1];
    like = /^ID_LIKE="?([^"\n]+)"?$/m.exec(text)?.[1] ?? '';
  } catch {
    // not Linux, or a very bare one
  }
  return {
    uid: process.getuid?.() ?? -1,
    ...(osId !== undefined ? { osId } : {}),
    debianLike: osId === 'debian' || osId === 'ubuntu' || like.split(/\s+/).includes('debian'),
    aptGet: existsSync(APT),
  };
}

/** Ubuntu's own archive has no php8.2 (22.04 ships 8.1, 24.04 ships 8.3); the lab pins 8.2. */
const UBUNTU_PHP = 'On Ubuntu, php8.2-fpm comes from the ondrej/php PPA: add-apt-repository ppa:ondrej/php && apt-get update.';

/**
 * Decides what to do about missing packages: install them (root on Debian/Ubuntu with
 * apt-get), or say exactly what to install and let the person do it.
 */
export function planPackages(missing: readonly Requirement[], host: HostFacts): PackagePlan {
  if (missing.length === 0) return { kind: 'ok' };
  const packages = missing.map((r) => r.pkg);
  const phpNote = host.osId === 'ubuntu' && packages.includes('php8.2-fpm') ? UBUNTU_PHP : undefined;
  if (host.uid === 0 && host.debianLike && host.aptGet) {
    return {
      kind: 'install',
      packages,
      commands: [
        [APT, 'update'],
        [APT, 'install', '-y', '--no-install-recommends', ...packages],
      ],
      ...(phpNote !== undefined ? { note: phpNote } : {}),
    };
  }
  const list = missing.map((r) => `  - ${r.pkg.padEnd(15)} provides ${r.binary} (${r.why})`).join('\n');
  const how = host.debianLike
    ? `Install them with:\n  sudo apt-get install ${packages.join(' ')}${phpNote !== undefined ? `\n${phpNote}` : ''}`
    : `This is not Debian or Ubuntu, so the demo will not install them itself: install the equivalents of the Debian packages ${packages.join(', ')}, with the programs at the paths above.`;
  return { kind: 'tell', packages, message: `The demo needs these Debian packages, which are missing:\n${list}\n${how}` };
}

/** Debian's hook that tells package scripts whether they may start services (exit 101: no). */
const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * Runs the plan's apt-get commands, their output going to the person's terminal. The packages'
 * own services (nginx on :80, sshd on :22 of every interface…) are not started: the demo runs
 * its own on 127.0.0.1. A policy-rc.d the machine already has is left as it is.
 */
export async function runInstall(
  commands: readonly string[][],
  env: NodeJS.ProcessEnv,
  onLine: (text: string) => void,
): Promise<{ ok: boolean; failed?: string }> {
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy)
    await writeFile(POLICY_RC, '#!/bin/sh\n# gateway-medic demo: installing packages, starting no services\nexit 101\n', { mode: 0o755 });
  try {
    return await runAll(commands, env, onLine);
  } finally {
    if (ownPolicy) await rm(POLICY_RC, { force: true });
  }
}

async function runAll(
  commands: readonly string[][],
  env: NodeJS.ProcessEnv,
  onLine: (text: string) => void,
): Promise<{ ok: boolean; failed?: string }> {
  for (const [cmd, ...args] of commands) {
    onLine(`$ ${[cmd, ...args].join(' ')}`);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(cmd as string, args, {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      child.once('error', () => resolve(-1));
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) return { ok: false, failed: `${[cmd, ...args].join(' ')} exited with ${String(code)}` };
  }
  return { ok: true };
}
