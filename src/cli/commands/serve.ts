import { EXIT } from '../cli-io.ts';
import type { CliContext } from '../main.ts';

const HELP = {
  start: 'Usage: medic start\n\nRuns the Slack bot, the alert webhook receivers and a worker in one process. Configuration comes from the environment (.env is read when present): see .env.example.\n',
  bot: 'Usage: medic bot\n\nRuns the Slack bot and the alert webhook receivers; diagnoses run in workers (medic worker) sharing the same Redis.\n',
  worker: 'Usage: medic worker\n\nRuns a worker: it takes diagnose and remediate jobs from Redis and does the SSH work. Run as many as you like, on any machines sharing one Redis.\n',
} as const;

export async function serveCommand(role: 'start' | 'bot' | 'worker', args: readonly string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.io.stdout(HELP[role]);
    return EXIT.OK;
  }
  const { startProcess } = await import('../../main.ts');
  const handle = await startProcess(role === 'start' ? 'all' : role, ctx.env);
  // Stop taking work on the first signal; in-flight jobs finish or go back to the queue.
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void handle.stop().finally(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // A job handed back at shutdown may still hold an SSH session here; another worker owns it
  // now, so nothing it does may keep this process alive.
  setTimeout(() => process.exit(EXIT.OK), 1000).unref();
  return EXIT.OK;
}
