import type { CauseId } from '../causes.ts';
import { isFpmUnitName, type FpmPool } from '../discovery/host-picture.ts';
import type { Finding } from '../finding.ts';
import { isCurrent, type ClassifierContext } from './context.ts';
import { buildEvidence, located, newest, type Dated } from './evidence.ts';
import type { NginxErrorEntry } from './parse/nginx-error-log.ts';
import type { ListeningSocket } from './parse/sockets.ts';
import { ago } from './time.ts';
import { clean } from './wording.ts';

export { clean, listOf, plural } from './wording.ts';
import { formatEndpoint, isLocalEndpoint, parseNginxTarget, sameEndpoint, type Endpoint } from './upstream-address.ts';

/** Shared pieces of the rules: splitting old from current, config lines for evidence, the commands people run. */

export function splitByTime<T extends Dated>(ctx: ClassifierContext, items: readonly T[]): { current: T[]; old: T[] } {
  const current: T[] = [];
  const old: T[] = [];
  for (const i of items) (isCurrent(ctx, i) ? current : old).push(i);
  return { current, old };
}

/** Errnos of a failed connect(): no such socket file, refused, no route, network unreachable. */
const CONNECT_ERRNOS = new Set([2, 101, 111, 113]);

/** nginx could not connect at all (not a timeout, not a permission problem, not a full backlog). */
export const isConnectFailure = (e: NginxErrorEntry): boolean =>
  (/^connect\(\)/.test(e.message) && e.errno !== undefined && CONNECT_ERRNOS.has(e.errno)) || /^no live upstreams/.test(e.message);

/** Per diagnosis: each upstream nginx could not connect to in the window, and when it last could not. */
const refusedUpstreams = new WeakMap<ClassifierContext, Map<string, { endpoint: Endpoint; latest: number }>>();

function lastRefusals(ctx: ClassifierContext): Map<string, { endpoint: Endpoint; latest: number }> {
  let byEndpoint = refusedUpstreams.get(ctx);
  if (byEndpoint !== undefined) return byEndpoint;
  byEndpoint = new Map();
  for (const r of ctx.errors) {
    if (r.endpoint === undefined || !isConnectFailure(r) || !isCurrent(ctx, r)) continue;
    const key = formatEndpoint(r.endpoint);
    const known = byEndpoint.get(key);
    if (known === undefined) byEndpoint.set(key, { endpoint: r.endpoint, latest: r.at ?? 0 });
    else known.latest = Math.max(known.latest, r.at ?? 0);
  }
  refusedUpstreams.set(ctx, byEndpoint);
  return byEndpoint;
}

/**
 * A request cut off mid-request by a backend on this host that refused connections from then on
 * and listens nowhere now: the backend went down with that request in flight (a stop or a crash
 * resets what it had accepted), and down is what to fix. A backend that listens again now is
 * not this: resets between refusals there are a crash loop, upstream_reset's story. The rules
 * ask this of every reset in the log, so the refusals are gathered once per diagnosis.
 */
export function wentDownAfter(ctx: ClassifierContext, e: NginxErrorEntry): boolean {
  const at = e.endpoint;
  if (at === undefined || at.kind === 'name' || ctx.sockets === undefined || !isLocalEndpoint(at, [])) return false;
  if (listenerAt(ctx, at) !== undefined) return false;
  const since = e.at ?? Number.POSITIVE_INFINITY;
  for (const r of lastRefusals(ctx).values()) if (r.latest >= since && sameEndpoint(r.endpoint, at)) return true;
  return false;
}

/** The distinct upstreams of some entries, most recent first: `unix:/run/php/php8.2-fpm.sock`, `127.0.0.1:3000`. */
export function endpointsOf(entries: readonly NginxErrorEntry[]): string[] {
  const sorted = [...entries].sort((a, b) => (b.at ?? 0) - (a.at ?? 0));
  const out: string[] = [];
  for (const e of sorted) {
    const name = e.endpoint === undefined ? e.upstream : formatEndpoint(e.endpoint);
    if (name !== undefined && !out.includes(name)) out.push(name);
  }
  return out.map((n) => clean(n, 200));
}

/** nginx directive lines (from nginx -T) with the names given, as `file: line`. */
export function directiveLines(ctx: ClassifierContext, names: readonly string[]): string[] {
  return ctx.picture.nginx.directives.filter((d) => names.includes(d.name)).map((d) => located(d.line, d.file));
}

/** The `fastcgi_pass` / `proxy_pass` lines whose target is `endpoint` (all of that kind when none matches). */
export function passLines(ctx: ClassifierContext, kind: 'fastcgi' | 'proxy', endpoint?: Endpoint): string[] {
  const refs = ctx.picture.nginx.upstreams.filter((u) => (kind === 'fastcgi' ? u.kind === 'fastcgi' : u.kind !== 'fastcgi'));
  const same =
    endpoint === undefined
      ? []
      : refs.filter((u) => {
          const t = parseNginxTarget(u.target);
          return t !== undefined && sameEndpoint(t, endpoint);
        });
  return (same.length > 0 ? same : refs).map((u) => located(u.line, u.file));
}

/** The pool listening where nginx connects. */
export function poolFor(ctx: ClassifierContext, endpoint: Endpoint | undefined): FpmPool | undefined {
  if (endpoint === undefined) return undefined;
  return ctx.poolListens.find((p) => sameEndpoint(endpoint, p.endpoint))?.pool;
}

/** Pool directive lines as written (`listen.mode = 0600`), located in the pool's file. */
export function poolLines(pool: FpmPool, keys: readonly string[]): string[] {
  return keys.flatMap((k) => {
    const line = pool.lines[k];
    return line === undefined ? [] : [located(line, pool.file)];
  });
}

export const poolName = (pool: FpmPool): string =>
  `pool ${clean(pool.name, 80)}${pool.file === undefined ? '' : ` in ${clean(pool.file, 200)}`}`;

/** What listens at an endpoint now (from `ss`), when `ss` ran and something does. */
export function listenerAt(ctx: ClassifierContext, endpoint: Endpoint | undefined): ListeningSocket | undefined {
  if (endpoint === undefined || endpoint.kind === 'name') return undefined;
  return ctx.sockets?.find((s) => s.endpoint !== undefined && sameEndpoint(endpoint, s.endpoint));
}

/** The systemd unit of what listens at the endpoint, when `ps -o unit=` found one. */
export function listenerUnit(ctx: ClassifierContext, endpoint: Endpoint | undefined): string | undefined {
  const p = listenerAt(ctx, endpoint)?.process;
  return p === undefined ? undefined : ctx.backendUnits.get(p.pid);
}

/** "gunicorn (myapp.service, pid 812)" for what listens at the endpoint, when `ss -p` named it (and `ps -o unit=` its unit). */
export function listenerName(ctx: ClassifierContext, endpoint: Endpoint | undefined): string | undefined {
  const p = listenerAt(ctx, endpoint)?.process;
  if (p === undefined) return undefined;
  const unit = ctx.backendUnits.get(p.pid);
  return `${clean(p.name, 64)} (${unit === undefined ? '' : `${clean(unit, 120)}, `}pid ${p.pid})`;
}

/** The command that shows what listens at an endpoint: unix sockets are `ss -x`, TCP ports `ss -t` (`-t` never lists unix sockets). */
export function listenCheck(endpoint: Endpoint | undefined, fallback: string): string {
  if (endpoint?.kind === 'unix') return `sudo ss -lxp | grep -F '${clean(endpoint.path, 200)}'`;
  if (endpoint?.kind === 'tcp') return `sudo ss -ltnp | grep ':${endpoint.port} '`;
  return `sudo ss -ltnxp | grep -F '${clean(fallback, 200)}'`;
}

/** The php-fpm systemd unit, when known. */
export function fpmUnit(ctx: ClassifierContext): string | undefined {
  return ctx.fpmService?.unit ?? Object.keys(ctx.picture.units).find(isFpmUnitName);
}

const usesSystemd = (ctx: ClassifierContext): boolean => ctx.picture.systemd === true || fpmUnit(ctx) !== undefined;

export const commands = {
  startFpm(ctx: ClassifierContext): string {
    const unit = fpmUnit(ctx);
    if (usesSystemd(ctx)) return `sudo systemctl start ${clean(unit ?? 'php8.2-fpm', 120)}`;
    const conf = ctx.picture.fpm.conf;
    return `Start php-fpm with its usual command${conf === undefined ? '' : `, e.g. sudo php-fpm --fpm-config ${clean(conf, 200)}`}`;
  },
  reloadFpm(ctx: ClassifierContext): string {
    if (usesSystemd(ctx)) return `sudo systemctl reload ${clean(fpmUnit(ctx) ?? 'php8.2-fpm', 120)}`;
    const pid = ctx.picture.fpm.masterPid;
    return pid === undefined ? 'sudo kill -USR2 <php-fpm master pid>' : `sudo kill -USR2 ${pid}`;
  },
  restartFpm(ctx: ClassifierContext): string {
    if (usesSystemd(ctx)) return `sudo systemctl restart ${clean(fpmUnit(ctx) ?? 'php8.2-fpm', 120)}`;
    const pid = ctx.picture.fpm.masterPid;
    return `sudo kill -TERM ${pid ?? '<php-fpm master pid>'}, then start php-fpm with its usual command`;
  },
  reloadNginx(ctx: ClassifierContext): string {
    return usesSystemd(ctx) ? 'sudo nginx -t && sudo systemctl reload nginx' : 'sudo nginx -t && sudo nginx -s reload';
  },
  fpmLogs(ctx: ClassifierContext): string {
    const unit = fpmUnit(ctx);
    if (unit !== undefined) return `sudo journalctl -u ${clean(unit, 120)} --since "1 hour ago" --no-pager`;
    const log = ctx.picture.fpm.errorLog;
    return `sudo tail -n 100 ${clean(log ?? '/var/log/php-fpm.log', 200)}`;
  },
  oomCheck: "sudo dmesg --time-format iso | grep -i -E 'out of memory|oom-kill|oom_reaper'",
};

/**
 * A cause seen only in lines older than the window: history, never today's verdict.
 * E.g. "Last seen 3 days ago: nginx could not connect to PHP-FPM at unix:/run/php/php8.2-fpm.sock".
 */
export function historyFinding(
  ctx: ClassifierContext,
  cause: CauseId,
  what: string,
  lines: readonly Dated[],
  supporting: readonly string[] = [],
): Finding {
  const last = newest(lines);
  const when = last === undefined ? 'at an unknown time' : ago(ctx.now - last);
  return {
    cause,
    severity: 'info',
    title: `Last seen ${when}: ${what}`,
    evidence: buildEvidence(lines, supporting),
    explanation:
      'These lines are older than the diagnosis window, so they do not explain a 502 happening now; they show what went wrong before.',
    nextSteps: [],
    remediations: [],
    current: false,
  };
}
