import type { CheckResult, ParserKind } from '../core/check-result.ts';
import { shellQuote } from '../core/playbook/shell-quote.ts';
import type { CommandRunner, RunOutput } from './ports.ts';

/** Programs missing on the host, sudo refusing, or a shell error: the check could not run. */
function couldNotRun(exitCode: number | null, stderr: string): string | undefined {
  if (exitCode === 127) return `command not found on the host: ${firstLine(stderr)}`;
  if (exitCode === 126) return `command not executable on the host: ${firstLine(stderr)}`;
  if (sudoRefused(stderr)) {
    return `sudo refused: ${firstLine(stderr)} (give the login user passwordless sudo for this command, or set sudo: false and grant read access)`;
  }
  if (/Permission denied/.test(stderr) && exitCode !== 0) return `permission denied: ${firstLine(stderr)}`;
  return undefined;
}

const SUDO_REFUSALS = ['a password is required', 'a terminal is required', 'not allowed to execute', 'may not run sudo'];

/** `sudo: a password is required`, `sudo: user x is not allowed to execute …`: searched line by line, as stderr can be long. */
const sudoRefused = (stderr: string): boolean =>
  stderr.split('\n').some((line) => {
    const at = line.indexOf('sudo: ');
    return at !== -1 && SUDO_REFUSALS.some((r) => line.includes(r, at + 'sudo: '.length));
  });

const firstLine = (text: string): string => (text.split('\n').find((l) => l.trim() !== '') ?? '').slice(0, 300);

/** What a check runs: an argv that was rendered and allowlisted, maybe through `sudo -n --`. */
export interface CommandSpec {
  id: string;
  parse: ParserKind;
  argv: readonly string[];
  sudo: boolean;
  timeoutMs: number;
  maxBytes?: number;
  /** An allowlisted check: see RunOptions.readOnly. */
  readOnly?: boolean;
}

/**
 * The argv the host runs for a spec. `sudo` wraps it in `sudo -n --`, so a missing sudo rule
 * fails at once rather than waiting for a password.
 */
export const hostArgv = (spec: CommandSpec): string[] => (spec.sudo ? ['sudo', '-n', '--', ...spec.argv] : [...spec.argv]);

/** Runs one argv (already rendered and allowlisted) on a host and turns what came back into a CheckResult. */
export async function runCommand(runner: CommandRunner, spec: CommandSpec): Promise<CheckResult> {
  const command = shellQuote(hostArgv(spec));
  const out = await runner.run(command, {
    timeoutMs: spec.timeoutMs,
    ...(spec.maxBytes === undefined ? {} : { maxBytes: spec.maxBytes }),
    ...(spec.readOnly === true ? { readOnly: true } : {}),
  });
  return checkResult(spec, command, out);
}

/** Turns what one command produced (alone, or as part of a batch) into a CheckResult. */
export function checkResult(spec: CommandSpec, command: string, out: RunOutput): CheckResult {
  const base = {
    id: spec.id,
    parse: spec.parse,
    command,
    exitCode: out.exitCode,
    stdout: out.stdout,
    stderr: out.stderr,
    truncated: out.truncated,
    durationMs: out.durationMs,
  };
  if (out.timedOut) return { ...base, status: 'timeout', reason: `timed out after ${spec.timeoutMs} ms` };
  if (out.exitCode === 0) return { ...base, status: 'ok' };
  // The executor closes the channel once output passes its cap, so there is no exit code: the
  // command did run, and what was kept (the head of it, marked) is evidence like any other.
  if (out.truncated && out.exitCode === null) return { ...base, status: 'ok', reason: 'output cut at the size cap' };
  const reason = couldNotRun(out.exitCode, out.stderr);
  if (reason !== undefined) return { ...base, status: 'error', reason };
  if (out.exitCode === null) return { ...base, status: 'error', reason: `killed by ${out.signal ?? 'a signal'}` };
  return { ...base, status: 'failed', reason: `exit ${out.exitCode}${out.stderr.trim() ? `: ${firstLine(out.stderr)}` : ''}` };
}
