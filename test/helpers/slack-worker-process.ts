/**
 * A worker in a process of its own, for the crash test: the real worker (buildApp, BullMQ,
 * the SSH connector to the lab), except that its first command on the host never finishes, so
 * the test can SIGKILL it mid-diagnosis. Usage: tsx slack-worker-process.ts '<json env>'.
 */
import { pino } from 'pino';
import { loadInventory } from '../../src/adapters/files/load-inventory.ts';
import { loadPlaybooks } from '../../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../../src/adapters/ssh/ssh-connector.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { CommandRunner, HostConnector } from '../../src/jobs/ports.ts';

const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const inventoryPath = env.INVENTORY_PATH as string;
delete env.INVENTORY_PATH;
const config = loadConfig(env, { envFile: false });
const real = new SshConnector();

/** Connects for real, then hangs on the first command: "mid-diagnosis". */
const hanging: HostConnector = {
  async connect(host, options): Promise<CommandRunner> {
    const runner = await real.connect(host, options);
    return {
      run: async () => {
        process.stdout.write('HANGING\n');
        return new Promise(() => undefined);
      },
      close: () => runner.close(),
    };
  },
};

const inventory = await loadInventory(inventoryPath);
const app = await buildApp({
  config,
  role: 'worker',
  logger: pino({ level: process.env.DOOMED_LOG ?? 'warn' }, pino.destination(2)),
  inventory: () => inventory,
  playbooks: await loadPlaybooks(),
  connector: hanging,
  workerName: 'doomed-worker',
});
await app.start();
process.stdout.write('READY\n');
