import type { Finding } from '../../finding.ts';
import { commands, historyFinding, listOf, splitByTime } from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { isFpmProcess, type KernelEntry } from '../parse/kernel-log.ts';
import type { Rule } from '../rule.ts';

/** How far apart the lines of one OOM report may be. */
const REPORT_SPAN_MS = 10_000;

/** The kernel lines of the OOM reports whose victim is php-fpm: the kill, the reaper, and what invoked the killer. */
export function phpOomLines(ctx: ClassifierContext): KernelEntry[] {
  // A PHP CLI victim (cron, a reindex) is php_cli_oom's, not php-fpm's.
  const victims = ctx.kernel.filter((k) => k.victim !== undefined && isFpmProcess(k.victim.process));
  const invoked = ctx.kernel.filter(
    (k) =>
      k.invoked === true &&
      k.at !== undefined &&
      victims.some((v) => v.at !== undefined && Math.abs(v.at - (k.at as number)) <= REPORT_SPAN_MS),
  );
  return [...victims, ...invoked];
}

/** Current `php-fpm invoked oom-killer` lines with no victim line of any process near them. */
function invokedAlone(ctx: ClassifierContext): KernelEntry[] {
  return ctx.kernel.filter(
    (k) =>
      isCurrent(ctx, k) &&
      k.invoker !== undefined &&
      isFpmProcess(k.invoker) &&
      !ctx.kernel.some(
        (v) => v.victim !== undefined && (v.at === undefined || k.at === undefined || Math.abs(v.at - k.at) <= REPORT_SPAN_MS),
      ),
  );
}

/** `oom_killed`: the kernel OOM killer terminated php-fpm. */
export const oomKilled: Rule = {
  cause: 'oom_killed',
  evaluate(ctx) {
    const lines = phpOomLines(ctx);
    const { current, old } = splitByTime(ctx, lines);
    const serviceOom = ctx.fpmService?.result === 'oom-kill';
    const findings: Finding[] = [];
    if (current.length > 0 || serviceOom) {
      const pids = [...new Set(current.flatMap((k) => (k.victim?.pid === undefined ? [] : [String(k.victim.pid)])))];
      const signals = ctx.fpmLog
        .filter((l) => isCurrent(ctx, l) && l.event.kind === 'signal' && l.event.signal === 'SIGKILL')
        .map((l) => l.text);
      const memory = ['MemTotal', 'MemAvailable'].flatMap((k) => ctx.memory?.lines[k] ?? []);
      const down = ctx.fpmState !== 'running';
      findings.push({
        cause: 'oom_killed',
        severity: 'critical',
        title:
          current.length > 0
            ? `The kernel OOM killer killed php-fpm (pid ${listOf(pids, 3)})${down ? ', and PHP-FPM is not running' : ''}`
            : 'systemd reports that PHP-FPM was killed by the OOM killer',
        evidence: buildEvidence(current, [...(ctx.fpmService?.lines ?? []), ...signals.reverse(), ...memory]),
        explanation:
          "The host ran out of memory and the kernel killed PHP-FPM, silently from PHP-FPM's point of view; nginx then finds nothing to connect to, or a connection cut mid-request, and answers 502. " +
          'Starting or reloading PHP-FPM buys time; the fix is to make PHP fit in RAM: lower pm.max_children or memory_limit, add RAM, and keep cron and CLI jobs out of the web pool.',
        nextSteps: [
          down ? commands.startFpm(ctx) : commands.reloadFpm(ctx),
          'See what uses the memory: free -h; ps aux --sort=-%mem | head -20',
          'Size the pool to the RAM: pm.max_children = (RAM left for PHP) / memory_limit (or / the average worker RSS under load)',
        ],
        remediations: down ? ['start_php_fpm'] : ['reload_php_fpm'],
        current: true,
      });
    } else if (invokedAlone(ctx).length > 0) {
      // The report's head without its victim line (cut by the log's rotation or by rate limiting).
      const lines = invokedAlone(ctx);
      findings.push({
        cause: 'oom_killed',
        severity: 'warning',
        title: `PHP-FPM invoked the kernel OOM killer; the kernel log does not say which process was killed`,
        evidence: buildEvidence(
          lines,
          ['MemTotal', 'MemAvailable'].flatMap((k) => ctx.memory?.lines[k] ?? []),
        ),
        explanation:
          'A php-fpm process asked for memory the host did not have, and the kernel started its OOM killer. The line naming the victim is missing, so whether php-fpm itself was killed is not certain (lower confidence); the host ran out of memory either way.',
        nextSteps: [
          `See the whole report: ${commands.oomCheck}`,
          'Size the pool to the RAM: pm.max_children = (RAM left for PHP) / memory_limit',
        ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'oom_killed', 'the kernel OOM killer killed php-fpm', old));
    }
    return findings;
  },
};
