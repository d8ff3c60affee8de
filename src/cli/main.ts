import { pino } from 'pino';
import { isMedicError } from '../errors.ts';
import { type CliContext, UsageError } from './cli-context.ts';
import type { CliIo } from './cli-io.ts';
import { EXIT } from './cli-io.ts';

const USAGE = `medic — diagnose Nginx 502/504s over SSH with read-only checks

Usage:
  medic diagnose <host|group|pattern> [--inventory FILE] [--json] [--playbook NAME]
  medic remediate <host> <remediation-id> [--stack NGINX_CONF] [--inventory FILE] [--yes] [--json]
  medic hosts [--inventory FILE] [--json]
  medic playbooks [--json]
  medic start | bot | worker

Commands:
  diagnose    run the playbook's read-only checks on a host (or every host of a group or pattern)
  remediate   run one remediation (reload_php_fpm, start_php_fpm, reload_nginx, restart_php_fpm), then verify
  hosts       list the inventory's hosts and groups
  playbooks   list the playbooks and their checks
  start       run the Slack bot, the webhook receivers and a worker in one process
  bot         run the Slack bot and webhook receivers only
  worker      run a worker only (any number, on any machines sharing one Redis)

The inventory is --inventory FILE, else $MEDIC_INVENTORY, else ./inventory.yaml.
Run "medic <command> --help" for a command's options and exit codes.
`;

/**
 * The `medic` command line. Returns the exit status; never calls process.exit, so that tests
 * drive it in-process.
 */
export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const verbose = rest.includes('--verbose') || rest.includes('-v');
  const logger = pino({ level: verbose ? 'debug' : 'warn', base: null }, pino.destination({ fd: 2, sync: true }));
  const ctx: CliContext = { env, io, logger };
  const args = rest.filter((a) => a !== '--verbose' && a !== '-v');
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      case '--version':
        io.stdout('gateway-medic 0.1.0\n');
        return EXIT.OK;
      // Each command loads only what it needs: start-up time is part of every `medic` call.
      case 'diagnose':
        return await (await import('./commands/diagnose.ts')).diagnoseCommand(args, ctx);
      case 'remediate':
        return await (await import('./commands/remediate.ts')).remediateCommand(args, ctx);
      case 'hosts':
        return await (await import('./commands/hosts.ts')).hostsCommand(args, ctx);
      case 'playbooks':
        return await (await import('./commands/playbooks.ts')).playbooksCommand(args, ctx);
      case 'start':
      case 'bot':
      case 'worker':
        return await (await import('./commands/serve.ts')).serveCommand(command, args, ctx);
      default:
        io.stderr(`medic: unknown command "${command}"\n\n${USAGE}`);
        return EXIT.USAGE;
    }
  } catch (e) {
    return reportError(e, io);
  }
}

export function reportError(e: unknown, io: CliIo): number {
  if (isMedicError(e)) {
    io.stderr(`medic: ${e.message}\n  (${e.code}) ${e.hint}\n`);
    return e.code.startsWith('SSH_') ? EXIT.UNREACHABLE : e.code === 'REMEDIATION_FAILED' ? EXIT.FAILED : EXIT.USAGE;
  }
  if (e instanceof UsageError) {
    io.stderr(`medic: ${e.message}\n`);
    return EXIT.USAGE;
  }
  io.stderr(`medic: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.FAILED;
}
