import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import { errorMessage } from '../errors.ts';

const run = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export interface StartSshdOptions {
  /**
   * The login user. The lab passes an unprivileged user it created; the files that user must read
   * (authorized_keys and the directory holding it) are made world-readable.
   * @defaultValue the current user
   */
  user?: string;
  /** Where config, keys and known_hosts go; its parents must be traversable by `user`. @defaultValue a new temp dir */
  dir?: string;
  /**
   * More sshd_config lines (e.g. `MaxSessions 2`). sshd keeps the first value of a keyword, so
   * these go before ours and override them; from a `Match` line on, they go last.
   */
  extraConfig?: string[];
  /** How long to wait for the banner. @defaultValue 10000 */
  startTimeoutMs?: number;
}

export interface SshdHandle {
  host: '127.0.0.1';
  port: number;
  user: string;
  /** The login user's private key (its public half is in authorized_keys). */
  clientKeyPath: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 …` for this server's host key. */
  knownHostsPath: string;
  hostKeyPath: string;
  /** The host key's public line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  pid: number;
  dir: string;
  /** What sshd wrote to stderr so far (LogLevel VERBOSE), for assertions and debugging. */
  log(): string;
  /** Stops the listener and every connection it spawned (by pid), then waits for the exit. */
  stop(): Promise<void>;
}

export interface KeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  /** `ssh-ed25519 AAAA… comment` (or the key's own type) */
  publicKey: string;
}

/** The kind of key generateKeyPair makes: ssh-keygen's `-t`, and `-b` where it applies. */
export interface KeyKind {
  /** @defaultValue 'ed25519' */
  type?: 'ed25519' | 'rsa' | 'ecdsa';
  bits?: number;
}

/** Creates a key pair (ed25519 unless `kind` says) without a passphrase at `dir/name` and `dir/name.pub`. */
export async function generateKeyPair(dir: string, name: string, kind: KeyKind = {}): Promise<KeyPair> {
  const privateKeyPath = join(dir, name);
  const bits = kind.bits === undefined ? [] : ['-b', String(kind.bits)];
  await run(SSH_KEYGEN, ['-q', '-t', kind.type ?? 'ed25519', ...bits, '-N', '', '-C', `medic-lab-${name}`, '-f', privateKeyPath]);
  const publicKey = (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim();
  return { privateKeyPath, publicKeyPath: `${privateKeyPath}.pub`, publicKey };
}

/** The known_hosts line OpenSSH writes for `host:port` (bracketed unless the port is 22). */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
  const [type, blob] = publicKey.trim().split(/\s+/);
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${type} ${blob}`;
}

/**
 * Writes a known_hosts file at `path` that names a freshly generated key for the server, so
 * connecting to it looks like the host key changed.
 */
export async function writeKnownHostsWithOtherKey(handle: SshdHandle, path: string): Promise<string> {
  const other = await generateKeyPair(handle.dir, `other-host-key-${Date.now()}`);
  await writeFile(path, `${knownHostsLine(handle.host, handle.port, other.publicKey)}\n`);
  return other.publicKey;
}

/** Starts a real OpenSSH server on 127.0.0.1 and a free port, all state in one directory. */
export async function startSshd(options: StartSshdOptions = {}): Promise<SshdHandle> {
  const user = options.user ?? userInfo().username;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'medic-sshd-')));
  await mkdir(dir, { recursive: true });
  // sshd reads authorized_keys as the login user, who must be able to enter the directory.
  await chmod(dir, 0o755);
  // Privilege separation directory; Debian creates it from the systemd unit, which we do not use.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKey = await generateKeyPair(dir, 'ssh_host_ed25519_key');
  const client = await generateKeyPair(dir, 'client_ed25519');
  const authorizedKeysPath = join(dir, 'authorized_keys');
  await writeFile(authorizedKeysPath, `${client.publicKey}\n`);
  await chmod(authorizedKeysPath, 0o644);

  // The port is picked then released; another process may take it first, so retry a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch({ dir, user, port, hostKey, client, authorizedKeysPath, options });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

interface LaunchArgs {
  dir: string;
  user: string;
  port: number;
  hostKey: KeyPair;
  client: KeyPair;
  authorizedKeysPath: string;
  options: StartSshdOptions;
}

async function launch(a: LaunchArgs): Promise<SshdHandle> {
  const configPath = join(a.dir, 'sshd_config');
  const pidFile = join(a.dir, 'sshd.pid');
  const extra = a.options.extraConfig ?? [];
  const matchAt = extra.findIndex((l) => /^\s*Match\s/i.test(l));
  const [overrides, matchBlocks] = matchAt === -1 ? [extra, []] : [extra.slice(0, matchAt), extra.slice(matchAt)];
  const config = [
    ...overrides,
    'ListenAddress 127.0.0.1',
    `Port ${a.port}`,
    `HostKey ${a.hostKey.privateKeyPath}`,
    `PidFile ${pidFile}`,
    `AuthorizedKeysFile ${a.authorizedKeysPath}`,
    `AllowUsers ${a.user}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 10',
    'LogLevel VERBOSE',
    'PrintMotd no',
    'Subsystem sftp internal-sftp',
    ...matchBlocks,
  ];
  await writeFile(configPath, `${config.join('\n')}\n`);
  const knownHostsPath = join(a.dir, 'known_hosts');
  await writeFile(knownHostsPath, `${knownHostsLine('127.0.0.1', a.port, a.hostKey.publicKey)}\n`);

  const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Keep the tail only (a long test run must not grow this without bound), trimmed now and then
  // rather than on every chunk: copying 256 KiB per line of sshd's log cost the process that
  // runs the lab (a benchmark, a test) a few hundred microseconds per connection.
  const KEEP = 256 * 1024;
  let chunks: string[] = [];
  let size = 0;
  const append = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    chunks.push(text);
    size += text.length;
    if (size > 2 * KEEP) {
      chunks = [chunks.join('').slice(-KEEP)];
      size = KEEP;
    }
  };
  const tail = (): string => {
    const text = chunks.join('');
    chunks = [text];
    return text.slice(-KEEP);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${SSHD}`);
  // A crashed test run must not leave sshd behind: kill it by pid when this process exits.
  const onExit = (): void => killTree(pid, 'SIGKILL');
  process.once('exit', onExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      killTree(pid, 'SIGTERM');
      const timer = setTimeout(() => killTree(pid, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    // A directory made here (keys, config) is ours to remove; one the caller gave (the lab's) is theirs.
    if (a.options.dir === undefined) await rm(a.dir, { recursive: true, force: true });
  };

  try {
    await waitForBanner(a.port, a.options.startTimeoutMs ?? 10_000, exited);
  } catch (e) {
    await stop();
    throw new Error(`sshd did not start on 127.0.0.1:${a.port}: ${errorMessage(e)}\n${tail()}`, { cause: e });
  }
  return {
    host: '127.0.0.1',
    port: a.port,
    user: a.user,
    clientKeyPath: a.client.privateKeyPath,
    knownHostsPath,
    hostKeyPath: a.hostKey.privateKeyPath,
    hostPublicKey: a.hostKey.publicKey,
    pid,
    dir: a.dir,
    log: tail,
    stop,
  };
}

/** Resolves once the port answers with an SSH identification line; rejects if sshd exits first. */
async function waitForBanner(port: number, timeoutMs: number, exited: Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error('sshd exited');
    if (await readBanner(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no SSH banner within ${timeoutMs} ms`);
}

function readBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let seen = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('\n')) done(seen.startsWith('SSH-2.0-'));
    });
    socket.on('end', () => done(false));
  });
}

/**
 * Signals `pid` and all its descendants. The per-connection sshd processes outlive the listener
 * (they call setsid), so stopping only the listener would leave sessions running.
 */
function killTree(pid: number, signal: NodeJS.Signals): void {
  for (const p of [...descendantsSync(pid), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

function descendantsSync(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of processTable()) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

// Synchronous because it also runs from process 'exit', where no async work is possible.
function processTable(): { pid: number; ppid: number }[] {
  const rows: { pid: number; ppid: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses; fields resume after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      rows.push({ pid: Number(name), ppid: Number(fields[1]) });
    } catch {
      // exited while we looked
    }
  }
  return rows;
}

/** Lists the pids sshd spawned (per-connection processes), for tests that check clean-up. */
export function sshdChildren(handle: SshdHandle): number[] {
  return descendantsSync(handle.pid);
}
