import { errorMessage, MedicError } from '../../errors.ts';
import { checkHostKey, fingerprintSha256, keyTypeOfBlob, knownKeysFor } from './known-hosts.ts';

export interface HostKeyTarget {
  host: string;
  port: number;
  knownHostsPath: string;
  /** The file's text; empty when it does not exist. */
  knownHostsText: string;
  knownHostsMissing: boolean;
}

/**
 * Checks the key the server presents during key exchange. ssh2 calls `hostVerifier` with the raw
 * public key blob (SSH wire format: string type, then key data) when `hostHash` is not set; the
 * base64 of that blob is exactly the third field of a known_hosts line.
 *
 * Returning false makes ssh2 fail with a bare "Host denied (verification failed)", so the reason
 * is kept in `rejection` for the connector to throw instead.
 */
export class HostKeyVerifier {
  rejection: MedicError | undefined;
  /** Type and fingerprint of the key the server presented, once it has. */
  presented: { keyType: string; fingerprint: string } | undefined;

  constructor(private readonly t: HostKeyTarget) {}

  /** Host key algorithms to offer, the ones known_hosts has for this host first, as `ssh` does. */
  preferredAlgorithms(): string[] {
    const known = new Set(knownKeysFor(this.t.knownHostsText, this.t.host, this.t.port).map((e) => e.keyType));
    const rank = (algo: string): number => (known.has(algo.startsWith('rsa-sha2-') ? 'ssh-rsa' : algo) ? 0 : 1);
    return [...DEFAULT_HOST_KEY_ALGORITHMS].sort((a, b) => rank(a) - rank(b));
  }

  readonly verify = (key: Buffer): boolean => {
    try {
      return this.check(key);
    } catch (e) {
      this.rejection = new MedicError('SSH_HOST_KEY_UNKNOWN', `Could not check the host key of ${this.name()}: ${errorMessage(e)}`, {
        cause: e,
      });
      return false;
    }
  };

  private check(key: Buffer): boolean {
    const keyType = keyTypeOfBlob(key) ?? 'unknown-type';
    const fingerprint = fingerprintSha256(key);
    this.presented = { keyType, fingerprint };
    const verdict = checkHostKey(this.t.knownHostsText, this.t.host, this.t.port, keyType, key.toString('base64'));
    if (verdict === 'match') return true;
    this.rejection = verdict === 'unknown' ? this.unknown(keyType, fingerprint) : this.changed(keyType, fingerprint, verdict);
    return false;
  }

  private name(): string {
    return `${this.t.host}:${this.t.port}`;
  }

  private unknown(keyType: string, fingerprint: string): MedicError {
    const { host, port, knownHostsPath, knownHostsText, knownHostsMissing } = this.t;
    const others = [...new Set(knownKeysFor(knownHostsText, host, port).map((e) => e.keyType))];
    const context = knownHostsMissing
      ? ` (${knownHostsPath} does not exist)`
      : others.length > 0
        ? ` (it has ${others.join(', ')} keys for this host, but not ${keyType})`
        : '';
    return new MedicError(
      'SSH_HOST_KEY_UNKNOWN',
      `Refusing to connect to ${this.name()}: its host key is not in ${knownHostsPath}${context}. ` +
        `The server presented ${keyType} ${fingerprint}. Verify this fingerprint out of band ` +
        `(on the host: ssh-keygen -lf /etc/ssh/ssh_host_${keyscanType(keyType)}_key.pub), then add it: ` +
        `ssh-keyscan -p ${port} -t ${keyscanType(keyType)} ${host} >> ${knownHostsPath}`,
    );
  }

  private changed(keyType: string, fingerprint: string, verdict: 'changed' | 'revoked'): MedicError {
    const { host, port, knownHostsPath, knownHostsText } = this.t;
    if (verdict === 'revoked') {
      return new MedicError(
        'SSH_HOST_KEY_CHANGED',
        `Refusing to connect to ${this.name()}: it presented ${keyType} ${fingerprint}, which ${knownHostsPath} marks @revoked. ` +
          'Someone may be impersonating the host with a compromised key; find out before going further.',
      );
    }
    const expected = knownKeysFor(knownHostsText, host, port)
      .filter((e) => e.keyType === keyType)
      .map((e) => `${e.keyType} ${fingerprintSha256(e.keyBase64)} (line ${e.line})`);
    const entryName = port === 22 ? host : `[${host}]:${port}`;
    return new MedicError(
      'SSH_HOST_KEY_CHANGED',
      `Refusing to connect to ${this.name()}: its host key has CHANGED, possible man-in-the-middle attack ` +
        `(or the host was reinstalled). ${knownHostsPath} expects ${expected.join(', ')}; ` +
        `the server presented ${keyType} ${fingerprint}. Verify the new fingerprint out of band; only then remove the old entry ` +
        `(ssh-keygen -R '${entryName}' -f ${knownHostsPath}) and add the new one.`,
    );
  }
}

/**
 * ssh2's default host key algorithms, in its own order, without `ssh-rsa`: that is an RSA key
 * signed with SHA-1, which OpenSSH itself stopped accepting in 8.8. An RSA host key still
 * works through `rsa-sha2-512`/`rsa-sha2-256`; a server that can sign only with SHA-1 is refused.
 */
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
] as const;

/** The `-t` name ssh-keyscan and the host key file names use. */
function keyscanType(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ed25519';
  if (keyType.startsWith('ecdsa-')) return 'ecdsa';
  if (keyType === 'ssh-rsa') return 'rsa';
  return keyType;
}
