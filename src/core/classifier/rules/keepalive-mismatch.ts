import type { Finding } from '../../finding.ts';
import { directiveLines, endpointsOf, historyFinding, listenerName, listOf, plural, splitByTime, wentDownAfter } from '../advice.ts';
import type { ClassifierContext } from '../context.ts';
import { backendStory } from '../backend-story.ts';
import { buildEvidence } from '../evidence.ts';
import { probeAnswered } from '../parse/http-probe.ts';
import { isFastcgi, type NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

// EPIPE while writing the request is the same race seen earlier: the backend had already closed the reused connection.
const isReset = (e: NginxErrorEntry): boolean =>
  (e.errno === 104 && /upstream/.test(e.message)) ||
  (e.errno === 32 && /while sending request to upstream/.test(e.message)) ||
  /upstream prematurely closed connection while reading response header/.test(e.message);

/** nginx keeps idle connections to this kind of upstream (a `keepalive N;` in an upstream block). */
const keepsAlive = (ctx: ClassifierContext): boolean => ctx.picture.nginx.directives.some((d) => d.name === 'keepalive');

/**
 * `keepalive_mismatch`: occasional resets on reused upstream connections while the backend is
 * healthy. nginx keeps idle connections open (upstream `keepalive`); the backend closes idle
 * connections sooner (Node's keepAliveTimeout is 5 s, gunicorn's --keep-alive 2 s); a request sent
 * on a connection the backend is closing at that moment is reset. Claimed before upstream_reset
 * only while the site answers: a backend that crashes is upstream_reset's.
 */
export const keepaliveMismatch: Rule = {
  cause: 'keepalive_mismatch',
  // A backend whose own log shows workers dying is upstream_reset's, keep-alive or not; one that
  // went down after the reset is proxy_upstream_down's.
  claims: (e, ctx) =>
    isReset(e) &&
    !isFastcgi(e) &&
    !wentDownAfter(ctx, e) &&
    keepsAlive(ctx) &&
    ctx.probe !== undefined &&
    probeAnswered(ctx.probe.code) &&
    backendStory(ctx).lines.length === 0,
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const config = directiveLines(ctx, ['keepalive', 'keepalive_timeout', 'keepalive_requests', 'proxy_http_version']);
    if (current.length > 0) {
      const where = listOf(endpointsOf(current));
      const who = listenerName(ctx, current[0]?.endpoint);
      findings.push({
        cause: 'keepalive_mismatch',
        severity: 'warning',
        title:
          `The backend ${who === undefined ? where : `${who} at ${where}`} closes kept-alive connections that nginx reuses (${plural(current.length, 'request')} reset in the last ${span(ctx.windowMs)}); the site answers ${ctx.probe?.code ?? ''}`.trimEnd(),
        evidence: buildEvidence(current, [...config, ...(ctx.probe === undefined ? [] : [ctx.probe.line])]),
        explanation:
          "nginx keeps idle connections to this upstream open (keepalive) and reuses them; the backend closes idle connections after its own keep-alive timeout. When the backend's timeout is the shorter one, a request sent just as the backend closes is reset and answered 502, now and then, while the backend is healthy.",
        nextSteps: [
          "Make the backend's idle timeout longer than nginx's: Node server.keepAliveTimeout = 65000 (and headersTimeout above it), gunicorn --keep-alive 75, uWSGI http-keepalive",
          "Or make nginx drop idle connections first: keepalive_timeout 4s; in the upstream block (nginx ≥ 1.15.3), below the backend's timeout",
          'Check that the location sends proxy_http_version 1.1; and proxy_set_header Connection ""; (keep-alive to upstreams needs both)',
        ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(
        historyFinding(
          ctx,
          'keepalive_mismatch',
          `the backend ${listOf(endpointsOf(old))} closed kept-alive connections nginx reused`,
          old,
          config,
        ),
      );
    }
    return findings;
  },
};
