import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import type { NodeSSH } from 'node-ssh';
import type { Logger } from 'pino';
import type { ConnectConfig, ParsedKey, PublicKeyAuthMethod, utils as Ssh2Utils } from 'ssh2';
import { errorMessage, MedicError } from '../../errors.ts';
import type { HostConnector, TargetHost } from '../../jobs/ports.ts';
import { type ConnectTarget, mapConnectError } from './connect-error.ts';
import { ChannelSlots } from './channel-slots.ts';
import { ignoreHostKeyAnnouncements } from './host-key-announcements.ts';
import { HostKeyVerifier } from './host-key-verifier.ts';
import { SshCommandRunner } from './ssh-command-runner.ts';

export interface SshConnectorOptions {
  /** The TCP connection must open within this (else SSH_CONNECT_TIMEOUT). @defaultValue 5000 */
  connectTimeoutMs?: number;
  /**
   * Once TCP is up, the SSH handshake (banner, key exchange, authentication) must finish within
   * this, else SSH_NOT_ANSWERING: a port that takes connections and says nothing is a hung
   * sshd or host. A healthy sshd answers in well under a second.
   * @defaultValue 8000
   */
  handshakeTimeoutMs?: number;
  /**
   * Commands running at once over one connection; the rest wait. Kept below OpenSSH's default
   * MaxSessions (10), which refuses further session channels.
   * @defaultValue 8
   */
  maxChannels?: number;
  /** Bytes kept of stdout and of stderr each when a command does not say. @defaultValue 1048576 (1 MiB) */
  defaultMaxBytes?: number;
  /** SSH-level keepalive; 0 turns it off. @defaultValue 3000 */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the host counts as not answering (so about 12 s by default). @defaultValue 3 */
  keepaliveCountMax?: number;
  /**
   * Handshakes in flight at once to one address and port; more wait their turn. sshd drops new
   * unauthenticated connections at random beyond its MaxStartups (10:30:100 by default), and a
   * fleet diagnosed at once may reach one sshd many times (a bastion, a shared lab, a host in
   * several groups). Authenticated connections do not count.
   * @defaultValue 8
   */
  maxStartupsPerHost?: number;
  /**
   * How long a read-only command waits for the connection's busy remote shell before another
   * opens for it (each costs the host a session). @defaultValue 100
   */
  shellPatienceMs?: number;
  /** Connection-level events (lost connections) at warn, connects at debug. */
  logger?: Logger;
}

/** What connect() needs of an inventory host. */
export type SshTarget = Pick<TargetHost, 'address' | 'port' | 'user' | 'privateKeyPath' | 'knownHostsPath'>;

/** Opens verified, key-authenticated SSH connections with node-ssh (ssh2). */
export class SshConnector implements HostConnector {
  private readonly o: Required<Omit<SshConnectorOptions, 'logger' | 'shellPatienceMs'>> & { logger?: Logger; shellPatienceMs?: number };
  /** Handshakes in flight per `address:port`; an entry goes when its last handshake ends. */
  private readonly startups = new Map<string, { slots: ChannelSlots; users: number }>();

  constructor(options: SshConnectorOptions = {}) {
    this.o = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 8000,
      maxChannels: options.maxChannels ?? 8,
      defaultMaxBytes: options.defaultMaxBytes ?? 1024 * 1024,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 3000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      maxStartupsPerHost: options.maxStartupsPerHost ?? 8,
      ...(options.shellPatienceMs === undefined ? {} : { shellPatienceMs: options.shellPatienceMs }),
      ...(options.logger ? { logger: options.logger } : {}),
    };
  }

  async connect(host: SshTarget, options: { signal?: AbortSignal } = {}): Promise<SshCommandRunner> {
    const signal = options.signal;
    signal?.throwIfAborted();
    const port = host.port ?? 22;
    const privateKeyPath = expandHome(host.privateKeyPath);
    const knownHostsPath = expandHome(host.knownHostsPath);
    const target: ConnectTarget = {
      host: host.address,
      port,
      user: host.user,
      privateKeyPath,
      connectTimeoutMs: this.o.connectTimeoutMs,
      handshakeTimeoutMs: this.o.handshakeTimeoutMs,
    };
    const keyText = await readPrivateKeyText(privateKeyPath, target);
    const knownHosts = await readKnownHosts(knownHostsPath, target);
    // Checked before anything touches the network once the SSH library is loaded (see below).
    let privateKey = sshLibrary === undefined ? undefined : parsePrivateKey(sshLibrary, keyText, privateKeyPath, target);
    const verifier = new HostKeyVerifier({
      host: host.address,
      port,
      knownHostsPath,
      knownHostsText: knownHosts.text,
      knownHostsMissing: knownHosts.missing,
    });

    const config: ConnectConfig & { privateKey?: never } = {
      host: host.address,
      port,
      username: host.user,
      readyTimeout: this.o.handshakeTimeoutMs,
      keepaliveInterval: this.o.keepaliveIntervalMs,
      keepaliveCountMax: this.o.keepaliveCountMax,
      hostVerifier: verifier.verify,
      algorithms: {
        serverHostKey: verifier.preferredAlgorithms() as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']>,
      },
    };

    let sock: Socket | undefined;
    let ssh: NodeSSH | undefined;
    const onAbort = (): void => {
      sock?.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const gate = `${host.address}:${port}`;
    const release = await this.startupSlot(gate);
    const started = performance.now();
    try {
      signal?.throwIfAborted();
      // TCP first, on its own clock, so that a port that never opens (SSH_CONNECT_TIMEOUT) and one
      // that opens and never answers (SSH_NOT_ANSWERING) are told apart. Opened once a start-up
      // slot is free, so a waiting connection does not count against sshd's MaxStartups.
      const tcp = openTcp(host.address, port, this.o.connectTimeoutMs, target, signal);
      // A process's first connection loads the SSH library (ssh2 and node-ssh, tens of
      // milliseconds of a new `medic`) while TCP opens and sshd prepares its banner.
      let lib = sshLibrary;
      if (lib === undefined) {
        tcp.catch(() => undefined);
        lib = await loadSshLibrary();
      }
      if (privateKey === undefined) {
        try {
          privateKey = parsePrivateKey(lib, keyText, privateKeyPath, target);
        } catch (e) {
          void tcp.then((s) => s.destroy()).catch(() => undefined);
          throw e;
        }
      }
      sock = await tcp;
      const publickey: PublicKeyAuthMethod = { type: 'publickey', username: host.user, key: withoutSha1Signatures(privateKey) };
      ssh = new lib.NodeSSH();
      // Only the key from the inventory: no agent, no password, no keyboard-interactive.
      const connecting = ssh.connect({ ...config, authHandler: [publickey], sock });
      // node-ssh creates ssh2's client and calls its connect() before its first await.
      ignoreHostKeyAnnouncements(ssh.connection);
      await connecting;
    } catch (e) {
      sock?.destroy();
      signal?.throwIfAborted();
      throw verifier.rejection ?? mapConnectError(e, target);
    } finally {
      release();
      signal?.removeEventListener('abort', onAbort);
    }
    const where = `${host.user}@${host.address}:${port}`;
    const connectMs = Math.round(performance.now() - started);
    this.o.logger?.debug(`ssh connected: ${where} in ${connectMs} ms`);
    return new SshCommandRunner(ssh, {
      where,
      maxChannels: this.o.maxChannels,
      defaultMaxBytes: this.o.defaultMaxBytes,
      ...(this.o.shellPatienceMs === undefined ? {} : { shellPatienceMs: this.o.shellPatienceMs }),
      connectedAt: new Date(),
      connectMs,
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
  }

  private async startupSlot(key: string): Promise<() => void> {
    let entry = this.startups.get(key);
    if (entry === undefined) {
      entry = { slots: new ChannelSlots(this.o.maxStartupsPerHost), users: 0 };
      this.startups.set(key, entry);
    }
    entry.users++;
    const release = await entry.slots.acquire();
    const held = entry;
    return () => {
      release();
      if (--held.users === 0 && this.startups.get(key) === held) this.startups.delete(key);
    };
  }
}

/** A TCP connection to host:port within `timeoutMs`, or the MedicError saying why not. */
function openTcp(host: string, port: number, timeoutMs: number, target: ConnectTarget, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // No Nagle: SSH sends many small packets that each wait for an answer (the key exchange, a
    // channel's open, exec and EOF), and Nagle holds each behind the last one's delayed ACK,
    // about 40 ms per exchange. OpenSSH turns it off on interactive sessions for the same reason.
    const sock = netConnect({ host, port, noDelay: true });
    const done = (e?: unknown): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.removeListener('error', done);
      if (e === undefined) return resolve(sock);
      sock.destroy();
      reject(signal?.aborted ? signal.reason : mapConnectError(e, target));
    };
    const onAbort = (): void => done(signal?.reason);
    const timer = setTimeout(
      () => done(Object.assign(new Error(`connect ETIMEDOUT ${host}:${port}`), { code: 'ETIMEDOUT', level: 'client-socket' })),
      timeoutMs,
    );
    sock.once('connect', () => done());
    sock.once('error', done);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The inventory's key, refusing to sign with `ssh-rsa` (RSA with SHA-1). ssh2 signs an RSA key
 * with rsa-sha2-256/512 when the server names them (every OpenSSH since 7.2), and falls back to
 * SHA-1 when it names none; that fallback is refused, and the connection fails saying why.
 */
function withoutSha1Signatures(key: ParsedKey): ParsedKey {
  const guarded = Object.create(key) as ParsedKey;
  // ssh2 reports a failed signature by returning an Error (its typings say Buffer only).
  guarded.sign = (data, algo) =>
    key.type === 'ssh-rsa' && (algo === undefined || algo === 'sha1')
      ? (new Error(
          'refusing to sign with ssh-rsa (RSA with SHA-1): the server offers no rsa-sha2-256 or rsa-sha2-512; use an ed25519 key, or enable rsa-sha2 on the server',
        ) as unknown as Buffer)
      : key.type === 'ssh-ed25519'
        ? signEd25519(key, typeof data === 'string' ? Buffer.from(data) : data)
        : key.sign(data, algo);
  return guarded;
}

/**
 * The inventory's ed25519 keys, ready to sign: ssh2 signs with the key's PEM text, which
 * crypto parses again on every connection (about 0.8 ms of CPU); the parsed key is kept.
 */
const signingKeys = new Map<string, KeyObject>();

function signEd25519(key: ParsedKey, data: Buffer): Buffer {
  try {
    const pem = key.getPrivatePEM();
    let keyObject = signingKeys.get(pem);
    if (keyObject === undefined) {
      // An inventory names a few keys; a worker that met many starts over rather than grow.
      if (signingKeys.size >= 32) signingKeys.clear();
      keyObject = createPrivateKey(pem);
      signingKeys.set(pem, keyObject);
    }
    return cryptoSign(null, data, keyObject);
  } catch (e) {
    return e as Buffer;
  }
}

/** `~` and `~/…` are the worker's home directory, as in ssh_config. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home}${path.slice(1)}`;
  return path;
}

/**
 * ssh2 (CommonJS: its named exports are only reachable through its default export under ESM) and
 * node-ssh, loaded on the first connection: see connect().
 */
interface SshLibrary {
  NodeSSH: typeof NodeSSH;
  utils: typeof Ssh2Utils;
}
let sshLibrary: SshLibrary | undefined;

async function loadSshLibrary(): Promise<SshLibrary> {
  const [{ NodeSSH: nodeSsh }, ssh2] = await Promise.all([import('node-ssh'), import('ssh2')]);
  sshLibrary ??= { NodeSSH: nodeSsh, utils: ssh2.default.utils };
  return sshLibrary;
}

async function readPrivateKeyText(path: string, t: ConnectTarget): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new MedicError(
      'SSH_KEY_UNREADABLE',
      `Cannot read the private key ${path} for ${t.user}@${t.host}:${t.port} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}). Fix privateKeyPath in the inventory or the file's permissions for the medic worker.`,
      { cause: e },
    );
  }
}

function parsePrivateKey(lib: SshLibrary, text: string, path: string, t: ConnectTarget): ParsedKey {
  const parsed = lib.utils.parseKey(text);
  if (parsed instanceof Error) {
    const encrypted = /passphrase|encrypted/i.test(parsed.message);
    throw new MedicError(
      'SSH_KEY_UNREADABLE',
      encrypted
        ? `The private key ${path} for ${t.user}@${t.host}:${t.port} is protected by a passphrase; medic needs a key without one (a dedicated, read-only account's key).`
        : `${path} (privateKeyPath of ${t.user}@${t.host}:${t.port}) is not a private key medic can read: ${parsed.message}. Use an OpenSSH or PEM ed25519, ECDSA or RSA key.`,
      { cause: parsed },
    );
  }
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

async function readKnownHosts(path: string, t: ConnectTarget): Promise<{ text: string; missing: boolean }> {
  try {
    return { text: await readFile(path, 'utf8'), missing: false };
  } catch (e) {
    // A missing file is an empty one, as for ssh: the host key is then unknown, and the message says how to add it.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', missing: true };
    throw new MedicError(
      'SSH_KEY_UNREADABLE',
      `Cannot read the known_hosts file ${path} for ${t.host}:${t.port} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}). Fix knownHostsPath in the inventory or the file's permissions for the medic worker.`,
      { cause: e },
    );
  }
}
