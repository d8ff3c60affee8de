import type { Finding } from '../../finding.ts';
import { endpointsOf, historyFinding, isConnectFailure, listOf, passLines, plural, splitByTime } from '../advice.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';
import { sameEndpoint } from '../upstream-address.ts';

/** `proxy_upstream_down`: a proxy_pass backend (Node.js, Gunicorn, uWSGI…) refuses connections or is absent. */
export const proxyUpstreamDown: Rule = {
  cause: 'proxy_upstream_down',
  claims: (e) => e.scheme !== undefined && !isFastcgi(e) && isConnectFailure(e),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    if (current.length > 0) {
      // "no live upstreams" names the upstream block, the connect() lines name its servers.
      const refused = current.filter((e) => /^connect\(\)/.test(e.message));
      const named = endpointsOf(refused.length > 0 ? refused : current);
      const where = listOf(named);
      const endpoint = (refused[0] ?? current[0])?.endpoint;
      const listening = endpoint === undefined || ctx.sockets === undefined ? undefined : ctx.sockets.some((s) => s.endpoint !== undefined && sameEndpoint(endpoint, s.endpoint));
      const now = listening === false ? '; nothing listens there now' : listening === true ? '; something listens there again now' : '';
      findings.push({
        cause: 'proxy_upstream_down',
        severity: 'critical',
        title: `The proxy_pass backend ${where} refuses connections (${plural(current.length, 'request')} failed in the last ${span(ctx.windowMs)}${now})`,
        evidence: buildEvidence(current, passLines(ctx, 'proxy', endpoint)),
        explanation:
          'nginx proxies these requests to an application server (Node.js, Gunicorn, uWSGI…) and nothing accepts the connection: the application is stopped, crashed, or listens on another port. ' +
          'Fix the upstream, not nginx: nginx is just the messenger.',
        nextSteps: [
          `Start the application that should listen on ${where} (its systemd unit, pm2, supervisor or container)`,
          `Check that it listens: ss -ltnp | grep '${endpoint?.kind === 'tcp' ? `:${endpoint.port}` : where}'`,
          "Read the application's own log for why it stopped",
        ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'proxy_upstream_down', `the proxy_pass backend ${listOf(endpointsOf(old))} refused connections`, old));
    }
    return findings;
  },
};
