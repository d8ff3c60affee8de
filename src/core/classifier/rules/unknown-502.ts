import type { CauseId } from '../../causes.ts';
import type { Finding, Gap } from '../../finding.ts';
import { clean, historyFinding, listOf, plural, splitByTime } from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence, type Dated } from '../evidence.ts';
import { isGatewayError } from '../parse/nginx-access-log.ts';
import { isUpstreamFailure, type NginxErrorEntry } from '../parse/nginx-error-log.ts';
import { protocolHint } from '../protocol-errors.ts';
import { span } from '../time.ts';
import { naming, vhostsOf } from '../vhosts.ts';

/** Causes that explain a 502/504 happening now (memory_overcommit is a risk, not an outage). */
export const EXPLAINING: ReadonlySet<CauseId> = new Set<CauseId>([
  'php_fpm_down',
  'socket_mismatch',
  'socket_permission',
  'upstream_timeout',
  'upstream_reset',
  'max_children_exhausted',
  'oom_killed',
  'script_filename_wrong',
  'upstream_header_too_big',
  'proxy_upstream_down',
  'selinux_denied',
  'upstream_tls',
  'upstream_dns',
  'resource_limits',
  'keepalive_mismatch',
]);

export const explainsNow = (f: Finding): boolean => f.current && f.severity !== 'info' && EXPLAINING.has(f.cause);

const beforeColon = (text: string): string => (text.includes(':') ? text.slice(0, text.indexOf(':')) : text);

/** "could not read the nginx error log" from the gaps' reasons ("could not read the nginx error log: Permission denied"). */
export const gapSummary = (gaps: readonly Gap[]): string => listOf([...new Set(gaps.map((g) => beforeColon(g.reason)))], 3);

/** How many 502s and 504s nginx answered in the window: "12 × 502 and 3 × 504". */
export function gatewayCounts(ctx: ClassifierContext): { text: string; lines: Dated[] } {
  const lines = ctx.access.filter((a) => isCurrent(ctx, a) && isGatewayError(a.status));
  const n502 = lines.filter((a) => a.status === 502).length;
  const n504 = lines.length - n502;
  const parts = [n502 > 0 ? `${n502} × 502` : '', n504 > 0 ? `${n504} × 504` : ''].filter((p) => p !== '');
  return { text: parts.join(' and '), lines };
}

/**
 * `unknown_502`: current 502/504 evidence that no rule explains, with the evidence still shown;
 * and the verdict of a diagnosis that could not see enough (incomplete) and found nothing else.
 */
export function unknown502(
  ctx: ClassifierContext,
  leftovers: readonly NginxErrorEntry[],
  others: readonly Finding[],
  gaps: readonly Gap[],
): Finding[] {
  const named = (lines: readonly Dated[], f: Finding): Finding => naming(ctx.picture, f, vhostsOf(lines));
  const { current, old } = splitByTime(ctx, leftovers.filter(isUpstreamFailure));
  const findings: Finding[] = [];
  const window = span(ctx.windowMs);
  const incomplete = gaps.length > 0;
  const gapText = incomplete ? `Diagnosis incomplete (${gapSummary(gaps)}): ` : '';
  const gapLines = gaps.map((g) => `${g.check}: ${g.reason}`);

  if (current.length > 0) {
    const newestFirst = [...current].sort((a, b) => (b.at ?? 0) - (a.at ?? 0));
    const first = newestFirst[0] as NginxErrorEntry;
    const hint = protocolHint(ctx, newestFirst);
    findings.push(
      named(current, {
        cause: 'unknown_502',
        severity: 'critical',
        title: `nginx logs upstream errors no rule explains: "${clean(first.message, 160)}" (${plural(current.length, 'line')} in the last ${window})`,
        evidence: buildEvidence(current),
        explanation:
          hint?.explanation ??
          "These upstream errors match none of the known causes. The lines themselves usually say which backend failed and how; read them, and the backend's own log at the same times.",
        nextSteps: hint?.nextSteps ?? [
          "Read the backend's own log at the times of these lines",
          'grep the nginx error log around them: sudo grep -n "upstream" <error log> | tail -50',
        ],
        remediations: [],
        current: true,
      }),
    );
  }
  if (current.length === 0 && old.length > 0)
    findings.push(named(old, historyFinding(ctx, 'unknown_502', 'nginx logged upstream errors no rule explains', old)));

  if (current.length > 0 || others.some(explainsNow)) return findings;

  const gateway = gatewayCounts(ctx);
  // Any probe that failed speaks for the site, whichever virtual host it was: the others answering does not make it well.
  const failed = ctx.probes.filter((p) => p.code === 0 || isGatewayError(p.code));
  const probe = failed[0] ?? ctx.probes.find((p) => p.code >= 500) ?? ctx.probe;
  const shownProbes = failed.length > 0 ? failed : probe === undefined ? [] : [probe];
  const probeLines = shownProbes.flatMap((p) => [p.line, ...(p.error === undefined ? [] : [p.error])]);
  const probeFailed = failed.length > 0;
  const probeVhosts = failed.flatMap((p) => (p.server === undefined ? [] : [p.server]));
  if (gateway.lines.length > 0 || probeFailed) {
    let what: string;
    if (probe?.code === 0) {
      what =
        ctx.picture.nginx.running || ctx.picture.processes.length === 0
          ? `the site does not answer (${clean(probe.error ?? 'no HTTP response', 160)})`
          : 'the site does not answer: nginx is not running';
    } else if (probe !== undefined && probeFailed) {
      what = `the site answers ${probe.code}${gateway.text === '' ? '' : ` (nginx answered ${gateway.text} in the last ${window})`}, and no rule explains why`;
    } else {
      what = `nginx answered ${gateway.text} in the last ${window}, and no rule explains why`;
    }
    findings.push(
      named([...gateway.lines, ...probeVhosts.map((server) => ({ text: '', server }))], {
        cause: 'unknown_502',
        severity: 'critical',
        title: `${gapText}${what.charAt(0).toUpperCase()}${what.slice(1)}`,
        evidence: buildEvidence(gateway.lines, [...probeLines, ...gapLines]),
        explanation:
          probe?.code === 0
            ? 'curl got no HTTP answer at all: nginx is not running or not listening on the probed address, or something in between drops the connection. That is not a gateway error from the upstream.'
            : `nginx answers 502/504, but its error log names no known cause${incomplete ? ' (or could not be read)' : ''}. The evidence is shown as is.`,
        nextSteps: [
          ...(incomplete ? ['Give the diagnosis what it could not read (see the gaps), then run it again'] : []),
          'Read the nginx error log at the times of these requests: sudo grep -n "upstream" <error log> | tail -50',
        ],
        remediations: [],
        current: true,
      }),
    );
  } else if (incomplete) {
    findings.push({
      cause: 'unknown_502',
      severity: 'warning',
      title: `Diagnosis incomplete: ${gapSummary(gaps)}`,
      evidence: buildEvidence([], [...gapLines, ...probeLines]),
      explanation: 'Some checks could not run, so a cause may be hidden in what was not read. This is not a clean bill of health.',
      nextSteps: ['Fix what stopped the checks (sudo rights for the log files, timeouts), then run the diagnosis again'],
      remediations: [],
      current: true,
    });
  } else if (probe !== undefined && probe.code >= 500) {
    findings.push(
      named(probe.server === undefined ? [] : [{ text: '', server: probe.server }], {
        cause: 'unknown_502',
        severity: 'warning',
        title: `The site answers HTTP ${probe.code}, not a 502/504 from the upstream`,
        evidence: buildEvidence([], probeLines),
        explanation: `${probe.code} is not a gateway error: it comes from the application (500) or from nginx's own limits or maintenance mode (503). Nothing in the logs points at the upstream.`,
        nextSteps: ["Read the application's error log (PHP's error_log, the framework's log) for the failing requests"],
        remediations: [],
        current: true,
      }),
    );
  }
  return findings;
}
