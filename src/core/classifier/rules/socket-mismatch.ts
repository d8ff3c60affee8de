import type { FpmPool } from '../../discovery/host-picture.ts';
import type { Finding } from '../../finding.ts';
import {
  clean,
  commands,
  endpointsOf,
  historyFinding,
  isConnectFailure,
  listOf,
  passLines,
  plural,
  poolLines,
  splitByTime,
} from '../advice.ts';
import type { ClassifierContext } from '../context.ts';
import { buildEvidence, located } from '../evidence.ts';
import { isFastcgi } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';
import { formatEndpoint, isLocalEndpoint, parseNginxTarget, sameEndpoint, type Endpoint } from '../upstream-address.ts';

/** A local endpoint that no pool listens on, while a php-fpm master runs. */
function mismatched(ctx: ClassifierContext, endpoint: Endpoint | undefined): boolean {
  if (ctx.fpmState !== 'running' || !ctx.poolsKnown || endpoint === undefined || endpoint.kind === 'name') return false;
  const listens = ctx.poolListens.map((p) => p.endpoint);
  return isLocalEndpoint(endpoint, listens) && !listens.some((l) => sameEndpoint(endpoint, l));
}

/** What to write after `fastcgi_pass` to reach a pool. */
function passTarget(e: Endpoint): string {
  if (e.kind === 'unix') return `unix:${e.path}`;
  if (e.kind === 'tcp') return `${e.host === undefined ? '127.0.0.1' : e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
  return e.name;
}

function listenLines(ctx: ClassifierContext): string[] {
  return ctx.poolListens.flatMap(({ pool }) =>
    poolLines(pool, ['listen']).concat(pool.lines.listen === undefined ? [located(`listen = ${pool.listen ?? ''}`, pool.file)] : []),
  );
}

function advice(ctx: ClassifierContext, targets: readonly string[]): { steps: string[]; listens: string } {
  const pools = ctx.poolListens;
  const listens = listOf(
    pools.map((p) => clean(p.pool.listen ?? '', 200)),
    3,
  );
  const first = pools[0] as { pool: FpmPool; endpoint: Endpoint };
  const files = [
    ...new Set(
      ctx.picture.nginx.upstreams
        .filter((u) => u.kind === 'fastcgi' && targets.includes(formatTarget(u.target)))
        .flatMap((u) => (u.file === undefined ? [] : [clean(u.file, 200)])),
    ),
  ];
  const where = files.length > 0 ? ` in ${listOf(files, 3)}` : '';
  const steps = [
    `Make fastcgi_pass${where} match listen = ${clean(first.pool.listen ?? '', 200)} (pool ${clean(first.pool.name, 80)}${first.pool.file === undefined ? '' : ` in ${clean(first.pool.file, 200)}`}): fastcgi_pass ${clean(passTarget(first.endpoint), 200)}; then reload nginx: ${commands.reloadNginx(ctx)}`,
    `Or, if nginx is right, make the pool listen where nginx points and reload php-fpm: ${commands.reloadFpm(ctx)}`,
  ];
  return { steps, listens };
}

const formatTarget = (target: string): string => {
  const e = parseNginxTarget(target);
  return e === undefined ? target : clean(formatEndpoint(e), 200);
};

const EXPLANATION =
  'PHP-FPM is running, but not where nginx sends PHP requests: typically the socket path changed with a PHP upgrade (php7.4-fpm.sock → php8.2-fpm.sock), or one side uses TCP and the other a unix socket. The two must match exactly; nginx is just reporting that nothing answers at the old address.';

/** `socket_mismatch`: a php-fpm master runs, but nginx's fastcgi_pass target is none of its pools' `listen`. */
export const socketMismatch: Rule = {
  cause: 'socket_mismatch',
  claims: (e, ctx) => isFastcgi(e) && isConnectFailure(e) && mismatched(ctx, e.endpoint),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    if (current.length > 0) {
      const targets = endpointsOf(current);
      const { steps, listens } = advice(ctx, targets);
      findings.push({
        cause: 'socket_mismatch',
        severity: 'critical',
        title: `nginx passes PHP to ${listOf(targets)}, but PHP-FPM listens on ${listens} (${plural(current.length, 'failure')} in the last ${span(ctx.windowMs)})`,
        evidence: buildEvidence(current, [...passLines(ctx, 'fastcgi', current[0]?.endpoint), ...listenLines(ctx)]),
        explanation: EXPLANATION,
        nextSteps: steps,
        // Either side can be fixed: nginx's fastcgi_pass, or the pool's listen.
        remediations: ['reload_nginx', 'reload_php_fpm'],
        current: true,
      });
    } else {
      // No failures logged yet (no traffic), but the configuration already disagrees: only when
      // `ss` confirms that nothing listens there (fastcgi_pass may point at fcgiwrap or the like).
      const dead = ctx.picture.nginx.upstreams.filter((u) => {
        if (u.kind !== 'fastcgi' || ctx.sockets === undefined) return false;
        const t = parseNginxTarget(u.target);
        return t !== undefined && mismatched(ctx, t) && !ctx.sockets.some((s) => s.endpoint !== undefined && sameEndpoint(t, s.endpoint));
      });
      if (dead.length > 0) {
        const targets = [...new Set(dead.map((u) => formatTarget(u.target)))];
        const { steps, listens } = advice(ctx, targets);
        findings.push({
          cause: 'socket_mismatch',
          severity: 'warning',
          title: `nginx's fastcgi_pass ${listOf(targets)} matches no PHP-FPM pool (they listen on ${listens}), and nothing listens there`,
          evidence: buildEvidence([], [...dead.map((u) => located(u.line, u.file)), ...listenLines(ctx)]),
          explanation: `${EXPLANATION} No request has failed in the window yet, but every PHP request through this fastcgi_pass will.`,
          nextSteps: steps,
          remediations: ['reload_nginx', 'reload_php_fpm'],
          current: true,
        });
      }
      if (old.length > 0)
        findings.push(
          historyFinding(ctx, 'socket_mismatch', `nginx passed PHP to ${listOf(endpointsOf(old))}, where no PHP-FPM pool listens now`, old),
        );
    }
    return findings;
  },
};
