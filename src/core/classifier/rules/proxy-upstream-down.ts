import type { Finding } from '../../finding.ts';
import {
  clean,
  endpointsOf,
  historyFinding,
  isConnectFailure,
  listenCheck,
  listenerAt,
  listenerName,
  listOf,
  passLines,
  plural,
  splitByTime,
  wentDownAfter,
} from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { probeAnswered } from '../parse/http-probe.ts';
import { isFastcgi, isMidRequestClose, type NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';
import type { Endpoint } from '../upstream-address.ts';

/** Which directive sends there: proxy_pass for http(s)://, uwsgi_pass, grpc_pass, scgi_pass. */
export const passOf = (e: NginxErrorEntry | undefined): string =>
  e?.scheme === 'uwsgi' || e?.scheme === 'grpc' || e?.scheme === 'scgi'
    ? `${e.scheme}_pass`
    : e?.scheme === 'grpcs'
      ? 'grpc_pass'
      : 'proxy_pass';

const isIpv6Loopback = (e: NginxErrorEntry): boolean => e.endpoint?.kind === 'tcp' && e.endpoint.host === '::1';

/** The IPv4 twin of `[::1]:port`, listening now. */
const ipv4Twin = (ctx: ClassifierContext, e: Endpoint | undefined): boolean =>
  e?.kind === 'tcp' && listenerAt(ctx, { kind: 'tcp', host: '127.0.0.1', port: e.port }) !== undefined;

/**
 * `localhost` resolves to ::1 and 127.0.0.1; nginx tries [::1] first, is refused by a backend
 * that listens on IPv4 only, and goes on to 127.0.0.1, which answers. The log fills with
 * refusals while no request fails: a warning about the address, not a backend that is down.
 */
function ipv6Fallback(ctx: ClassifierContext, refused: readonly NginxErrorEntry[]): Finding | undefined {
  if (refused.length === 0 || !refused.every(isIpv6Loopback)) return undefined;
  const endpoint = refused[0]?.endpoint;
  const answers = ctx.probe !== undefined && probeAnswered(ctx.probe.code);
  if (!answers && !ipv4Twin(ctx, endpoint)) return undefined;
  const port = endpoint?.kind === 'tcp' ? endpoint.port : 0;
  const twin = listenerAt(ctx, { kind: 'tcp', host: '127.0.0.1', port });
  return {
    cause: 'proxy_upstream_down',
    severity: 'warning',
    title: `nginx tries the backend at [::1]:${port} first and is refused, then falls back to IPv4${answers ? `: the site answers ${ctx.probe?.code}` : ''} (${plural(refused.length, 'refusal')} in the last ${span(ctx.windowMs)})`,
    evidence: buildEvidence(refused, [
      ...passLines(ctx, 'proxy'),
      ...(twin === undefined ? [] : [twin.line]),
      ...(ctx.probe === undefined ? [] : [ctx.probe.line]),
    ]),
    explanation:
      'The upstream is a name (localhost) that resolves to both ::1 and 127.0.0.1. The backend listens on IPv4 only, so each request is first refused on [::1] and then served over 127.0.0.1. ' +
      'Nothing is down, but every refusal costs a connection attempt and fills the error log, and an upstream marked failed on [::1] can turn into 502s under load.',
    nextSteps: [
      `Point nginx at the address the backend listens on: proxy_pass http://127.0.0.1:${port}; (instead of localhost), then reload nginx`,
      `Or make the backend listen on [::1]:${port} as well`,
    ],
    remediations: [],
    current: true,
  };
}

/** `proxy_upstream_down`: a proxy_pass backend (Node.js, Gunicorn, uWSGI…) refuses connections or is absent. */
export const proxyUpstreamDown: Rule = {
  cause: 'proxy_upstream_down',
  claims: (e) => e.scheme !== undefined && !isFastcgi(e) && (isConnectFailure(e) || (e.errno === 99 && isIpv6Loopback(e))),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    if (current.length > 0) {
      // "no live upstreams" names the upstream block, the connect() lines name its servers.
      const refused = current.filter((e) => /^connect\(\)/.test(e.message));
      const fallback = ipv6Fallback(ctx, refused);
      if (fallback !== undefined && refused.length === current.length) return [fallback];
      // Requests the backend cut off as it went down, before the refusals began.
      const cutOff = ctx.errors.filter((e) => !isFastcgi(e) && isMidRequestClose(e) && isCurrent(ctx, e) && wentDownAfter(ctx, e));
      const named = endpointsOf(refused.length > 0 ? refused : current);
      const where = listOf(named);
      const endpoint = (refused[0] ?? current[0])?.endpoint;
      const listener = listenerAt(ctx, endpoint);
      const listening = endpoint === undefined || ctx.sockets === undefined ? undefined : listener !== undefined;
      const who = listenerName(ctx, endpoint);
      const now =
        listening === false ? '; nothing listens there now' : listening === true ? `; ${who ?? 'something'} listens there again now` : '';
      findings.push({
        cause: 'proxy_upstream_down',
        severity: 'critical',
        title: `The ${passOf(refused[0] ?? current[0])} backend ${where} refuses connections (${plural(current.length + cutOff.length, 'request')} failed in the last ${span(ctx.windowMs)}${now})`,
        evidence: buildEvidence(
          [...current, ...cutOff],
          [...passLines(ctx, 'proxy', endpoint), ...(listener === undefined ? [] : [listener.line])],
        ),
        explanation:
          'nginx proxies these requests to an application server (Node.js, Gunicorn, uWSGI…) and nothing accepts the connection: the application is stopped, crashed, or listens on another port. ' +
          (cutOff.length > 0
            ? `It went down with ${plural(cutOff.length, 'request')} in flight, which it cut off mid-request just before the refusals began. `
            : '') +
          'Fix the upstream, not nginx: nginx is just the messenger.',
        nextSteps: [
          `Start the application that should listen on ${where} (its systemd unit, pm2, supervisor or container)`,
          `Check that it listens: ${listenCheck(endpoint, clean(named[0] ?? where, 200))}`,
          "Read the application's own log for why it stopped (journalctl -u <its unit> --since '1 hour ago')",
        ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(
        historyFinding(ctx, 'proxy_upstream_down', `the proxy_pass backend ${listOf(endpointsOf(old))} refused connections`, old),
      );
    }
    return findings;
  },
};
