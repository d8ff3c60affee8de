import type { CauseId, Severity } from '../causes.ts';
import type { Finding } from '../finding.ts';

/**
 * Order among current findings of the same severity: a root cause before its symptoms (the OOM
 * killer before "php-fpm is down" and "connection reset"; a full pool before timeouts), and a
 * state that breaks every request (php-fpm down, wrong socket) before one that breaks some.
 * Among warnings, a pool busy to its limit right now (pool_tuning, which quotes the times it was
 * reached) before the reached-but-served warning of max_children_exhausted; a refused or
 * queued request keeps max_children_exhausted critical, and first.
 */
export const PRIORITY: readonly CauseId[] = [
  'oom_killed',
  'php_fpm_down',
  'socket_mismatch',
  'socket_permission',
  'pool_tuning',
  'max_children_exhausted',
  'upstream_reset',
  'upstream_timeout',
  'selinux_denied',
  'upstream_tls',
  'upstream_dns',
  'resource_limits',
  'proxy_upstream_down',
  'cdn_to_origin',
  'keepalive_mismatch',
  'php_cli_oom',
  'script_filename_wrong',
  'upstream_header_too_big',
  'unknown_502',
  'memory_overcommit',
  'healthy',
];

const SEVERITY: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Current before history, then by severity, then by PRIORITY. The first finding is the verdict. */
export function rank(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      Number(b.current) - Number(a.current) ||
      SEVERITY[a.severity] - SEVERITY[b.severity] ||
      PRIORITY.indexOf(a.cause) - PRIORITY.indexOf(b.cause),
  );
}
