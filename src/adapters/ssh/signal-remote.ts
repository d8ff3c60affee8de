import type { ClientChannel } from 'ssh2';

/**
 * Sends an SSH "signal" request. ssh2's `channel.signal()` is a no-op once stdin got EOF (it
 * checks that the channel is still writable), so after `eof()` the protocol is asked directly.
 */
export function signalRemote(channel: ClientChannel, name: string): void {
  const c = channel as unknown as {
    outgoing?: { id?: number; state?: string };
    _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
  };
  try {
    const protocol = c._client?._protocol;
    if (c.outgoing?.state === 'eof' && typeof c.outgoing.id === 'number' && typeof protocol?.signal === 'function') {
      protocol.signal(c.outgoing.id, name);
    } else {
      channel.signal(name);
    }
  } catch {
    // The channel or connection is already gone; closing it is all that is left to do.
  }
}
