import type { Severity } from '../causes.ts';
import type { Diagnosis, Finding } from '../finding.ts';
import { sanitizeLine } from './sanitize.ts';

/** Options of {@link renderTerminal}. */
export interface TerminalOptions {
  /** Use ANSI colors (only when writing to a terminal that wants them; NO_COLOR is the caller's to honour). */
  color: boolean;
  /** Extra arguments for the `npx medic remediate` hints, e.g. the `--inventory FILE` the diagnosis used. */
  remediateArgs?: readonly string[];
}

const CODES = { red: '31', yellow: '33', green: '32', cyan: '36', dim: '2', bold: '1' } as const;
type Style = keyof typeof CODES;

const MARK: Record<Severity, string> = { critical: '✖', warning: '▲', info: '●' };

/** "850 ms", "4.2 s", "1 min 12 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * A diagnosis for people at a terminal: the verdict first (cause, title, host, how long it
 * took), an INCOMPLETE banner with what could not be read, then each finding with its evidence
 * indented, why it matters, what to do, and the `npx medic remediate` commands that apply.
 * Every string is sanitized again here: a diagnosis may come back from a queue or a file, and a
 * log line must never drive the terminal.
 */
export function renderTerminal(d: Diagnosis, opts: TerminalOptions): string {
  const paint = (style: Style, text: string): string => (opts.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text);
  const s = (text: string): string => sanitizeLine(text);
  const tone = (f: Pick<Finding, 'severity' | 'cause' | 'current'>): Style =>
    !f.current ? 'dim' : f.cause === 'healthy' ? 'green' : f.severity === 'critical' ? 'red' : f.severity === 'warning' ? 'yellow' : 'cyan';
  const host = s(d.host);
  const out: string[] = [];

  const verdict = d.findings[0];
  const verdictTone = verdict === undefined ? 'yellow' : tone(verdict);
  const mark = verdict === undefined ? MARK.warning : d.verdict.cause === 'healthy' ? '✔' : MARK[verdict.severity];
  out.push(paint('bold', paint(verdictTone, `${mark} ${s(d.verdict.cause)}: ${s(d.verdict.title)}`)));
  out.push(paint('dim', `  host ${host} · playbook ${s(d.playbook)} · ${formatDuration(d.durationMs)} · started ${s(d.startedAt)}`));

  const core = d.gaps.filter((g) => g.supplementary !== true);
  const supplementary = d.gaps.filter((g) => g.supplementary === true);
  if (d.incomplete || core.length > 0) {
    out.push('');
    out.push(
      paint(
        'bold',
        paint(
          'yellow',
          `  INCOMPLETE: ${core.length === 1 ? '1 check' : `${core.length} checks`} of core evidence could not run; this is not a clean bill of health`,
        ),
      ),
    );
    for (const g of core) out.push(paint('yellow', `    - ${s(g.check)}: ${s(g.reason)}`));
  }
  if (supplementary.length > 0) {
    out.push('');
    out.push(paint('dim', `  Not read (supplementary; the verdict stands, but these could hide a cause):`));
    for (const g of supplementary)
      out.push(paint('dim', `    - ${s(g.check)}: ${s(g.reason)} (could hide ${s(g.couldHide ?? 'a cause')})`));
  }

  if (d.untrustedMasters !== undefined && d.untrustedMasters.length > 0) {
    out.push('');
    out.push(
      paint(
        'bold',
        paint(
          'yellow',
          "  Ignored processes that look like masters (look-alikes and containers' masters; none was run or read through its paths):",
        ),
      ),
    );
    for (const u of d.untrustedMasters) out.push(paint('yellow', `    - pid ${u.pid} (${s(u.user)}) "${s(u.title)}": ${s(u.why)}`));
  }

  d.findings.forEach((f, i) => {
    out.push('');
    const history = f.current ? '' : ' (history)';
    out.push(paint(tone(f), `${i + 1}. [${f.severity}] ${s(f.cause)}${history}: ${s(f.title)}`));
    if (f.evidence.length > 0) {
      out.push('   Evidence:');
      for (const line of f.evidence) out.push(paint('dim', `     ${s(line)}`));
    }
    if (f.explanation !== '') out.push(`   Why: ${s(f.explanation)}`);
    if (f.nextSteps.length > 0) {
      out.push('   Next steps:');
      for (const step of f.nextSteps) out.push(`     - ${s(step)}`);
    }
    if (f.remediations.length > 0) {
      out.push('   Remediate (asks before it runs):');
      const extra = (opts.remediateArgs ?? []).map((a) => ` ${s(a)}`).join('');
      for (const r of f.remediations) out.push(paint('cyan', `     npx medic remediate ${host} ${s(r)}${extra}`));
    }
  });
  return `${out.join('\n')}\n`;
}
