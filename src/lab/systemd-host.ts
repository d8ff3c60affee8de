/**
 * The systemd lab host: a real Debian 12 booted under systemd in a container
 * (debootstrap + systemd-nspawn), with nginx, php8.2-fpm and sshd as Debian ships them. The bot
 * reaches it over SSH like any production host, with an inventory that sets no facts.
 *
 * The Debian tree is built once and cached; each run boots an overlay of it (the cached tree is
 * never written to). The container shares this machine's network, so its sshd and nginx are
 * moved to free ports on 127.0.0.1 before it boots. It is stopped by pid: SIGTERM to
 * systemd-nspawn halts the container's systemd cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderDeploySudoers } from './deploy-sudoers.ts';
import { freePort } from './free-port.ts';
import { childrenOf, isAlive, sleep, stopPid, waitFor } from './pids.ts';
import { generateKeyPair, knownHostsLine } from './sshd.ts';
import { errorMessage } from '../errors.ts';

const run = promisify(execFile);

export const SYSTEMD_HOST = 'web-systemd';
export const SYSTEMD_LOGIN_USER = 'medic';
export const FPM_UNIT = 'php8.2-fpm.service';
export const NGINX_UNIT = 'nginx.service';

const SUITE = 'bookworm';
const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'nginx-light',
  'php8.2-fpm',
  'openssh-server',
  'sudo',
  'procps',
  'iproute2',
  'curl',
  'gunicorn',
];
export const DEFAULT_CACHE_DIR = '/var/cache/medic-lab';

/** The cached tree's directory: named after the suite and package list, so a change builds a new one. */
export function treeDir(cacheDir = DEFAULT_CACHE_DIR): string {
  const tag = createHash('sha256')
    .update(`${SUITE} ${PACKAGES.join(',')}`)
    .digest('hex')
    .slice(0, 10);
  return join(cacheDir, `${SUITE}-${tag}`);
}
const COMPLETE = '.medic-tree-complete';

/** The Debian mirror apt already uses here (deb822 `.sources` or `sources.list`), else deb.debian.org. */
export function debianMirror(): string {
  const texts: string[] = [];
  for (const dir of ['/etc/apt/sources.list.d']) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.sources') || n.endsWith('.list')))
      texts.push(readFileSync(join(dir, f), 'utf8'));
  }
  if (existsSync('/etc/apt/sources.list')) texts.push(readFileSync('/etc/apt/sources.list', 'utf8'));
  for (const text of texts) {
    for (const m of text.matchAll(/^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/\S+)/gm)) {
      let uri = m[1] as string;
      while (uri.endsWith('/')) uri = uri.slice(0, -1);
      if (/\/debian$/.test(uri)) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

/** Why this machine cannot run the systemd lab, or undefined when it can. */
export function systemdLabUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'the systemd lab needs root (debootstrap, an overlay mount, systemd-nspawn)';
  for (const p of ['/usr/sbin/debootstrap', '/usr/bin/systemd-nspawn', '/usr/bin/nsenter']) {
    if (!existsSync(p)) return `${p} is missing: apt-get install -y debootstrap systemd-container`;
  }
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay'))
    return 'the kernel has no overlay filesystem (needed to boot the cached tree without changing it)';
  return undefined;
}

/**
 * Builds the Debian tree unless the cache has it (about 4 minutes, once). Concurrent callers
 * wait for one build: the first takes a lock directory, the others wait for the marker file.
 */
export async function ensureDebianTree(cacheDir = DEFAULT_CACHE_DIR, log: (line: string) => void = () => {}): Promise<string> {
  const tree = treeDir(cacheDir);
  if (existsSync(join(tree, COMPLETE))) return tree;
  await mkdir(cacheDir, { recursive: true });
  const lock = `${tree}.lock`;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (owner > 0 && !isAlive(owner)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (existsSync(join(tree, COMPLETE))) return tree;
      await sleep(1000);
    }
  }
  try {
    await writeFile(join(lock, 'pid'), String(process.pid));
    if (existsSync(join(tree, COMPLETE))) return tree;
    const building = `${tree}.building`;
    await rm(building, { recursive: true, force: true });
    const mirror = debianMirror();
    log(`building the Debian ${SUITE} tree with debootstrap from ${mirror} (about 4 minutes, once; cached in ${tree})`);
    const logFile = `${tree}.debootstrap.log`;
    const fd = openSync(logFile, 'w');
    try {
      const child = spawn('/usr/sbin/debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, building, mirror], {
        stdio: ['ignore', fd, fd],
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (c) => resolve(c));
      });
      if (code !== 0) {
        const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
        throw new Error(`debootstrap failed (exit ${code}); the end of ${logFile}:\n${tail}`);
      }
    } finally {
      closeSync(fd);
    }
    await writeFile(join(building, COMPLETE), `${new Date().toISOString()} ${mirror}\n`);
    await rm(tree, { recursive: true, force: true });
    await rename(building, tree);
    return tree;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export interface SystemdHostState {
  /** The cached Debian tree (the overlay's read-only lower layer). */
  tree: string;
  dir: string;
  root: string;
  nspawnPid: number;
  sshPort: number;
  httpPort: number;
  inventoryPath: string;
}

/** The nginx site: Debian's default site, on a free loopback port, with PHP through the stock socket. */
export function renderSite(httpPort: number, fastcgiPass = 'unix:/run/php/php8.2-fpm.sock', appPort?: number): string {
  return `# gateway-medic systemd lab: Debian's default site, moved to a free loopback port.
server {
	listen 127.0.0.1:${httpPort} default_server;
	root /var/www/html;
	index index.php index.html;
	server_name _;
	location / {
		try_files $uri $uri/ =404;
	}
	location ~ \\.php$ {
		include snippets/fastcgi-php.conf;
		fastcgi_pass ${fastcgiPass};
	}
${appPort === undefined ? '' : `\tlocation /app/ {\n\t\tproxy_pass http://127.0.0.1:${appPort};\n\t}\n`}}
`;
}

const SLOW_PHP = '<?php usleep(min(5000, (int)($_GET["ms"] ?? 500)) * 1000); echo "slow\\n";\n';

/** A booted systemd host. Everything it started is stopped by {@link stop}. */
export class SystemdHost {
  constructor(readonly state: SystemdHostState) {}

  get root(): string {
    return this.state.root;
  }

  /** The pid of the container's systemd (pid 1 inside), a child of systemd-nspawn. */
  leaderPid(): number | undefined {
    return childrenOf(this.state.nspawnPid)[0];
  }

  /** Runs a program inside the container as root (lab set-up only; the bot goes through SSH). */
  async exec(argv: readonly string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string; code: number }> {
    const leader = this.leaderPid();
    if (leader === undefined) throw new Error('the systemd lab host is not running');
    const nsenter = [
      '-t',
      String(leader),
      '-m',
      '-u',
      '-i',
      '-n',
      '-p',
      '-r',
      '-w',
      '--',
      '/usr/bin/env',
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      ...argv,
    ];
    try {
      const { stdout, stderr } = await run('/usr/bin/nsenter', nsenter, { timeout: timeoutMs });
      return { stdout, stderr, code: 0 };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: number | string };
      return { stdout: err.stdout ?? '', stderr: err.stderr ?? String(e), code: typeof err.code === 'number' ? err.code : 1 };
    }
  }

  async mustExec(argv: readonly string[], timeoutMs = 60_000): Promise<string> {
    const r = await this.exec(argv, timeoutMs);
    if (r.code !== 0)
      throw new Error(`${argv.join(' ')} in the systemd lab host failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** A file of the container, by its path inside. */
  path(inside: string): string {
    return join(this.state.root, inside);
  }

  async writeFileInside(inside: string, text: string): Promise<void> {
    await writeFile(this.path(inside), text);
  }

  /** The unit's MainPID as systemd sees it inside (0 when it is not running). */
  async mainPid(unit: string): Promise<number> {
    return Number((await this.mustExec(['systemctl', 'show', '-p', 'MainPID', '--value', unit])).trim());
  }

  async activeState(unit: string): Promise<string> {
    return (await this.exec(['systemctl', 'is-active', unit])).stdout.trim();
  }

  async stop(): Promise<void> {
    const { nspawnPid, dir, root } = this.state;
    // systemd-nspawn turns SIGTERM into an orderly halt of the container's systemd.
    if (isAlive(nspawnPid)) await stopPid(nspawnPid, 'SIGTERM', 60_000);
    await unmount(root);
    await rm(dir, { recursive: true, force: true });
  }
}

async function unmount(root: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const mounted = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === root);
    if (!mounted) return;
    await run('/usr/bin/umount', [root]).catch(() => undefined);
    await sleep(100);
  }
  throw new Error(`could not unmount ${root}`);
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface StartSystemdHostOptions {
  cacheDir?: string;
  log?: (line: string) => void;
  /** How long the boot may take. @defaultValue 120000 */
  bootTimeoutMs?: number;
}

/**
 * Builds or reuses the tree, configures the bot's login user, its key and the Deploying section's sudo
 * rules inside an overlay of it, boots it, and writes an inventory that sets no facts.
 */
export async function startSystemdHost(options: StartSystemdHostOptions = {}): Promise<SystemdHost> {
  const unsupported = systemdLabUnsupported();
  if (unsupported !== undefined) throw new Error(`cannot start the systemd lab host: ${unsupported}`);
  const log = options.log ?? (() => {});
  const tree = await ensureDebianTree(options.cacheDir, log);
  const dir = await mkdtemp(join(tmpdir(), 'medic-systemd-'));
  await chmod(dir, 0o755);
  const root = join(dir, 'root');
  for (const d of ['upper', 'work', 'root']) await mkdir(join(dir, d));
  await run('/usr/bin/mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${tree},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`,
    root,
  ]);
  let nspawnPid: number | undefined;
  try {
    const sshPort = await freePort();
    const httpPort = await freePort();
    const key = await generateKeyPair(dir, 'id_ed25519');
    await configureTree(root, { sshPort, httpPort, publicKey: key.publicKey });

    const consoleLog = join(dir, 'console.log');
    const fd = openSync(consoleLog, 'w');
    const machine = `medic-${dir
      .slice(-6)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`;
    const child = spawn('/usr/bin/systemd-nspawn', ['-D', root, '-b', '--register=no', '--keep-unit', '-M', machine, '--console=pipe'], {
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    child.unref();
    if (child.pid === undefined) throw new Error('systemd-nspawn did not start');
    nspawnPid = child.pid;
    const host = new SystemdHost({ tree, dir, root, nspawnPid, sshPort, httpPort, inventoryPath: join(dir, 'inventory.yaml') });

    const why = async (): Promise<string> => (await readFile(consoleLog, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
    const bootTimeout = options.bootTimeoutMs ?? 120_000;
    try {
      const deadline = Date.now() + bootTimeout;
      // The container's pid 1 is systemd-nspawn's child once it has executed systemd.
      await waitFor(
        "the container's systemd to start",
        () => {
          if (!isAlive(nspawnPid as number)) throw new Error('systemd-nspawn exited');
          const leader = host.leaderPid();
          if (leader === undefined) return undefined;
          // The child may still be the short-lived intermediate process, or gone already.
          const comm = (() => {
            try {
              return readFileSync(`/proc/${leader}/comm`, 'utf8').trim();
            } catch {
              return '';
            }
          })();
          return comm === 'systemd' ? leader : undefined;
        },
        30_000,
      );
      // is-system-running --wait returns once boot is over ("running", or "degraded" with a failed
      // unit); "offline" until systemd's own bus is up.
      let state = '';
      while (!/^(running|degraded)/.test(state)) {
        if (Date.now() > deadline) throw new Error(`the container's systemd still says ${JSON.stringify(state)} after ${bootTimeout} ms`);
        if (!isAlive(nspawnPid)) throw new Error('systemd-nspawn exited');
        const r = await host.exec(['systemctl', 'is-system-running', '--wait'], Math.max(1000, deadline - Date.now()));
        state = (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '';
        if (!/^(running|degraded)/.test(state)) await sleep(200);
      }
      for (const unit of [FPM_UNIT, NGINX_UNIT, 'ssh.service']) {
        const active = await host.activeState(unit);
        if (active !== 'active')
          throw new Error(`${unit} is ${active} after boot:\n${(await host.exec(['systemctl', 'status', '--no-pager', unit])).stdout}`);
      }
      await waitFor(`sshd on 127.0.0.1:${sshPort}`, async () => ((await portAccepts(sshPort)) ? true : undefined), 30_000);
    } catch (e) {
      throw new Error(`the systemd lab host did not boot (systemd-nspawn -b): ${errorMessage(e)}\nconsole:\n${await why()}`, {
        cause: e,
      });
    }

    const hostKey = (await readFile(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).trim();
    const knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, `${knownHostsLine('127.0.0.1', sshPort, hostKey)}\n`);
    await writeFile(
      host.state.inventoryPath,
      [
        '# The systemd lab host: stock Debian 12 under systemd. No facts: discovery finds everything.',
        'hosts:',
        `  ${SYSTEMD_HOST}:`,
        '    address: 127.0.0.1',
        `    port: ${sshPort}`,
        `    user: ${SYSTEMD_LOGIN_USER}`,
        `    privateKeyPath: ${key.privateKeyPath}`,
        `    knownHostsPath: ${knownHosts}`,
        '    sudo: true',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'state.json'), JSON.stringify(host.state, null, 2));
    return host;
  } catch (e) {
    if (nspawnPid !== undefined && isAlive(nspawnPid)) await stopPid(nspawnPid, 'SIGTERM', 60_000);
    await unmount(root).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Writes the per-run configuration into the overlay, before boot. */
async function configureTree(root: string, c: { sshPort: number; httpPort: number; publicKey: string }): Promise<void> {
  const at = (p: string): string => join(root, p);
  await writeFile(at('etc/hostname'), 'medic-systemd\n');
  const hosts = await readFile(at('etc/hosts'), 'utf8').catch(() => '');
  if (!hosts.includes('medic-systemd')) await writeFile(at('etc/hosts'), `${hosts}127.0.1.1 medic-systemd\n`);

  // The bot's login user, as an operator would create it: a key, no password.
  const passwd = await readFile(at('etc/passwd'), 'utf8');
  if (!new RegExp(`^${SYSTEMD_LOGIN_USER}:`, 'm').test(passwd)) {
    await run('/usr/sbin/chroot', [root, '/usr/sbin/useradd', '-m', '-s', '/bin/bash', SYSTEMD_LOGIN_USER]);
  }
  const ids = (await readFile(at('etc/passwd'), 'utf8'))
    .split('\n')
    .find((l) => l.startsWith(`${SYSTEMD_LOGIN_USER}:`))
    ?.split(':');
  const uid = Number(ids?.[2]);
  const gid = Number(ids?.[3]);
  const ssh = at(`home/${SYSTEMD_LOGIN_USER}/.ssh`);
  await mkdir(ssh, { recursive: true, mode: 0o700 });
  await writeFile(join(ssh, 'authorized_keys'), `${c.publicKey.trim()}\n`, { mode: 0o600 });
  await chown(ssh, uid, gid);
  await chown(join(ssh, 'authorized_keys'), uid, gid);

  // The Deploying section's sudo rules, checked by visudo inside before boot.
  await writeFile(at('etc/sudoers.d/medic'), renderDeploySudoers(SYSTEMD_LOGIN_USER), { mode: 0o440 });
  await run('/usr/sbin/chroot', [root, '/usr/sbin/visudo', '-cf', '/etc/sudoers.d/medic']);

  // Shared network: sshd and nginx on free loopback ports, nothing on :22 or :80.
  await writeFile(at('etc/ssh/sshd_config.d/medic-lab.conf'), `Port ${c.sshPort}\nListenAddress 127.0.0.1\nPasswordAuthentication no\n`);
  await writeFile(at('etc/nginx/sites-available/default'), renderSite(c.httpPort));
  await writeFile(at('var/www/html/index.php'), '<?php echo "ok\\n";\n');
  await writeFile(at('var/www/html/slow.php'), SLOW_PHP);
  // Nothing else that would listen or touch this machine's network.
  for (const unit of [
    'systemd-networkd.service',
    'systemd-networkd.socket',
    'systemd-resolved.service',
    'systemd-timesyncd.service',
    'console-getty.service',
  ]) {
    await rm(at(`etc/systemd/system/${unit}`), { force: true });
    await run('/usr/bin/ln', ['-s', '/dev/null', at(`etc/systemd/system/${unit}`)]);
  }
}
