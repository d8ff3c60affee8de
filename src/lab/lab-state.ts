import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { SCENARIO_NAMES } from './scenarios.ts';

/**
 * Everything needed to drive or stop a running lab from another process (`npm run lab -- down`
 * after `up` returned): ports, users, the sshd's pid. The other processes are found through
 * their pid files under `dir`.
 */
export const LabState = z.strictObject({
  id: z.string().regex(/^[a-z0-9]{4,32}$/),
  dir: z.string().startsWith('/'),
  nginxPort: z.number().int(),
  backendPort: z.number().int(),
  tcpPort: z.number().int(),
  /** The shop vhost: its TLS port, and the port of its backend (where nothing listens: its upstream is down). */
  shop: z.strictObject({ tlsPort: z.number().int(), backendPort: z.number().int() }).optional(),
  loginUser: z.string(),
  webUser: z.string(),
  memTotalBytes: z.number(),
  /** A name of the machine's /etc/hosts on a loopback address (the static-name scenario's backend name). */
  loopbackName: z.strictObject({ name: z.string(), address: z.string() }).optional(),
  sshd: z.strictObject({
    pid: z.number().int(),
    port: z.number().int(),
    clientKeyPath: z.string(),
    knownHostsPath: z.string(),
  }),
  /** The process that owns sshd when the lab was started by the CLI. */
  daemonPid: z.number().int().optional(),
  /** The process that started the lab (the CLI's daemon, a test worker, the demo): when it is gone, so should the lab be. */
  ownerPid: z.number().int().optional(),
  scenario: z.enum(SCENARIO_NAMES),
  startedAt: z.string(),
});

export type LabState = z.infer<typeof LabState>;

export async function readLabState(path: string): Promise<LabState> {
  return LabState.parse(JSON.parse(await readFile(path, 'utf8')));
}

/** Written whole then renamed, so a reader never sees half a file. */
export async function writeLabState(path: string, state: LabState): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
