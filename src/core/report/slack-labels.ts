import type { CauseId, RemediationId, Severity } from '../causes.ts';
import type { Requester } from '../diagnosis-request.ts';
import type { Diagnosis } from '../finding.ts';
import { escapeMrkdwn, inlineCode, truncatePlain } from './escape-mrkdwn.ts';
import { mention } from './block-kit.ts';

/** The words and icons the Slack messages use for the core's ids: causes, severities, remediations, requesters. PURE. */

export const CAUSE_LABEL: Record<CauseId, string> = {
  php_fpm_down: 'PHP-FPM is down',
  socket_mismatch: 'Socket mismatch',
  socket_permission: 'Socket permission denied',
  upstream_timeout: 'Upstream timeout',
  upstream_reset: 'Upstream reset',
  max_children_exhausted: 'pm.max_children exhausted',
  oom_killed: 'OOM-killed',
  memory_overcommit: 'Memory overcommitted',
  script_filename_wrong: 'SCRIPT_FILENAME wrong',
  upstream_header_too_big: 'Upstream header too big',
  proxy_upstream_down: 'Proxy upstream down',
  selinux_denied: 'Denied by SELinux/AppArmor',
  upstream_tls: 'TLS to the upstream failed',
  upstream_dns: 'Upstream name not resolved',
  resource_limits: 'Connection limits reached',
  keepalive_mismatch: 'Keep-alive mismatch',
  pool_tuning: 'PHP-FPM pool near its limit',
  php_cli_oom: 'PHP CLI job OOM-killed',
  cdn_to_origin: 'Between the CDN and the origin',
  unknown_502: 'Unexplained 502/504',
  healthy: 'Healthy',
};

export const SEVERITY_ICON: Record<Severity, string> = {
  critical: ':red_circle:',
  warning: ':large_orange_circle:',
  info: ':large_blue_circle:',
};

export const REMEDIATION_LABEL: Record<RemediationId, string> = {
  reload_php_fpm: 'Reload PHP-FPM',
  start_php_fpm: 'Start PHP-FPM',
  reload_nginx: 'Reload nginx',
  restart_php_fpm: 'Restart PHP-FPM',
};

export const REMEDIATION_EFFECT: Record<RemediationId, string> = {
  reload_php_fpm: 'gracefully reloads PHP-FPM (systemctl reload, else SIGUSR2 to the master)',
  start_php_fpm: 'starts PHP-FPM (systemctl start, else the configured start command)',
  reload_nginx: 'checks the config with nginx -t and only then reloads nginx',
  restart_php_fpm: 'restarts PHP-FPM (systemctl restart, else stop and start): requests in flight are dropped',
};

/** The icon of a verdict: incomplete, healthy, or the severity of its first finding. */
export function verdictIcon(d: Diagnosis): string {
  if (d.incomplete) return ':warning:';
  if (d.verdict.cause === 'healthy') return ':large_green_circle:';
  return SEVERITY_ICON[d.findings[0]?.severity ?? 'critical'];
}

export function describeRequester(r: Requester): string {
  if (r.kind === 'user') return mention(r.userId);
  const labels = Object.entries(r.labels)
    .slice(0, 8)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `alert ${inlineCode(truncatePlain(r.alertName, 120))} from ${escapeMrkdwn(truncatePlain(r.source, 40))}${labels !== '' ? ` (${escapeMrkdwn(truncatePlain(labels, 300))})` : ''}`;
}
