import type { CheckResult } from '../check-result.ts';
import type { HostPicture } from '../discovery/host-picture.ts';
import type { Finding, Gap } from '../finding.ts';
import { clean } from './advice.ts';
import { buildContext, isCurrent, type ClassifierContext } from './context.ts';
import { findGaps } from './gaps.ts';
import { isClientSide, type NginxErrorEntry } from './parse/nginx-error-log.ts';
import { rank } from './rank.ts';
import type { Rule } from './rule.ts';
import { allClear } from './rules/healthy.ts';
import { keepaliveMismatch } from './rules/keepalive-mismatch.ts';
import { maxChildrenExhausted } from './rules/max-children-exhausted.ts';
import { memoryOvercommit } from './rules/memory-overcommit.ts';
import { oomKilled } from './rules/oom-killed.ts';
import { phpCliOom } from './rules/php-cli-oom.ts';
import { DEFAULT_MAX_CHILDREN, poolTuning, statusPageSteps } from './rules/pool-tuning.ts';
import { readOrigin } from './rules/cdn-to-origin.ts';
import { withSlowScripts } from './slow-scripts.ts';
import { phpFpmDown } from './rules/php-fpm-down.ts';
import { proxyUpstreamDown } from './rules/proxy-upstream-down.ts';
import { resourceLimits } from './rules/resource-limits.ts';
import { upstreamDns } from './rules/upstream-dns.ts';
import { upstreamTls } from './rules/upstream-tls.ts';
import { selinuxDenied } from './rules/selinux-denied.ts';
import { scriptFilenameWrong } from './rules/script-filename-wrong.ts';
import { socketMismatch } from './rules/socket-mismatch.ts';
import { socketPermission } from './rules/socket-permission.ts';
import { explainsNow, gatewayCounts, unknown502 } from './rules/unknown-502.ts';
import { upstreamHeaderTooBig } from './rules/upstream-header-too-big.ts';
import { upstreamReset } from './rules/upstream-reset.ts';
import { upstreamTimeout } from './rules/upstream-timeout.ts';
import { span } from './time.ts';
import { naming, vhostsOf } from './vhosts.ts';

export interface ClassifierInput {
  /** What discovery learned about the host (processes, nginx and php-fpm configs, memory). */
  picture: HostPicture;
  /** Every check's raw output; the classifier dispatches on each result's `parse` kind, not on its id. */
  results: CheckResult[];
  /** The host's current time (an absolute instant). */
  now: Date;
  /** The host's UTC offset in minutes east of UTC, to read log timestamps written in host local time. */
  utcOffsetMinutes: number;
  /** Lines newer than `now - windowMs` are the current incident; older lines are history. */
  windowMs: number;
}

export interface Classification {
  /** Ranked; the first is the verdict. Never empty. */
  findings: Finding[];
  /** True when a check of core evidence could not do its job; the verdict is then never `healthy`. */
  incomplete: boolean;
  /** Every check that could not do its job, core and supplementary. */
  gaps: Gap[];
}

/**
 * Who gets a look-alike nginx error line first. Specific errnos and messages before the generic
 * connect() failures: TLS handshakes to the upstream (their errno 104 is no crash), name
 * resolution, nginx's own limits (99, 24, a full non-PHP backlog), EACCES on TCP (a security
 * policy) before EACCES on a unix socket (its owner and mode); resets on kept-alive connections to
 * a healthy proxied backend before crashes; among the connect() failures, a running php-fpm
 * listening elsewhere (socket_mismatch) before php_fpm_down, and http:// upstreams go to
 * proxy_upstream_down.
 */
const CLAIM_ORDER: readonly Rule[] = [
  upstreamTls,
  upstreamDns,
  resourceLimits,
  selinuxDenied,
  socketPermission,
  maxChildrenExhausted,
  scriptFilenameWrong,
  upstreamHeaderTooBig,
  upstreamTimeout,
  keepaliveMismatch,
  upstreamReset,
  proxyUpstreamDown,
  socketMismatch,
  phpFpmDown,
];

const RULES: readonly Rule[] = [...CLAIM_ORDER, oomKilled, phpCliOom, memoryOvercommit, poolTuning];

/** The verdict says how many requests it cost, when the access log shows them. */
function withImpact(ctx: ClassifierContext, findings: Finding[]): Finding[] {
  const verdict = findings[0];
  if (verdict === undefined || !explainsNow(verdict)) return findings;
  const { text } = gatewayCounts(ctx);
  if (text === '') return findings;
  const annotated = { ...verdict, explanation: `${verdict.explanation} In the last ${span(ctx.windowMs)} nginx answered ${text}.` };
  return [annotated, ...findings.slice(1)];
}

/**
 * Check results → ranked findings. Pure: no I/O, no clock (time is `input.now`), no logger.
 * Each nginx error line is explained by at most one rule; lines no rule explains are
 * `unknown_502`'s, and shown as they are.
 */
export function classify(input: ClassifierInput): Classification {
  const ctx = buildContext(input);
  const gaps = findGaps(input.results).map((g) => ({ ...g, check: clean(g.check, 100), reason: clean(g.reason, 300) }));
  const coreGaps = gaps.filter((g) => g.supplementary !== true);
  const claimed = new Map<Rule, NginxErrorEntry[]>(RULES.map((r) => [r, []]));
  const leftovers: NginxErrorEntry[] = [];
  for (const entry of ctx.errors) {
    // A client's own failure (too large a body, hanging up) is no upstream's, whatever its errno.
    if (isClientSide(entry)) continue;
    const rule = CLAIM_ORDER.find((r) => r.claims?.(entry, ctx) === true);
    if (rule === undefined) leftovers.push(entry);
    else claimed.get(rule)?.push(entry);
  }
  const findings = RULES.flatMap((r) => {
    const entries = claimed.get(r) ?? [];
    // A finding is about the virtual hosts whose lines it rests on (current lines for a current finding).
    return r.evaluate(ctx, entries).map((f) => naming(ctx.picture, f, vhostsOf(entries.filter((e) => isCurrent(ctx, e) === f.current))));
  });
  findings.push(...unknown502(ctx, leftovers, findings, coreGaps));
  // The public URL asked about, against what this origin answers; then the slow log's stacks.
  const read = withSlowScripts(ctx, readOrigin(ctx, findings));
  read.push(
    ...allClear(
      ctx,
      read,
      coreGaps.length > 0,
      gaps.filter((g) => g.supplementary === true),
    ).map((f) => withPoolNotes(ctx, f)),
  );
  return { findings: withImpact(ctx, rank(read)), incomplete: coreGaps.length > 0, gaps };
}

/**
 * The all-clear still says what the seed would fix before the next peak: pm.max_children left at
 * php-fpm's default, and a status page that is off (nothing shows the pool filling up).
 */
function withPoolNotes(ctx: ClassifierContext, f: Finding): Finding {
  if (f.cause !== 'healthy') return f;
  const placeholder = ctx.picture.fpm.pools.filter((p) => p.maxChildren === DEFAULT_MAX_CHILDREN);
  const notes = [
    ...placeholder.map(
      (p) =>
        `pm.max_children is still php-fpm's default ${DEFAULT_MAX_CHILDREN} in pool ${clean(p.name, 80)}${p.file === undefined ? '' : ` (${clean(p.file, 200)})`}: five requests at once, the sixth waits; size it to the RAM before the next peak`,
    ),
    ...statusPageSteps(ctx),
  ];
  return notes.length === 0 ? f : { ...f, nextSteps: [...f.nextSteps, ...notes] };
}
