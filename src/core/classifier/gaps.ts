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
  security_policy: 'the SELinux state (getenforce, getsebool, ausearch)',
  limits: "nginx's limits (/proc/<pid>/limits, the local port range)",
  backend_log: "the backends' journal (gunicorn, uWSGI)",
  cgroup: 'control groups (/proc/<pid>/cgroup)',
  mountinfo: 'mounts (/proc/<pid>/mountinfo)',
  backend_unit: 'which systemd unit runs each backend (ps -o unit)',
  origin_probe: 'the public URL, probed on the origin',
  fpm_slowlog: "PHP-FPM's slow log",
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
    case 'origin_probe':
      return /http_code=\d{3}/.test(r.stdout);
    case 'fpm_status':
    case 'systemd_probe':
      return true;
    case 'fpm_config':
      return r.exitCode === 1;
    case 'backend_log':
      // journalctl --grep exits 1 when nothing matched.
      return r.exitCode === 1 && !/Permission denied|not allowed|Failed to/.test(r.stderr);
    case 'cgroup':
    case 'mountinfo':
      // The process exited between `ps` and the read: no master left to place.
      return /No such file or directory|No such process/.test(r.stderr) && !/Permission denied/.test(r.stderr);
    case 'security_policy':
      // No SELinux tools (most Debian hosts: no SELinux at all), or ausearch finding no denial.
      return /command not found|No such file or directory|<no matches>/.test(r.stderr);
    default:
      return false;
  }
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n').find((l) => l.trim() !== '');
  return line?.trim();
}

/**
 * Core evidence: without any one of these a clean result proves nothing, so `healthy` is
 * forbidden. Everything else is supplementary: it explains causes but cannot hide a current 502
 * from nginx's own logs and the probe.
 */
export const CORE_EVIDENCE: ReadonlySet<ParserKind> = new Set([
  'nginx_error_log',
  'nginx_access_log',
  'nginx_config',
  'http_probe',
  'processes',
]);

/** What a supplementary check that could not run may hide. */
const COULD_HIDE: Partial<Record<ParserKind, string>> = {
  kernel_log: 'an OOM kill of php-fpm by the kernel (oom_killed)',
  fpm_config: "php-fpm's pools: a socket that does not match nginx, its owner and mode, pm.max_children, memory_limit",
  fpm_log: 'pm.max_children warnings and workers killed by signals',
  fpm_status: 'a full listen queue or max children reached right now',
  fpm_service: 'a php-fpm unit that systemd reports failed',
  sockets: "whether php-fpm's socket or port is listening",
  socket_file: "whether php-fpm's socket exists and who may open it",
  memory: 'memory overcommit (memory_limit × pm.max_children against the RAM)',
  host_time: "which log lines are current (the worker's clock is used instead)",
  php_info: "which php.ini php-fpm loads (the distribution's layout is used instead)",
  units: 'which services systemd runs',
  unit_pids: 'which masters systemd started (only root masters adopted by init are trusted)',
  systemd_probe: 'whether systemd runs',
  security_policy: 'an SELinux denial behind (13: Permission denied) on a TCP upstream',
  limits: "nginx's open-files limit and the local port range behind resource_limits",
  backend_log: "gunicorn/uWSGI's own account of the requests nginx lost",
  cgroup: "a master in a container (whose paths are not this host's) taken for this host's",
  mountinfo: "a master in a container (whose paths are not this host's) taken for this host's",
  backend_unit: "which unit's journal holds the backend's own account",
  origin_probe: "what the origin itself answers for the public URL (whether a CDN's 52x is the origin's)",
  fpm_slowlog: 'which scripts keep the workers busy (their stacks)',
};

/** Checks that could not do their job; `skipped` ones are not gaps (the engine decided they do not apply). */
export function findGaps(results: readonly CheckResult[]): Gap[] {
  const gaps: Gap[] = [];
  // A host without SELinux's programs (getenforce: command not found) or with SELinux disabled has
  // no AVC denial to hide, so an SELinux check refused there (sudo cannot even find ausearch and
  // asks for a password) is no gap.
  const noSelinux = results.some((r) => r.parse === 'security_policy' && (r.exitCode === 127 || /^Disabled$/m.test(r.stdout)));
  for (const r of results) {
    if (r.status === 'ok' || r.status === 'skipped') continue;
    if (r.status === 'failed' && failureIsObservation(r)) continue;
    // A program the host does not have says the host has no SELinux: an answer, not a gap.
    if (r.parse === 'security_policy' && (r.exitCode === 127 || noSelinux)) continue;
    const why =
      r.reason ??
      firstLine(r.stderr) ??
      (r.status === 'timeout' ? 'timed out' : r.exitCode === null ? r.status : `exit status ${r.exitCode}`);
    const check = r.subject === undefined ? r.id : `${r.id} ${r.subject}`;
    const what = r.id === 'php_ini' ? 'php.ini' : WHAT_IT_READS[r.parse];
    if (CORE_EVIDENCE.has(r.parse)) gaps.push({ check, reason: `could not read ${what}: ${why}` });
    else {
      const couldHide =
        r.id === 'php_ini' ? 'memory_limit of php.ini, i.e. memory overcommit' : (COULD_HIDE[r.parse] ?? 'a cause this check explains');
      gaps.push({ check, reason: `could not read ${what}: ${why}`, supplementary: true, couldHide });
    }
  }
  return gaps;
}

/** Output a parser may read: the check ran, or failed but still wrote something. */
export const readable = (r: CheckResult): boolean =>
  r.status === 'ok' || (r.status === 'failed' && (r.stdout.trim() !== '' || r.stderr.trim() !== ''));
