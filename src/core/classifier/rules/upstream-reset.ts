import type { Finding } from '../../finding.ts';
import { clean, commands, endpointsOf, historyFinding, listOf, plural, splitByTime } from '../advice.ts';
import { isCurrent } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

/** `upstream_reset`: the backend accepted the request and died or hung up before answering. */
export const upstreamReset: Rule = {
  cause: 'upstream_reset',
  claims: (e) => (e.errno === 104 && /upstream/.test(e.message)) || /upstream prematurely closed/.test(e.message) || (e.errno === 32 && /upstream/.test(e.message)),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const deaths = ctx.fpmLog.filter((l) => l.event.kind === 'signal' || l.event.kind === 'terminated');
    if (current.length > 0) {
      const fastcgi = current.some(isFastcgi);
      const recent = deaths.filter((d) => isCurrent(ctx, d));
      const signals = [...new Set(recent.flatMap((d) => (d.event.kind === 'signal' ? [d.event.signal] : ['request_terminate_timeout'])))];
      const where = listOf(endpointsOf(current));
      const window = span(ctx.windowMs);
      const title = !fastcgi
        ? `The backend ${where} closed connections mid-request (${plural(current.length, 'request')} in the last ${window})`
        : signals.length > 0
          ? `PHP-FPM workers die mid-request (${signals.join(', ')}): ${plural(current.length, 'request')} cut off in the last ${window}`
          : `PHP-FPM closed connections mid-request: ${plural(current.length, 'request')} cut off in the last ${window}`;
      const why: string[] = [];
      if (signals.includes('SIGSEGV') || signals.includes('SIGBUS')) why.push('a segfault is usually a PHP extension or OPcache bug: find the script that triggers it and update the extension');
      if (signals.includes('SIGKILL')) why.push('SIGKILL comes from the OOM killer, request_terminate_timeout or someone killing workers: check the kernel log');
      if (signals.includes('request_terminate_timeout')) why.push('request_terminate_timeout killed workers that ran too long');
      findings.push({
        cause: 'upstream_reset',
        severity: 'critical',
        title,
        evidence: buildEvidence(current, recent.map((d) => d.text).reverse()),
        explanation:
          'The backend accepted the request, then died or hung up before sending a response: a worker crashed (segfault), was killed (OOM killer, timeout) or hit a fatal error. Nginx only reports it.' +
          (why.length > 0 ? ` Here ${why.join('; ')}.` : ''),
        nextSteps: fastcgi
          ? [
              `See which workers died and how: sudo grep -E 'exited on signal|execution timed out' ${clean(ctx.picture.fpm.errorLog ?? '/var/log/php8.2-fpm.log', 200)} | tail`,
              `Check for the OOM killer: ${commands.oomCheck}`,
              `Replace the workers gracefully: ${commands.reloadFpm(ctx)}`,
            ]
          : [`Read the logs of the application behind ${where} for crashes or restarts at the times in the evidence`],
        remediations: fastcgi ? ['reload_php_fpm'] : [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'upstream_reset', `the backend ${listOf(endpointsOf(old))} closed connections mid-request`, old));
    }
    return findings;
  },
};
