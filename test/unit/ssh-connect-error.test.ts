import { describe, expect, it } from 'vitest';
import { mapConnectError } from '../../src/adapters/ssh/connect-error.ts';
import { expandHome } from '../../src/adapters/ssh/ssh-connector.ts';
import { MedicError } from '../../src/errors.ts';

const target = { host: 'web-01.example.com', port: 2222, user: 'oncall', privateKeyPath: '/keys/id_ed25519', connectTimeoutMs: 10_000 };

/** Shaped like what node:net and ssh2 emit: an Error with an errno `code` and/or ssh2's `level`. */
function raised(message: string, fields: { code?: string; level?: string } = {}): Error {
  return Object.assign(new Error(message), fields);
}

describe('mapConnectError', () => {
  it.each([
    ['ECONNREFUSED', 'client-socket', 'SSH_CONNECTION_REFUSED'],
    ['EHOSTUNREACH', 'client-socket', 'SSH_UNREACHABLE'],
    ['ENETUNREACH', 'client-socket', 'SSH_UNREACHABLE'],
    ['EHOSTDOWN', 'client-socket', 'SSH_UNREACHABLE'],
    ['ENOTFOUND', 'client-socket', 'SSH_UNREACHABLE'],
    ['EAI_AGAIN', 'client-socket', 'SSH_UNREACHABLE'],
    ['ETIMEDOUT', 'client-socket', 'SSH_CONNECT_TIMEOUT'],
    ['ECONNRESET', 'client-socket', 'SSH_LOST'],
  ])('errno %s → %s', (code, level, expected) => {
    const e = mapConnectError(raised(`connect ${code} 10.0.0.11:2222`, { code, level }), target);
    expect(e).toBeInstanceOf(MedicError);
    expect(e.code).toBe(expected);
    expect(e.message).toContain('web-01.example.com');
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('names host:port and user and says what to check', () => {
    const refused = mapConnectError(raised('connect ECONNREFUSED', { code: 'ECONNREFUSED' }), target);
    expect(refused.message).toContain('web-01.example.com:2222');
    expect(refused.message).toContain('oncall');
    expect(refused.message).toMatch(/sshd runs/);

    expect(mapConnectError(raised('getaddrinfo ENOTFOUND', { code: 'ENOTFOUND' }), target).message).toContain(
      'the name web-01.example.com does not resolve',
    );
    expect(mapConnectError(raised('getaddrinfo EAI_AGAIN', { code: 'EAI_AGAIN' }), target).message).toContain('DNS');
    expect(mapConnectError(raised('connect EHOSTUNREACH', { code: 'EHOSTUNREACH' }), target).message).toContain('no route');
  });

  it('maps ssh2 levels: handshake timeout, authentication, DNS lookup', () => {
    // TCP was up (ssh2's timer starts with it): a hung sshd, not a connect timeout.
    const timeout = mapConnectError(raised('Timed out while waiting for handshake', { level: 'client-timeout' }), target);
    expect(timeout.code).toBe('SSH_NOT_ANSWERING');
    expect(timeout.message).toContain('10000 ms');
    expect(timeout.message).toContain('is not answering');
    expect(timeout.retryable).toBe(false);

    const auth = mapConnectError(raised('All configured authentication methods failed', { level: 'client-authentication' }), target);
    expect(auth.code).toBe('SSH_AUTH_FAILED');
    expect(auth.message).toContain('oncall@web-01.example.com:2222');
    expect(auth.message).toContain('/keys/id_ed25519');
    expect(auth.retryable).toBe(false);

    expect(mapConnectError(raised("Error while looking up IPv4 address for 'x'", { level: 'client-dns' }), target).code).toBe(
      'SSH_UNREACHABLE',
    );
  });

  it('no algorithm in common is not retried; a connection closed before the handshake is', () => {
    const noAlgo = mapConnectError(raised('Handshake failed: no matching key exchange algorithm', { level: 'handshake' }), target);
    expect(noAlgo.code).toBe('SSH_HANDSHAKE_FAILED');
    expect(noAlgo.retryable).toBe(false);

    const early = mapConnectError(raised('Connection lost before handshake', { level: 'protocol' }), target);
    expect(early.code).toBe('SSH_LOST');
    expect(early.retryable).toBe(true);

    // node-ssh's own rejection when the socket closes first carries code ETIMEDOUT, but is no timeout.
    const nodeSsh = mapConnectError(raised('No response from server', { code: 'ETIMEDOUT' }), target);
    expect(nodeSsh.code).toBe('SSH_LOST');
  });

  it('passes MedicErrors through and wraps anything else as SSH_LOST', () => {
    const original = new MedicError('SSH_HOST_KEY_CHANGED', 'x');
    expect(mapConnectError(original, target)).toBe(original);
    expect(mapConnectError('weird', target).code).toBe('SSH_LOST');
  });
});

describe('expandHome', () => {
  it('expands ~ and ~/ only', () => {
    expect(expandHome('~/.ssh/id_ed25519', '/home/medic')).toBe('/home/medic/.ssh/id_ed25519');
    expect(expandHome('~', '/home/medic')).toBe('/home/medic');
    expect(expandHome('/etc/medic/key', '/home/medic')).toBe('/etc/medic/key');
    expect(expandHome('~other/key', '/home/medic')).toBe('~other/key');
  });
});
