import type { CauseId, RemediationId, Severity } from './causes.ts';

/** One explained problem (or the all-clear) found on a host. */
export interface Finding {
  cause: CauseId;
  severity: Severity;
  /** One line, e.g. "PHP-FPM is not running". */
  title: string;
  /** The exact lines (from logs, configs, command output) that support the finding; secrets redacted. */
  evidence: string[];
  /** Why this explains the 502, in the seed's spirit ("fix the upstream, not nginx"). */
  explanation: string;
  /** What a person should do next, most useful first. */
  nextSteps: string[];
  /** Contract remediation ids that apply, safest first. */
  remediations: RemediationId[];
  /** False when the finding rests only on evidence older than the current window. */
  current: boolean;
  /** On a host with several stacks, which one: "nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf". */
  stack?: string;
  /** With `stack`: the key that names the stack to a remediation (the button's, or `medic remediate --stack`). */
  stackKey?: string;
  /** The virtual hosts (server names) the finding is about, on a host that has several. */
  vhosts?: string[];
}

/**
 * A check that could not do its job. A gap in core evidence (nginx's logs and config, the
 * process list, the probe) makes the diagnosis incomplete and forbids `healthy`; a gap in a
 * supplementary check (kernel log, php.ini, the status page…) is listed with what it could hide.
 */
export interface Gap {
  check: string;
  reason: string;
  /** True for a supplementary check: `healthy` stays possible. */
  supplementary?: boolean;
  /** What the missing check could hide, for people: "an OOM kill of php-fpm". */
  couldHide?: string;
}

export interface Diagnosis {
  host: string;
  playbook: string;
  /** ISO time the diagnosis started (the worker's clock). */
  startedAt: string;
  durationMs: number;
  /** The first finding's cause and title. */
  verdict: { cause: CauseId; title: string };
  findings: Finding[];
  /** True when some check could not run: the verdict is then never `healthy`. */
  incomplete: boolean;
  gaps: Gap[];
  /**
   * Processes titled like nginx or php-fpm masters that were not used: look-alikes nobody can
   * vouch for (owner, parent) and containers' masters. For people; absent when there were none.
   */
  untrustedMasters?: { pid: number; user: string; status: 'suspicious' | 'container'; title: string; why: string }[];
  /** Compact summary of what discovery found (paths, listen, pm), for the report. */
  facts: Record<string, unknown>;
  /** Per check: id, status, duration; the raw output stays on the worker. */
  checks: { id: string; status: string; durationMs: number; truncated: boolean }[];
}
