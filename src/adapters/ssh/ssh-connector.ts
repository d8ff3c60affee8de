import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { NodeSSH } from 'node-ssh';
import type { Logger } from 'pino';
// ssh2 is CommonJS: its named exports are only reachable through the default import under ESM.
import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';
import { MedicError } from '../../errors.ts';
import type { HostConnector, TargetHost } from '../../jobs/ports.ts';
import { type ConnectTarget, mapConnectError } from './connect-error.ts';
import { ChannelSlots } from './channel-slots.ts';
import { HostKeyVerifier } from './host-key-verifier.ts';
import { SshCommandRunner } from './ssh-command-runner.ts';

export interface SshConnectorOptions {
  /** TCP connect, key exchange and authentication together must finish within this. @defaultValue 10000 */
  connectTimeoutMs?: number;
  /**
   * Commands running at once over one connection; the rest wait. Kept below OpenSSH's default
   * MaxSessions (10), which refuses further session channels.
   * @defaultValue 8
   */
  maxChannels?: number;
  /** Bytes kept of stdout and of stderr each when a command does not say. @defaultValue 1048576 (1 MiB) */
  defaultMaxBytes?: number;
  /** SSH-level keepalive; 0 turns it off. @defaultValue 15000 */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost. @defaultValue 3 */
  keepaliveCountMax?: number;
  /**
   * Handshakes in flight at once to one address and port; more wait their turn. sshd drops new
   * unauthenticated connections at random beyond its MaxStartups (10:30:100 by default), and a
   * fleet diagnosed at once may reach one sshd many times (a bastion, a shared lab, a host in
   * several groups). Authenticated connections do not count.
   * @defaultValue 8
   */
  maxStartupsPerHost?: number;
  /** Connection-level events (lost connections) at warn, connects at debug. */
  logger?: Logger;
}

/** What connect() needs of an inventory host. */
export type SshTarget = Pick<TargetHost, 'address' | 'port' | 'user' | 'privateKeyPath' | 'knownHostsPath'>;

/** Opens verified, key-authenticated SSH connections with node-ssh (ssh2). */
export class SshConnector implements HostConnector {
  private readonly o: Required<Omit<SshConnectorOptions, 'logger'>> & { logger?: Logger };
  /** Handshakes in flight per `address:port`; an entry goes when its last handshake ends. */
  private readonly startups = new Map<string, { slots: ChannelSlots; users: number }>();

  constructor(options: SshConnectorOptions = {}) {
    this.o = {
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxChannels: options.maxChannels ?? 8,
      defaultMaxBytes: options.defaultMaxBytes ?? 1024 * 1024,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      maxStartupsPerHost: options.maxStartupsPerHost ?? 8,
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
    };
    const privateKey = await readPrivateKey(privateKeyPath, target);
    const knownHosts = await readKnownHosts(knownHostsPath, target);
    const verifier = new HostKeyVerifier({
      host: host.address,
      port,
      knownHostsPath,
      knownHostsText: knownHosts.text,
      knownHostsMissing: knownHosts.missing,
    });

    const config: ConnectConfig & { privateKey: string } = {
      host: host.address,
      port,
      username: host.user,
      privateKey,
      readyTimeout: this.o.connectTimeoutMs,
      keepaliveInterval: this.o.keepaliveIntervalMs,
      keepaliveCountMax: this.o.keepaliveCountMax,
      hostVerifier: verifier.verify,
      algorithms: { serverHostKey: verifier.preferredAlgorithms() as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      // Only the key from the inventory: no agent, no password, no keyboard-interactive.
      authHandler: ['publickey'],
    };

    const ssh = new NodeSSH();
    const onAbort = (): void => {
      ssh.connection?.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const gate = `${host.address}:${port}`;
    const release = await this.startupSlot(gate);
    const started = performance.now();
    try {
      signal?.throwIfAborted();
      await ssh.connect(config);
    } catch (e) {
      ssh.connection?.destroy();
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

/** `~` and `~/…` are the worker's home directory, as in ssh_config. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home}${path.slice(1)}`;
  return path;
}

async function readPrivateKey(path: string, t: ConnectTarget): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MedicError(
      'SSH_KEY_UNREADABLE',
      `Cannot read the private key ${path} for ${t.user}@${t.host}:${t.port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix privateKeyPath in the inventory or the file's permissions for the medic worker.`,
      { cause: e },
    );
  }
  const parsed = ssh2.utils.parseKey(text);
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
  return text;
}

async function readKnownHosts(path: string, t: ConnectTarget): Promise<{ text: string; missing: boolean }> {
  try {
    return { text: await readFile(path, 'utf8'), missing: false };
  } catch (e) {
    // A missing file is an empty one, as for ssh: the host key is then unknown, and the message says how to add it.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', missing: true };
    throw new MedicError(
      'SSH_KEY_UNREADABLE',
      `Cannot read the known_hosts file ${path} for ${t.host}:${t.port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Fix knownHostsPath in the inventory or the file's permissions for the medic worker.`,
      { cause: e },
    );
  }
}
