import type { Client } from 'ssh2';

/** The global request in which sshd lists all its host keys once the client has logged in. */
const ANNOUNCEMENT = 'hostkeys-00@openssh.com';

/**
 * Leaves sshd's host key announcement unanswered on `client`. After login, sshd lists every
 * host key it has (`hostkeys-00@openssh.com`), and ssh2 answers each announcement by asking the
 * server to prove it holds them all (`hostkeys-prove-00@openssh.com`): one signature per host
 * key on the host, on every connection. A stock host has three (RSA, ECDSA, Ed25519), and on the
 * lab's CPU that was about 8 ms of the host's CPU per connection (53 against 45 ms for
 * OpenSSH's client), on a host that may be struggling. medic has no use for the proofs: the
 * host key is checked against known_hosts during the key exchange, and known_hosts is never
 * updated. OpenSSH's own client does not ask either when it is given a known_hosts file
 * (its UpdateHostKeys). ssh2 has no option for this, so the announcement is dropped before
 * its handler runs. Called right after `connect()` starts, before any message can arrive; if
 * ssh2's internals ever change shape, nothing is dropped and ssh2 behaves as it always did.
 */
export function ignoreHostKeyAnnouncements(client: Client | null): void {
  const protocol = (client as unknown as { _protocol?: { _handlers?: Record<string, unknown> } } | null)?._protocol;
  const handlers = protocol?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (handlers === undefined || typeof original !== 'function') return;
  handlers.GLOBAL_REQUEST = (...args: unknown[]): unknown => {
    const [, name, wantReply] = args;
    // sshd asks for no reply; one that does gets ssh2's usual answer.
    if (name === ANNOUNCEMENT && wantReply !== true) return undefined;
    return (original as (...a: unknown[]) => unknown)(...args);
  };
}
