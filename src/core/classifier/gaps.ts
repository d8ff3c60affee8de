import type { CheckResult, ParserKind } from '../check-result.ts';
import type { Gap } from '../finding.ts';

/** What a check reads, for people: "could not read the nginx error log". */
export const WHAT_IT_READS: Record<ParserKind, string> = {
  nginx_error_log: 'the nginx error log',
  nginx_access_log: 'the nginx access log',
  nginx_config: "nginx's configuration (nginx -T)",
  fpm_log: 'the PHP-FPM log',
  fpm_config: "PHP-FPM's configuration",
  fpm_processes: 'the PHP-FPM processes',
  fpm_service: 'the PHP-FPM service status',
  kernel_log: 'the kernel log',
  sockets: 'the listening sockets',
  socket_file: 'the PHP-FPM socket file',
  memory: '/proc/meminfo',
  fpm_status: 'the PHP-FPM status page',
  http_probe: 'the site (HTTP probe)',
  processes: 'the process list',
  host_time: "the host's clock",
  systemd_probe: 'whether systemd runs',
  units: 'the systemd units',
  unit_pids: "the systemd units' main pids",
  php_info: 'what php-fpm reports about itself (php-fpm -i)',
  raw: 'a check',
};

/**
 * Did a non-zero exit stop the check from doing its job? For some checks failing IS the
 * observation: stat of a missing socket, `systemctl status` of a stopped unit (3) or an unknown
 * one (4), curl not reaching the site, `ls /run/systemd/system` on a host without systemd, grep
 * finding no memory_limit line (1).
 */
function failureIsObservation(r: CheckResult): boolean {
  switch (r.parse) {
    case 'socket_file':
      return /No such file or directory/.test(r.stderr) && !/Permission denied/.test(r.stderr);
    case 'fpm_service':
      return r.exitCode === 3 || r.exitCode === 4;
    case 'http_probe':
      return /http_code=\d{3}/.test(r.stdout);
    case 'fpm_status':
    case 'systemd_probe':
      return true;
    case 'fpm_config':
      return r.exitCode === 1;
    default:
      return false;
  }
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n').find((l) => l.trim() !== '');
  return line?.trim();
}

/** Checks that could not do their job; `skipped` ones are not gaps (the engine decided they do not apply). */
export function findGaps(results: readonly CheckResult[]): Gap[] {
  const gaps: Gap[] = [];
  for (const r of results) {
    if (r.status === 'ok' || r.status === 'skipped') continue;
    if (r.status === 'failed' && failureIsObservation(r)) continue;
    const why =
      r.reason ??
      firstLine(r.stderr) ??
      (r.status === 'timeout' ? 'timed out' : r.exitCode === null ? r.status : `exit status ${r.exitCode}`);
    gaps.push({ check: r.id, reason: `could not read ${WHAT_IT_READS[r.parse]}: ${why}` });
  }
  return gaps;
}

/** Output a parser may read: the check ran, or failed but still wrote something. */
export const readable = (r: CheckResult): boolean =>
  r.status === 'ok' || (r.status === 'failed' && (r.stdout.trim() !== '' || r.stderr.trim() !== ''));
