import type { Finding } from '../../finding.ts';
import {
  commands,
  directiveLines,
  endpointsOf,
  historyFinding,
  listenerName,
  listenerUnit,
  listOf,
  plural,
  splitByTime,
} from '../advice.ts';
import { backendStory } from '../backend-story.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi, type NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

/** The module whose `*_read_timeout` governs a line, from its upstream's scheme: `uwsgi://` is uwsgi_pass's, `grpc(s)://` grpc_pass's. */
export type PassModule = 'fastcgi' | 'proxy' | 'uwsgi' | 'grpc' | 'scgi';

export function passModule(e: NginxErrorEntry): PassModule {
  switch (e.scheme) {
    case 'fastcgi':
    case 'uwsgi':
    case 'scgi':
      return e.scheme;
    case 'grpc':
    case 'grpcs':
      return 'grpc';
    default:
      return 'proxy';
  }
}

/** The timeout directives of the modules in play, as the operator would grep for them. */
const timeoutDirectives = (modules: readonly PassModule[]): string[] =>
  modules.flatMap((m) => [`${m}_read_timeout`, `${m}_connect_timeout`, `${m}_send_timeout`]);

/** `upstream_timeout`: the backend is alive but did not answer in time (504). */
export const upstreamTimeout: Rule = {
  cause: 'upstream_timeout',
  claims: (e) => /upstream timed out/.test(e.message) || (e.errno === 110 && /upstream/.test(e.message)),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    if (current.length > 0) {
      const fastcgi = current.some(isFastcgi);
      const connecting = current.every((e) => /while connecting to upstream/.test(e.message));
      // The directive that governs these requests: proxy_read_timeout does nothing for uwsgi_pass or grpc_pass.
      const modules = [...new Set(current.map(passModule))];
      const directives = directiveLines(ctx, timeoutDirectives(modules));
      const reads = modules.map((m) => `${m}_read_timeout`);
      const read = listOf(reads);
      const endpoint = current[0]?.endpoint;
      const backend = fastcgi
        ? { lines: [], why: [], steps: [] }
        : backendStory(ctx, ['worker_timeout', 'harakiri', 'queue_full'], listenerUnit(ctx, endpoint));
      // The application server by name (and unit) where `ss -p` saw it listen: never "PHP-FPM" for a proxied backend.
      const who = fastcgi ? undefined : listenerName(ctx, endpoint);
      const where = listOf(endpointsOf(current));
      findings.push({
        cause: 'upstream_timeout',
        severity: 'critical',
        title: connecting
          ? `nginx timed out connecting to ${who === undefined ? where : `${who} at ${where}`} (${plural(current.length, 'request')} in the last ${span(ctx.windowMs)})`
          : `The backend ${who === undefined ? '' : `${who} `}is too slow: ${plural(current.length, 'request')} to ${where} timed out in the last ${span(ctx.windowMs)}`,
        evidence: buildEvidence(current, [...directives, ...backend.lines]),
        explanation: connecting
          ? `nginx could not even open a connection within ${listOf(modules.map((m) => `${m}_connect_timeout`))}: the backend is not accepting (its listen backlog is full, every worker is busy) or the network path drops packets.`
          : `The backend accepted the request but did not answer within ${read}${directives.length === 0 ? ' (60s by default)' : ''}, so nginx gave up with 504. ` +
            'Raising the timeout only delays the error: find what makes these requests slow (unindexed queries, external calls without timeouts, a saturated pool).' +
            (backend.why.length > 0 ? ` The backend's own log agrees: ${backend.why.join('; ')}.` : ''),
        nextSteps: fastcgi
          ? [
              `Find the slow scripts: set request_slowlog_timeout = 5s and slowlog = /var/log/php-fpm-slow.log in the pool, then ${commands.reloadFpm(ctx)} and read the slow log`,
              'Look at the requests in the evidence for slow database queries or external API calls',
              'Raise fastcgi_read_timeout only for routes that legitimately run long, e.g. location = /admin/export { fastcgi_read_timeout 300s; }',
            ]
          : [
              ...backend.steps,
              "Check the application's own logs and latency for the requests in the evidence",
              `Raise ${read} only for routes that legitimately run long, e.g. location = /reports/export { ${reads[0] ?? 'proxy_read_timeout'} 300s; }`,
            ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'upstream_timeout', `requests to ${listOf(endpointsOf(old))} timed out`, old));
    }
    return findings;
  },
};
