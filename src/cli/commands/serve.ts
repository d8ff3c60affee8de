import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../cli-context.ts';

const HELP = {
  start:
    'Usage: medic start\n\nRuns the Slack bot, the alert webhook receivers and a worker in one process (MEDIC_HTTP_PROCESSES such processes sharing the port). Configuration comes from the environment (.env is read when present): see .env.example.\n',
  bot: 'Usage: medic bot\n\nRuns the Slack bot and the alert webhook receivers; diagnoses run in workers (medic worker) sharing the same Redis. MEDIC_HTTP_PROCESSES > 1 runs that many bot processes sharing the port, to ack bursts of commands on several cores.\n',
  worker:
    'Usage: medic worker\n\nRuns a worker: it takes diagnose and remediate jobs from Redis and does the SSH work. Run as many as you like, on any machines sharing one Redis.\n',
} as const;

export async function serveCommand(role: 'start' | 'bot' | 'worker', args: readonly string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.io.stdout(HELP[role]);
    return EXIT.OK;
  }
  const processRole = role === 'start' ? 'all' : role;
  const cluster = await import('../../cluster.ts');
  if (role !== 'worker' && !cluster.inClusterWorker()) {
    // Checked here, once, so that a bad configuration fails before any process is started.
    const { loadConfig, requireSlack } = await import('../../config.ts');
    const config = loadConfig(ctx.env);
    if (config.MEDIC_HTTP_PROCESSES > 1) {
      requireSlack(config, 'bot');
      const { createLogger } = await import('../../logger.ts');
      const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, base: { role: processRole, cluster: 'primary' } });
      return (await cluster.runClusterPrimary({ processes: config.MEDIC_HTTP_PROCESSES, logger, startedFields: { role: processRole } })) ===
        0
        ? EXIT.OK
        : EXIT.FAILED;
    }
  }
  const { startProcess } = await import('../../main.ts');
  const handle = await startProcess(processRole, ctx.env);
  // Stop taking work on the first signal; in-flight jobs finish or go back to the queue.
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void handle.stop().finally(resolve);
    };
    if (cluster.inClusterWorker()) {
      // The primary coordinates: Ctrl-C reaches every process of the group, and it asks each to stop.
      cluster.reportReady(handle.port, stop);
      process.on('SIGINT', () => undefined);
      process.on('SIGTERM', stop);
      return;
    }
    const onSignal = (): void => {
      // A second signal takes the default action: the process ends at once.
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // A job handed back at shutdown may still hold an SSH session here; another worker owns it
  // now, so nothing it does may keep this process alive.
  setTimeout(() => process.exit(EXIT.OK), 1000).unref();
  return EXIT.OK;
}
