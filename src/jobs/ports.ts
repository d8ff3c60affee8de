import type { Logger } from 'pino';
import type { InventoryHost } from '../core/inventory/inventory-schema.ts';

/** What running one command on a host produced. Command failures are data, not exceptions. */
export interface RunOutput {
  exitCode: number | null;
  /** Signal name when the remote process was killed by one. */
  signal?: string;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was cut at `maxBytes`; the text ends with a marker line. */
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Kill the command and report `timedOut` after this long. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout and of stderr each. @defaultValue 1 MiB */
  maxBytes?: number;
}

/**
 * An open connection to one host. One per diagnosis, reused by every check; runs commands
 * concurrently up to its channel limit and queues the rest.
 */
export interface CommandRunner {
  /**
   * Runs one already-quoted command line (built by `shellQuote`). Throws a MedicError with an
   * SSH_* code only when the connection itself fails; a command that fails is a RunOutput.
   */
  run(command: string, options: RunOptions): Promise<RunOutput>;
  close(): Promise<void>;
}

/** A host of the inventory with its name. */
export type TargetHost = InventoryHost & { name: string };

/** Opens connections to hosts; the SSH adapter implements it. */
export interface HostConnector {
  /** Throws MedicError SSH_* (refused, unreachable, timeout, auth, host key) with a message saying what to do. */
  connect(host: TargetHost, options?: { signal?: AbortSignal }): Promise<CommandRunner>;
}

/** Everything a diagnosis or remediation needs from the outside world. */
export interface JobDeps {
  connector: HostConnector;
  logger: Logger;
  /** The worker's clock; the host's own clock is read by a check. */
  now: () => Date;
  /** Progress for people (CLI spinner, Slack status); optional. */
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { kind: 'connecting'; host: string }
  | { kind: 'connected'; host: string }
  | { kind: 'check-started'; host: string; check: string }
  | { kind: 'check-finished'; host: string; check: string; status: string; durationMs: number }
  | { kind: 'classifying'; host: string };
