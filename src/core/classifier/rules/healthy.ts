import type { Finding, Gap } from '../../finding.ts';
import type { ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { probeAnswered } from '../parse/http-probe.ts';
import { span } from '../time.ts';

/**
 * `healthy` only with nothing current to report, all the core evidence read, and a probe that got
 * an answer (404 is an answer, not a 502). Without a probe there is no all-clear: the verdict then
 * says the site was not probed. Supplementary checks that could not run are named, with what they
 * could hide, but do not forbid it.
 */
export function allClear(ctx: ClassifierContext, others: readonly Finding[], incomplete: boolean, unread: readonly Gap[] = []): Finding[] {
  if (incomplete || others.some((f) => f.current && f.severity !== 'info')) return [];
  const window = span(ctx.windowMs);
  const probe = ctx.probe;
  // Every virtual host probed must answer: one that does not is never hidden behind another that does.
  if (probe !== undefined && ctx.probes.every((p) => probeAnswered(p.code))) {
    const codes = [...new Set(ctx.probes.map((p) => p.code))].join(', ');
    const notChecked = ctx.picture.nginx.notChecked.map((n) => `not checked: ${n}`);
    return [
      {
        cause: 'healthy',
        severity: 'info',
        title:
          ctx.probes.length === 1
            ? `The site answers ${probe.code} and nginx logged no 502/504 in the last ${window}`
            : `The site answers (${ctx.probes.length} probes, ${codes}) and nginx logged no 502/504 in the last ${window}`,
        evidence: [
          ...buildEvidence(
            [],
            ctx.probes.map((p) => p.line),
          ),
          ...buildEvidence([], notChecked),
        ],
        explanation:
          'Nothing points at a current 502/504: PHP-FPM and the backends answer, and the logs of the window are clean.' +
          (unread.length === 0
            ? ''
            : ` Not read, which could hide a cause that is not a 502 yet: ${unread.map((g) => `${g.check} (${g.couldHide ?? 'a cause'})`).join('; ')}.`),
        nextSteps:
          unread.length === 0 ? [] : ['Give medic what it could not read (see the supplementary checks) to rule those out as well'],
        remediations: [],
        current: true,
      },
    ];
  }
  if (probe === undefined) {
    return [
      {
        cause: 'unknown_502',
        severity: 'info',
        title: `No 502/504 evidence in the last ${window}, but the site was not probed`,
        evidence: [],
        explanation: 'The logs of the window are clean, but without an HTTP probe medic cannot confirm that the site answers.',
        nextSteps: ["Set the site's URL in the inventory (facts.site.probeUrl) so that medic probes it from the host"],
        remediations: [],
        current: true,
      },
    ];
  }
  return [];
}
