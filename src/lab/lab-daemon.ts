/**
 * Started detached by `npm run lab -- up`. nginx, php-fpm and the Node backend daemonize, but
 * `startSshd()` keeps sshd as a child of the process that started it, so this process stays
 * to own it until `npm run lab -- down` sends SIGTERM. Its output goes to `<dir>/daemon.log`.
 */
import { startLab } from './start-lab.ts';

const dir = process.argv[2];
if (dir === undefined || !dir.startsWith('/')) {
  process.stderr.write('usage: lab-daemon.ts <absolute lab dir>\n');
  process.exit(2);
}

try {
  // The seed's TCP example is 127.0.0.1:9000: the lab a person drives uses it when it is free.
  const lab = await startLab({ dir, daemonPid: process.pid, fastcgiTcpPort: 9000 });
  process.stdout.write(`${new Date().toISOString()} lab ${lab.id} up in ${lab.dir}\n`);
  const keepAlive = setInterval(() => {}, 60_000);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${new Date().toISOString()} ${signal}: stopping the lab\n`);
    lab
      .stop()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
        process.exit(1);
      })
      .finally(() => clearInterval(keepAlive));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {});
} catch (e) {
  process.stderr.write(`the lab did not start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
