import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { totalmem, tmpdir } from 'node:os';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Inventory } from '../core/inventory/inventory-schema.ts';
import { Lab, newLabId } from './lab.ts';
import { labLayout } from './lab-layout.ts';
import { ensureLoginUser, ensureUser } from './lab-users.ts';
import { writeLabState, type LabState } from './lab-state.ts';
import { freePort } from './free-port.ts';
import { prepareTree } from './prepare-tree.ts';
import { portOpen } from './services.ts';
import { reapOrphanedLabs } from './reap-labs.ts';
import { generateKeyPair, startSshd } from './sshd.ts';
import { installSudoers, removeSudoers, renderSudoers } from './sudoers.ts';
import { makeShopCertificate } from './tls-cert.ts';
import { loopbackName } from './loopback-name.ts';

/** Options of {@link startLab}. */
export interface StartLabOptions {
  /** Where the lab lives (configs, logs, sockets, keys, inventory, state). @defaultValue a new `/tmp/medic-lab-*`, removed by `stop()` */
  dir?: string;
  /** The SSH login user the bot connects as: reads logs and configs, runs only the remediations through sudo. @defaultValue `medic-lab` */
  loginUser?: string;
  /** Who nginx's workers, the php-fpm pool and the Node backend run as. @defaultValue `medic-web` */
  webUser?: string;
  /** The inventory's host name. @defaultValue `web-01` */
  hostName?: string;
  /**
   * Where `fastcgi_pass` points in the `tcp_mismatch` scenario, when nothing listens there (the
   * CLI asks for the seed's 9000). Tests leave it to a free port: two labs sharing 9000 would
   * meet when one of them makes php-fpm listen there. @defaultValue a free port
   */
  fastcgiTcpPort?: number;
  /** Recorded in the state so that `npm run lab -- down` can stop the process that owns sshd. */
  daemonPid?: number;
  /**
   * sshd gets the host keys a stock Debian or Ubuntu server has (RSA 3072, ECDSA P-256 and
   * Ed25519) instead of Ed25519 alone. sshd loads them all for every connection and lists them
   * after login, so a host shaped like this costs more per connection; the benchmark uses it.
   * Off by default: an RSA key takes a second or more to generate. @defaultValue false
   */
  stockHostKeys?: boolean;
}

export const LAB_HOST = 'web-01';

/**
 * Starts the lab: nginx, php-fpm 8.2, a Node backend and sshd on 127.0.0.1, as plain processes
 * with their own configs under one directory, in the `healthy` scenario; writes the inventory
 * and the state file. Needs root (nginx's and php-fpm's masters run as root, as on a server).
 */
export async function startLab(options: StartLabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) {
    throw new Error('the lab needs root: it creates Unix users, sudo rules and runs nginx and php-fpm masters as root (run it with sudo)');
  }
  await reapOrphanedLabs();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'medic-lab-')));
  const blocked = untraversable(dirname(dir));
  if (blocked !== undefined) {
    throw new Error(
      `the lab's directory ${dir} is under ${blocked}, which other users cannot enter: nginx's workers, php-fpm's pool and the SSH login user must reach it`,
    );
  }
  const layout = labLayout(dir);
  const login = await ensureLoginUser(options.loginUser ?? 'medic-lab');
  const web = await ensureUser(options.webUser ?? 'medic-web', '/usr/sbin/nologin');
  await prepareTree(layout, login);
  await makeShopCertificate(layout, login.gid);

  const wanted = options.fastcgiTcpPort;
  const tcpPort = wanted !== undefined && !(await portOpen(wanted)) ? wanted : await freePort();
  const hostsName = await loopbackName();
  const state0 = {
    id: newLabId(),
    dir,
    nginxPort: await freePort(),
    backendPort: await freePort(),
    tcpPort,
    shop: { tlsPort: await freePort(), backendPort: await freePort() },
    loginUser: login.name,
    webUser: web.name,
    memTotalBytes: totalmem(),
    ...(hostsName === undefined ? {} : { loopbackName: hostsName }),
    scenario: 'healthy' as const,
    startedAt: new Date().toISOString(),
    ownerPid: options.daemonPid ?? process.pid,
    ...(options.daemonPid === undefined ? {} : { daemonPid: options.daemonPid }),
  };
  await installSudoers(state0.id, renderSudoers(login.name, layout));

  let sshd: Awaited<ReturnType<typeof startSshd>> | undefined;
  let lab: Lab | undefined;
  try {
    sshd = await startSshd({
      user: login.name,
      dir: layout.sshDir,
      ...(options.stockHostKeys === true ? { extraConfig: await stockHostKeys(layout.sshDir) } : {}),
    });
    const handle = sshd;
    const state: LabState = {
      ...state0,
      sshd: { pid: handle.pid, port: handle.port, clientKeyPath: handle.clientKeyPath, knownHostsPath: handle.knownHostsPath },
    };
    lab = new Lab(state, () => handle.stop(), options.dir === undefined);
    await writeLabState(layout.state, state);
    await lab.startBackend();
    await lab.applyScenario('healthy');
    await writeInventory(lab, options.hostName ?? LAB_HOST);
    return lab;
  } catch (e) {
    if (lab !== undefined) await lab.stop().catch(() => undefined);
    else {
      await sshd?.stop().catch(() => undefined);
      await removeSudoers(state0.id);
    }
    throw e;
  }
}

/** The first ancestor of `dir` (itself included) that users other than root cannot enter, if any. */
export function untraversable(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return d;
    if (d === dirname(d)) return undefined;
  }
}

async function writeInventory(lab: Lab, hostName: string): Promise<void> {
  const s = lab.snapshot;
  const inventory = {
    hosts: {
      [hostName]: {
        address: '127.0.0.1',
        port: s.sshd.port,
        user: s.loginUser,
        privateKeyPath: s.sshd.clientKeyPath,
        knownHostsPath: s.sshd.knownHostsPath,
        sudo: false,
        facts: lab.inventoryFacts(),
      },
    },
  };
  // Refuse to write what `medic` would refuse to read.
  Inventory.parse(inventory);
  const header = `# Written by the gateway-medic lab (src/lab) for the stack under ${s.dir}.\n# Try: npx medic diagnose ${hostName} --inventory ${lab.inventoryPath}\n`;
  await writeFile(lab.inventoryPath, header + stringify(inventory), { mode: 0o644 });
}

/** RSA 3072 and ECDSA host keys in `dir` (the Ed25519 one is startSshd's), as sshd_config lines. */
async function stockHostKeys(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const rsa = await generateKeyPair(dir, 'ssh_host_rsa_key', { type: 'rsa', bits: 3072 });
  const ecdsa = await generateKeyPair(dir, 'ssh_host_ecdsa_key', { type: 'ecdsa', bits: 256 });
  return [rsa, ecdsa].map((k) => `HostKey ${k.privateKeyPath}`);
}
