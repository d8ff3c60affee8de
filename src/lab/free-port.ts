import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest port freePort takes when the kernel's ephemeral range leaves room below it. */
const FLOOR = 10_000;
/** Ports already handed out by this process: two servers of one lab never get the same one. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on right now on 127.0.0.1, for a server that binds it a little later
 * (nginx, sshd, Redis…). Picked at random below the kernel's ephemeral range (Linux's
 * `ip_local_port_range`): a port from that range, the kind `listen(0)` returns, may meanwhile
 * become the source port of any outgoing connection on the machine (other tests' SSH sessions,
 * HTTP requests, Redis clients), and the server that binds it later fails with EADDRINUSE. Below
 * the range, only another explicit bind can take it. Falls back to a port of the kernel's choice
 * when the range leaves no room below it.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low - FLOOR >= 1000) {
    for (let tries = 0; tries < 64; tries++) {
      const port = randomInt(FLOOR, low);
      if (handedOut.has(port) || !(await canListen(port))) continue;
      handedOut.add(port);
      return port;
    }
  }
  return kernelPort();
}

/** The first port of the kernel's ephemeral range (Linux's default when it cannot be read). */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
