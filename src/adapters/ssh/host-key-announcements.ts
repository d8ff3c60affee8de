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
 *
 * The announcement is acknowledged with an SSH_MSG_IGNORE, which sshd reads and discards.
 * sshd sends non-interactive sessions with Nagle's algorithm on, so its next packet (the
 * confirmation of the first channel, which the client requested as the announcement was on its
 * way) waits until the announcement's TCP segment is acknowledged. Unanswered, that ACK is one
 * the client's kernel delays (about 40 ms on Linux): 40 ms added to every connection's first
 * command. The IGNORE carries the ACK at once.
 */
export function ignoreHostKeyAnnouncements(client: Client | null): void {
  const protocol = (client as unknown as { _protocol?: { _handlers?: Record<string, unknown> } } | null)?._protocol;
  const handlers = protocol?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (protocol === undefined || handlers === undefined || typeof original !== 'function') return;
  handlers.GLOBAL_REQUEST = (...args: unknown[]): unknown => {
    const [, name, wantReply] = args;
    // sshd asks for no reply; one that does gets ssh2's usual answer.
    if (name === ANNOUNCEMENT && wantReply !== true) {
      sendIgnore(protocol as SshProtocol);
      return undefined;
    }
    return (original as (...a: unknown[]) => unknown)(...args);
  };
}

/** The parts of ssh2's Protocol that send a packet (as its own ping() does). */
interface SshProtocol {
  _kexinit?: unknown;
  _packetRW?: { write?: { allocStart: number; alloc(length: number): Buffer; finalize(packet: Buffer): Buffer } };
  _cipher?: { encrypt?(packet: Buffer): void };
}

/** SSH_MSG_IGNORE (RFC 4253, 11.2): message number 2 and an empty string. */
const MSG_IGNORE = 2;

/** Sends an empty SSH_MSG_IGNORE; does nothing during a key exchange or if ssh2's internals changed. */
function sendIgnore(protocol: SshProtocol): void {
  const write = protocol._packetRW?.write;
  const cipher = protocol._cipher;
  if (protocol._kexinit !== undefined || write === undefined || typeof cipher?.encrypt !== 'function') return;
  const at = write.allocStart;
  const packet = write.alloc(5);
  packet[at] = MSG_IGNORE;
  packet.fill(0, at + 1, at + 5);
  cipher.encrypt(write.finalize(packet));
}
