import { MedicError } from '../../errors.ts';

/** Who we were trying to reach, for messages that name it. */
export interface ConnectTarget {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** For the TCP connection. */
  connectTimeoutMs: number;
  /** For the SSH handshake once TCP is up. @defaultValue connectTimeoutMs */
  handshakeTimeoutMs?: number;
}

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']);
const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Turns what node:net, ssh2 and node-ssh throw while connecting into one MedicError whose message
 * names host:port and user and says what to do. ssh2 tags its own errors with `level`
 * (`client-socket`, `client-timeout`, `client-authentication`, `client-dns`, `protocol`, `handshake`);
 * socket errors carry the errno `code`.
 */
export function mapConnectError(error: unknown, t: ConnectTarget): MedicError {
  if (error instanceof MedicError) return error;
  const e = (error ?? {}) as { code?: unknown; level?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const level = typeof e.level === 'string' ? e.level : '';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const where = `${t.user}@${t.host}:${t.port}`;
  const cause = { cause: error };

  if (code === 'ECONNREFUSED') {
    return new MedicError(
      'SSH_CONNECTION_REFUSED',
      `${t.host}:${t.port} refused the connection (connecting as ${t.user}): nothing listens on that port. Check the address and port in the inventory, and that sshd runs on the host.`,
      cause,
    );
  }
  if (UNREACHABLE.has(code) || level === 'client-dns') {
    const why =
      code === 'ENOTFOUND' || code === 'EAI_NONAME'
        ? `the name ${t.host} does not resolve`
        : code === 'EAI_AGAIN' || code === 'EAI_FAIL'
          ? `looking up ${t.host} failed (DNS temporarily unavailable)`
          : `there is no route to ${t.host} (${code})`;
    return new MedicError(
      'SSH_UNREACHABLE',
      `Cannot reach ${where}: ${why}. Check the address in the inventory, DNS and the network path from this worker.`,
      cause,
    );
  }
  if (code === 'ETIMEDOUT' && level === 'client-socket') {
    return new MedicError(
      'SSH_CONNECT_TIMEOUT',
      `No TCP connection to ${where} within ${t.connectTimeoutMs} ms. Check that the host is up and that a firewall lets this worker reach port ${t.port}.`,
      cause,
    );
  }
  // ssh2's timeouts (handshake, keepalive) run once TCP is up: the port took the connection and
  // nothing answered on it, which is a hung host or sshd, not a network that drops packets.
  if (level === 'client-timeout') {
    return new MedicError(
      'SSH_NOT_ANSWERING',
      `${where} is not answering: the TCP connection opened, but no SSH handshake within ${t.handshakeTimeoutMs ?? t.connectTimeoutMs} ms (sshd or the whole host is hung or overloaded). Check the host from its console or provider, then diagnose again.`,
      cause,
    );
  }
  if (level === 'client-authentication') {
    return new MedicError(
      'SSH_AUTH_FAILED',
      `${where} did not accept the key ${t.privateKeyPath}. Check the user in the inventory and that the matching public key is in that user's ~/.ssh/authorized_keys on the host.`,
      cause,
    );
  }
  if (message.startsWith('Handshake failed: no matching')) {
    return new MedicError(
      'SSH_HANDSHAKE_FAILED',
      `${t.host}:${t.port} and medic have no algorithm in common (${message}). Enable a modern KexAlgorithms/HostKeyAlgorithms/Ciphers set in the host's sshd_config.`,
      cause,
    );
  }
  if (DROPPED.has(code) || message === 'Connection lost before handshake' || message === 'No response from server') {
    return new MedicError(
      'SSH_LOST',
      `${t.host}:${t.port} closed the connection before the SSH handshake finished (${code || message}). Retry; if it recurs, check sshd's log on the host (MaxStartups, tcp wrappers, fail2ban).`,
      cause,
    );
  }
  return new MedicError('SSH_LOST', `Connecting to ${where} failed: ${message}. Retry; if it recurs, check the host.`, cause);
}
