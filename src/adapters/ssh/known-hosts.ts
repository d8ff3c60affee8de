import { createHash, createHmac } from 'node:crypto';
import { wildcardMatch } from '../../core/wildcard-match.ts';

/**
 * OpenSSH known_hosts, read the way `ssh` reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 * Pure: text in, answers out. node:crypto is used for hashing only.
 */

export type KnownHostsMarker = 'cert-authority' | 'revoked';

export interface KnownHostsEntry {
  /** 1-based, for messages that point at the line to fix. */
  line: number;
  marker?: KnownHostsMarker;
  /** Comma-separated patterns as written, or one `|1|salt|hash` hashed name. */
  hosts: string;
  keyType: string;
  keyBase64: string;
}

export type HostKeyVerdict = 'match' | 'unknown' | 'changed' | 'revoked';

/** Parses every well-formed entry; malformed lines are skipped, as `ssh` does. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostsMarker | undefined;
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@cert-authority') marker = 'cert-authority';
      else if (name === '@revoked') marker = 'revoked';
      else return;
    }
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) return;
    entries.push({ line: index + 1, ...(marker ? { marker } : {}), hosts, keyType, keyBase64 });
  });
  return entries;
}

/** The name `ssh` looks up: `host` on port 22, `[host]:port` otherwise; lower case. */
export function lookupName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

/** Whether an entry's host field names `host:port` (negations, wildcards and hashed names included). */
export function entryMatchesHost(entry: KnownHostsEntry, host: string, port: number): boolean {
  const name = lookupName(host, port);
  if (entry.hosts.startsWith('|')) return hashedNameMatches(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(',')) {
    const negated = pattern.startsWith('!');
    const body = (negated ? pattern.slice(1) : pattern).toLowerCase();
    // OpenSSH's match_pattern: `*` any run, `?` any one character, everything else literal.
    if (!wildcardMatch(body, name)) continue;
    // A matching negation vetoes the whole line, whatever else matched.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as written by `ssh-keygen -H` or HashKnownHosts. */
function hashedNameMatches(hashed: string, name: string): boolean {
  const parts = hashed.split('|');
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const expected = Buffer.from(parts[3], 'base64');
  if (salt.length !== 20 || expected.length !== 20) return false;
  const actual = createHmac('sha1', salt).update(name).digest();
  return actual.equals(expected);
}

/**
 * What `ssh` would conclude about the key a server presented. `revoked` wins over everything;
 * `changed` means a key of the same type is known for this host and it is a different one.
 * `@cert-authority` lines never match a plain key: host certificates are not supported.
 */
export function checkHostKey(knownHostsText: string, host: string, port: number, keyType: string, keyBase64: string): HostKeyVerdict {
  const presented = Buffer.from(keyBase64, 'base64');
  let verdict: HostKeyVerdict = 'unknown';
  for (const entry of parseKnownHosts(knownHostsText)) {
    if (!entryMatchesHost(entry, host, port)) continue;
    const same = Buffer.from(entry.keyBase64, 'base64').equals(presented);
    if (entry.marker === 'revoked') {
      if (same) return 'revoked';
      continue;
    }
    if (entry.marker === 'cert-authority') continue;
    if (same) verdict = 'match';
    else if (entry.keyType === keyType && verdict !== 'match') verdict = 'changed';
  }
  return verdict;
}

/** The plain (non-revoked, non-CA) entries for `host:port`, e.g. to tell which key types are known. */
export function knownKeysFor(knownHostsText: string, host: string, port: number): KnownHostsEntry[] {
  return parseKnownHosts(knownHostsText).filter((e) => e.marker === undefined && entryMatchesHost(e, host, port));
}

/** `SHA256:` + unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -l` prints it. */
export function fingerprintSha256(key: Buffer | string): string {
  const blob = typeof key === 'string' ? Buffer.from(key, 'base64') : key;
  // 32 bytes are 44 base64 characters, the last one padding.
  return `SHA256:${createHash('sha256').update(blob).digest('base64').slice(0, 43)}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}
