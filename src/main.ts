import { DEFAULT_PLAYBOOKS_DIR, loadPlaybooks } from './adapters/files/load-playbooks.ts';
import { loadInventory } from './adapters/files/load-inventory.ts';
import { alertWebhooks } from './adapters/alerts/alert-webhooks.ts';
import { SshConnector } from './adapters/ssh/ssh-connector.ts';
import type { AppExtensionContext } from './adapters/app-extension.ts';
import { buildApp, type ProcessRole } from './app.ts';
import { loadConfig, requireSlack, type LoadConfigOptions } from './config.ts';
import { createLogger } from './logger.ts';

export interface StartOptions {
  /** Where `.env` is read from; `false` for none. @defaultValue `.env` in the current directory */
  envFile?: LoadConfigOptions['envFile'];
  /** HTTP extensions such as the alert webhook routes. */
  extensions?: ((ctx: AppExtensionContext) => void | Promise<void>)[];
}

export interface ProcessHandle {
  /** Where the HTTP server listens (health, metrics; Slack events and alerts for the bot). */
  url: string;
  port: number;
  /** Graceful: stops taking work, lets running jobs finish or hands them back, closes connections. */
  stop(): Promise<void>;
}

/**
 * Start-up of `medic start|bot|worker`: configuration → dependencies → start. Signals are the
 * caller's (the CLI stops on SIGINT/SIGTERM through `stop()`), so tests can start several
 * processes' worth of roles in one.
 */
export async function startProcess(role: ProcessRole, env?: NodeJS.ProcessEnv, options: StartOptions = {}): Promise<ProcessHandle> {
  // Without `env`, config.ts reads process.env: it is the only file that does.
  const config = loadConfig(env, options.envFile !== undefined ? { envFile: options.envFile } : {});
  requireSlack(config, role === 'worker' ? 'worker' : 'bot');
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, base: { role } });
  const inventory = await loadInventory(config.MEDIC_INVENTORY);
  const playbooks = await loadPlaybooks(config.MEDIC_PLAYBOOKS_DIR ?? DEFAULT_PLAYBOOKS_DIR);
  const app = await buildApp({
    config,
    role,
    logger,
    inventory: () => inventory,
    playbooks,
    ...(role !== 'bot' ? { connector: new SshConnector({ logger }) } : {}),
    // The contract's alert webhooks are always served by the bot; callers may add more routes.
    extensions: [alertWebhooks(), ...(options.extensions ?? [])],
  });
  let where: { url: string; port: number };
  try {
    where = await app.start();
  } catch (e) {
    await app.stop().catch(() => undefined);
    throw e;
  }
  return { ...where, stop: () => app.stop() };
}
