import type { Finding } from '../../finding.ts';
import {
  clean,
  commands,
  endpointsOf,
  historyFinding,
  listenerName,
  listenerUnit,
  listOf,
  plural,
  splitByTime,
  wentDownAfter,
} from '../advice.ts';
import { backendStory } from '../backend-story.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import type { FpmLogEntry } from '../parse/fpm-log.ts';
import { isPhpProcess, type KernelEntry } from '../parse/kernel-log.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi, isMidRequestClose, isUpstreamFailure } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

/** Signals that kill a worker mid-request (SIGTERM and SIGQUIT are php-fpm's own graceful stops). */
const FATAL = new Set(['SIGSEGV', 'SIGBUS', 'SIGKILL', 'SIGABRT', 'SIGILL', 'SIGFPE']);

/** Worker deaths that php-fpm's log or the kernel saw in the window: evidence nginx did not log. */
function unlogged(ctx: ClassifierContext): (FpmLogEntry | KernelEntry)[] {
  // Only while nginx's log is silent: its own lines, where there are some, tell the story better.
  if (ctx.errors.some((e) => isCurrent(ctx, e) && isUpstreamFailure(e))) return [];
  const fpm = ctx.fpmLog.filter(
    (l) => isCurrent(ctx, l) && ((l.event.kind === 'signal' && FATAL.has(l.event.signal)) || l.event.kind === 'terminated'),
  );
  const kernel = ctx.kernel.filter((k) => isCurrent(ctx, k) && k.crashed !== undefined && isPhpProcess(k.crashed.process));
  return [...fpm, ...kernel];
}

/** `upstream_reset`: the backend accepted the request and died or hung up before answering. */
export const upstreamReset: Rule = {
  cause: 'upstream_reset',
  claims: isMidRequestClose,
  evaluate(ctx, claimed) {
    const split = splitByTime(ctx, claimed);
    const old = split.old;
    // Resets from a backend that then went down are proxy_upstream_down's evidence, not a crash story.
    const current = split.current.filter((e) => !wentDownAfter(ctx, e));
    const findings: Finding[] = [];
    const deaths = ctx.fpmLog.filter((l) => l.event.kind === 'signal' || l.event.kind === 'terminated');
    if (current.length > 0) {
      const fastcgi = current.some(isFastcgi);
      const recent = deaths.filter((d) => isCurrent(ctx, d));
      const signals = [...new Set(recent.flatMap((d) => (d.event.kind === 'signal' ? [d.event.signal] : ['request_terminate_timeout'])))];
      const where = listOf(endpointsOf(current));
      const window = span(ctx.windowMs);
      const why: string[] = [];
      const backend = fastcgi ? { lines: [], why: [], steps: [] } : backendStory(ctx, undefined, listenerUnit(ctx, current[0]?.endpoint));
      why.push(...backend.why);
      const who = fastcgi ? undefined : listenerName(ctx, current[0]?.endpoint);
      const title = !fastcgi
        ? `The backend ${who === undefined ? where : `${who} at ${where}`} closed connections mid-request (${plural(current.length, 'request')} in the last ${window})`
        : signals.length > 0
          ? `PHP-FPM workers die mid-request (${signals.join(', ')}): ${plural(current.length, 'request')} cut off in the last ${window}`
          : `PHP-FPM closed connections mid-request: ${plural(current.length, 'request')} cut off in the last ${window}`;
      if (signals.includes('SIGSEGV') || signals.includes('SIGBUS'))
        why.push('a segfault is usually a PHP extension or OPcache bug: find the script that triggers it and update the extension');
      if (signals.includes('SIGKILL'))
        why.push('SIGKILL comes from the OOM killer, request_terminate_timeout or someone killing workers: check the kernel log');
      if (signals.includes('request_terminate_timeout')) why.push('request_terminate_timeout killed workers that ran too long');
      findings.push({
        cause: 'upstream_reset',
        severity: 'critical',
        title,
        evidence: buildEvidence(current, [...recent.map((d) => d.text).reverse(), ...backend.lines]),
        explanation:
          'The backend accepted the request, then died or hung up before sending a response: a worker crashed (segfault), was killed (OOM killer, timeout) or hit a fatal error. Nginx only reports it.' +
          (why.length > 0 ? ` Here ${why.join('; ')}.` : ''),
        nextSteps: fastcgi
          ? [
              `See which workers died and how: sudo grep -E 'exited on signal|execution timed out' ${clean(ctx.picture.fpm.errorLog ?? '/var/log/php8.2-fpm.log', 200)} | tail`,
              `Check for the OOM killer: ${commands.oomCheck}`,
              `Replace the workers gracefully: ${commands.reloadFpm(ctx)}`,
            ]
          : [...backend.steps, `Read the logs of the application behind ${where} for crashes or restarts at the times in the evidence`],
        remediations: fastcgi ? ['reload_php_fpm'] : [],
        current: true,
      });
    } else if (unlogged(ctx).length > 0) {
      const lines = unlogged(ctx);
      const what = [
        ...new Set(
          lines.map((l) =>
            'event' in l && l.event.kind === 'signal' ? l.event.signal : 'event' in l ? 'request_terminate_timeout' : 'segfault',
          ),
        ),
      ];
      findings.push({
        cause: 'upstream_reset',
        severity: 'warning',
        title: `PHP-FPM workers died in the last ${span(ctx.windowMs)} (${what.join(', ')}), with no matching line in nginx's error log`,
        evidence: buildEvidence(lines),
        explanation:
          "php-fpm's log or the kernel says workers died mid-request, and each death costs the request it served a 502. nginx's error log shows none of them: it was rotated, is written elsewhere, or could not be read, so how many requests failed is not known (lower confidence than a diagnosis from nginx's own lines).",
        nextSteps: [
          `See which workers died and how: sudo grep -E 'exited on signal|execution timed out' ${clean(ctx.picture.fpm.errorLog ?? '/var/log/php8.2-fpm.log', 200)} | tail`,
          `Check for the OOM killer: ${commands.oomCheck}`,
          'Check where nginx writes its error log (error_log in nginx -T) and whether it was rotated',
        ],
        remediations: ['reload_php_fpm'],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'upstream_reset', `the backend ${listOf(endpointsOf(old))} closed connections mid-request`, old));
    }
    return findings;
  },
};
