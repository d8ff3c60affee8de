import { createServer, type Server, type Socket } from 'node:net';
import type { SshTarget } from '../../src/adapters/ssh/ssh-connector.ts';
import type { SshdHandle } from '../../src/lab/sshd.ts';

/** The inventory-shaped target for a lab sshd, with fields overridden per test. */
export function targetFor(sshd: SshdHandle, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    address: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: sshd.knownHostsPath,
    ...overrides,
  };
}

/** A loopback port that was free a moment ago and has nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = await listen(() => undefined);
  const port = portOf(server);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A loopback TCP server that accepts connections and never says a word (an SSH handshake never starts). */
export async function startSilentServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = await listen((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port: portOf(server),
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function listen(onConnection: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server has no port');
  return address.port;
}
