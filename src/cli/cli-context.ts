import { parseArgs } from 'node:util';
import type { pino } from 'pino';
import type { CliIo } from './cli-io.ts';
import { errorMessage } from '../errors.ts';

/** What every command gets from the command line: its environment, where to write, a logger. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  io: CliIo;
  logger: pino.Logger;
}

/** A mistake in how the command was called: reported in one line, exit status 2. */
export class UsageError extends Error {}

/** parseArgs with errors turned into usage errors that name the command. */
export function parseCommandArgs<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  command: string,
  args: readonly string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: options ?? {}, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (e) {
    throw new UsageError(`${command}: ${errorMessage(e)}. Run "medic ${command} --help".`);
  }
}
