import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralLow, freePort } from '../../src/lab/free-port.ts';

const listenOn = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

describe('freePort', () => {
  it("hands out distinct ports below the kernel's ephemeral range, each one a server can then bind", async () => {
    // Linux's default range starts at 32768; freePort falls back to the kernel's choice without room below it.
    const low = ephemeralLow();
    const roomBelow = low - 10_000 >= 1000;
    expect(low).toBe(Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]));
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    const servers: Server[] = [];
    try {
      for (const port of ports) {
        // Below the range, no outgoing connection's source port can have taken it meanwhile.
        if (roomBelow) expect(port).toBeGreaterThanOrEqual(10_000);
        if (roomBelow) expect(port).toBeLessThan(low);
        servers.push(await listenOn(port));
      }
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
