/**
 * The public names of the contract: users script against these,
 * so they never change spelling.
 */
export const CAUSE_IDS = [
  'php_fpm_down',
  'socket_mismatch',
  'socket_permission',
  'upstream_timeout',
  'upstream_reset',
  'max_children_exhausted',
  'oom_killed',
  'memory_overcommit',
  'script_filename_wrong',
  'upstream_header_too_big',
  'proxy_upstream_down',
  'selinux_denied',
  'upstream_tls',
  'upstream_dns',
  'resource_limits',
  'keepalive_mismatch',
  'pool_tuning',
  'php_cli_oom',
  'cdn_to_origin',
  'unknown_502',
  'healthy',
] as const;

export type CauseId = (typeof CAUSE_IDS)[number];

export const REMEDIATION_IDS = ['reload_php_fpm', 'start_php_fpm', 'reload_nginx', 'restart_php_fpm'] as const;

export type RemediationId = (typeof REMEDIATION_IDS)[number];

export const isRemediationId = (value: string): value is RemediationId => (REMEDIATION_IDS as readonly string[]).includes(value);

export const SEVERITIES = ['critical', 'warning', 'info'] as const;

export type Severity = (typeof SEVERITIES)[number];
