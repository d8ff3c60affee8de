import type { Finding } from '../../finding.ts';
import { commands, directiveLines, historyFinding, plural, splitByTime } from '../advice.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

const BUFFER_DIRECTIVES = ['fastcgi_buffer_size', 'fastcgi_buffers', 'proxy_buffer_size', 'proxy_buffers', 'uwsgi_buffer_size'];

/** `upstream_header_too_big`: the response headers do not fit nginx's buffer. */
export const upstreamHeaderTooBig: Rule = {
  cause: 'upstream_header_too_big',
  claims: (e) => /upstream sent too big header/.test(e.message),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const config = directiveLines(ctx, BUFFER_DIRECTIVES);
    if (current.length > 0) {
      const p = current.some(isFastcgi) ? 'fastcgi' : 'proxy';
      findings.push({
        cause: 'upstream_header_too_big',
        severity: 'critical',
        title: `The backend's response headers do not fit ${p}_buffer_size (${plural(current.length, 'request')} in the last ${span(ctx.windowMs)})`,
        evidence: buildEvidence(current, config),
        explanation:
          `nginx reads the response headers into one buffer of ${p}_buffer_size (4k or 8k by default). Big cookies, long Set-Cookie or Link headers, or debug headers overflow it, and nginx answers 502. ` +
          'Raise the buffer, and check why the headers are that big.',
        nextSteps: [
          `Raise the buffers where this location is served: ${p}_buffer_size 32k; ${p}_buffers 16 16k;`,
          'Look at which headers are big (curl -sI on the URL in the evidence): oversized cookies or debug headers are the usual suspects',
          `Then ${commands.reloadNginx(ctx)}`,
        ],
        remediations: ['reload_nginx'],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'upstream_header_too_big', 'the backend sent headers too big for nginx', old, config));
    }
    return findings;
  },
};
