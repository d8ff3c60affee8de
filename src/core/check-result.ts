/**
 * What one read-only check produced on a host. stdout, stderr and the exit code are kept
 * apart; `status` says whether the check ran at all, so that a check that could not run is
 * never mistaken for a check that found nothing.
 */
export interface CheckResult {
  /** The playbook check id (or `discover.*` for discovery commands). */
  id: string;
  /** Which parser of the classifier reads this output. */
  parse: ParserKind;
  /** For a check run once per item (`each`): what this run was about, e.g. a log file or a virtual host. */
  subject?: string;
  /** The command line exactly as sent to the host (already quoted), for the audit trail. */
  command: string;
  /**
   * - `ok`: the command ran and exited 0
   * - `failed`: it ran and exited non-zero (often meaningful: `grep` found nothing, a unit is inactive)
   * - `timeout`: killed after the check's timeout
   * - `error`: it could not run (permission denied, missing program, connection lost)
   * - `skipped`: not run because a fact it needs is unknown or its condition is false
   */
  status: 'ok' | 'failed' | 'timeout' | 'error' | 'skipped';
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** True when the output was cut at the executor's cap; the text then ends with a marker. */
  truncated: boolean;
  durationMs: number;
  /** Human explanation when status is `error`, `timeout` or `skipped`. */
  reason?: string;
}

/** The parsers the classifier knows; a playbook check names one of them. */
export const PARSER_KINDS = [
  'nginx_error_log',
  'nginx_access_log',
  'nginx_config',
  'fpm_log',
  'fpm_config',
  'fpm_processes',
  'fpm_service',
  'kernel_log',
  'sockets',
  'socket_file',
  'memory',
  'fpm_status',
  'http_probe',
  'processes',
  'host_time',
  'systemd_probe',
  'units',
  'unit_pids',
  'php_info',
  'security_policy',
  'limits',
  'backend_log',
  'cgroup',
  'mountinfo',
  'backend_unit',
  'origin_probe',
  'fpm_slowlog',
  'raw',
] as const;

export type ParserKind = (typeof PARSER_KINDS)[number];
