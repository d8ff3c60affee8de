import type { Diagnosis } from '../finding.ts';
import { sanitizeLine } from './sanitize.ts';

/**
 * `medic diagnose --json`: exactly one JSON object (no trailing newline), with the contract's
 * fields first: `{ host, verdict: { cause, title }, findings: [{ cause, severity, title,
 * evidence, remediations, … }], durationMs }`, then the extras (incomplete, gaps, startedAt,
 * playbook, facts, checks). Fields of the contract never change; new ones may be added.
 */
export function renderJson(d: Diagnosis): string {
  const s = (text: string): string => sanitizeLine(text);
  return JSON.stringify(
    {
      host: d.host,
      verdict: { cause: d.verdict.cause, title: s(d.verdict.title) },
      findings: d.findings.map((f) => ({
        cause: f.cause,
        severity: f.severity,
        title: s(f.title),
        evidence: f.evidence.map(s),
        remediations: [...f.remediations],
        explanation: s(f.explanation),
        nextSteps: f.nextSteps.map(s),
        current: f.current,
        ...(f.vhosts === undefined ? {} : { vhosts: f.vhosts.map(s) }),
        // On a host with several stacks: which one, and the key `medic remediate --stack` takes.
        ...(f.stack === undefined ? {} : { stack: s(f.stack) }),
        ...(f.stackKey === undefined ? {} : { stackKey: s(f.stackKey) }),
      })),
      durationMs: d.durationMs,
      incomplete: d.incomplete,
      gaps: d.gaps.map((g) => ({
        check: g.check,
        reason: s(g.reason),
        ...(g.supplementary === true ? { supplementary: true, couldHide: s(g.couldHide ?? '') } : {}),
      })),
      ...(d.untrustedMasters === undefined
        ? {}
        : { untrustedMasters: d.untrustedMasters.map((u) => ({ ...u, user: s(u.user), title: s(u.title), why: s(u.why) })) }),
      startedAt: d.startedAt,
      playbook: d.playbook,
      facts: d.facts,
      checks: d.checks,
    },
    null,
    2,
  );
}
