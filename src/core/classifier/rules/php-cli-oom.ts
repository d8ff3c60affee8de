import type { Finding } from '../../finding.ts';
import { clean, commands, historyFinding, listOf, splitByTime } from '../advice.ts';
import type { ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { isPhpCli, type KernelEntry } from '../parse/kernel-log.ts';
import type { Rule } from '../rule.ts';

/** How far apart the lines of one OOM report may be. */
const REPORT_SPAN_MS = 10_000;

/** The OOM reports whose victim is the PHP command line: the kill, the summary, what invoked the killer. */
function cliOomLines(ctx: ClassifierContext): KernelEntry[] {
  const victims = ctx.kernel.filter((k) => k.victim !== undefined && isPhpCli(k.victim.process));
  const near = (k: KernelEntry): boolean =>
    k.at !== undefined && victims.some((v) => v.at !== undefined && Math.abs(v.at - (k.at as number)) <= REPORT_SPAN_MS);
  return [...victims, ...ctx.kernel.filter((k) => k.invoked === true && k.victim === undefined && near(k))];
}

/**
 * `php_cli_oom`: the OOM killer killed the PHP command line (`php`, `php8.2` in the kernel's
 * line), i.e. a cron job or a CLI task such as a reindex, not php-fpm. The job, not the web
 * pool, needs a memory limit of its own: tuning php-fpm would not help.
 */
export const phpCliOom: Rule = {
  cause: 'php_cli_oom',
  evaluate(ctx) {
    const { current, old } = splitByTime(ctx, cliOomLines(ctx));
    const findings: Finding[] = [];
    const killed = current.filter((k) => k.victim !== undefined);
    if (killed.length > 0) {
      const pids = [...new Set(killed.flatMap((k) => (k.victim?.pid === undefined ? [] : [String(k.victim.pid)])))];
      const names = [...new Set(killed.map((k) => clean(k.victim?.process ?? 'php', 20)))];
      const memory = ['MemTotal', 'MemAvailable'].flatMap((k) => ctx.memory?.lines[k] ?? []);
      findings.push({
        cause: 'php_cli_oom',
        severity: 'warning',
        title: `The kernel OOM killer killed a PHP command-line process (${listOf(names, 2)}, pid ${listOf(pids, 3)}), not php-fpm: a cron job or CLI task ran out of memory`,
        evidence: buildEvidence(current, memory),
        explanation:
          `The kernel names the victim ${listOf(names, 2)}: the PHP CLI, which runs cron jobs, imports and reindexes (Magento's indexer:reindex can take 2-4 GB), not a php-fpm worker. ` +
          'On the same host or container such a job takes the memory the web workers need; where the OOM killer picks php-fpm instead, or kills the whole container, every request gets a 502. ' +
          'Do not tune php-fpm for it: give the job its own memory limit and, better, its own pool, container or machine.',
        nextSteps: [
          'Find the job that ran then: grep CRON /var/log/syslog (or journalctl -u cron) around the time of the kill, and crontab -l -u <web user>',
          'Run it with its own memory cap, e.g. sudo systemd-run --scope -p MemoryMax=2G php bin/magento indexer:reindex, or in a separate container or pool with its own limit',
          'Keep php -d memory_limit for the job below what the host can spare beside the web pool',
          `See the whole report: ${commands.oomCheck}`,
        ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(
        historyFinding(ctx, 'php_cli_oom', 'the kernel OOM killer killed a PHP command-line process (a cron job or CLI task)', old),
      );
    }
    return findings;
  },
};
