import type { FpmPool } from '../../discovery/host-picture.ts';
import type { Finding } from '../../finding.ts';
import { clean, commands, plural, poolLines, poolName } from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import type { FpmStatus } from '../parse/fpm-status.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';
import { sameEndpoint } from '../upstream-address.ts';

/** The seed's early warning: active workers at 80 % of pm.max_children or more. */
export const BUSY_RATIO = 0.8;

/** php-fpm's own default, "a placeholder, not a production configuration". */
export const DEFAULT_MAX_CHILDREN = 5;

const STATUS_FIELDS = ['active processes', 'total processes', 'max active processes', 'listen queue', 'max children reached'];

/**
 * How many of the pool's workers are busy now, against pm.max_children (else the total the page
 * shows). The status page is served by a worker of the pool, which counts itself as active: it
 * is not counted.
 */
function load(pool: FpmPool, status: FpmStatus | undefined): { busy: number; of: number; ratio: number; basis: string } | undefined {
  const active = status?.activeProcesses;
  const of = pool.maxChildren ?? status?.totalProcesses;
  if (active === undefined || of === undefined || of <= 0) return undefined;
  const busy = Math.max(0, active - 1);
  return { busy, of, ratio: busy / of, basis: pool.maxChildren === undefined ? 'total processes' : 'pm.max_children' };
}

/** The status page's signs of bursts: requests queued, or every worker taken, since the pool started. */
function statusBursts(status: FpmStatus | undefined): string[] {
  const lines: string[] = [];
  if (status !== undefined) {
    if ((status.maxListenQueue ?? 0) > 0) lines.push(status.lines['max listen queue'] as string);
    if ((status.maxChildrenReached ?? 0) > 0) lines.push(status.lines['max children reached'] as string);
  }
  return lines;
}

/** Signs of bursts: the status page's, php-fpm's "reached pm.max_children", refusals and timeouts on the pool's socket. */
function burstLines(ctx: ClassifierContext, pool: FpmPool, status: FpmStatus | undefined): string[] {
  const lines = statusBursts(status);
  lines.push(
    ...ctx.fpmLog.filter((l) => isCurrent(ctx, l) && l.event.kind === 'max_children' && l.event.pool === pool.name).map((l) => l.text),
  );
  const endpoint = ctx.poolListens.find((p) => p.pool === pool)?.endpoint;
  if (endpoint !== undefined) {
    // Refused (backlog full) or timed out on this pool's socket in the window.
    const failed = ctx.errors.filter(
      (e) =>
        isCurrent(ctx, e) &&
        e.endpoint !== undefined &&
        sameEndpoint(e.endpoint, endpoint) &&
        (e.errno === 11 || /upstream timed out/.test(e.message)),
    );
    lines.push(...failed.slice(0, 3).map((e) => e.text));
  }
  return lines;
}

/** How to turn on php-fpm's status page, from the seed's playbook. */
export function statusPageSteps(ctx: ClassifierContext): string[] {
  const pools = ctx.picture.fpm.pools;
  if (pools.length === 0) return [];
  const withPath = pools.find((p) => p.statusPath !== undefined);
  const socket = ctx.picture.nginx.upstreams.find((u) => u.kind === 'fastcgi')?.target ?? 'unix:/run/php/php8.2-fpm.sock';
  const location = `location = /fpm-status { allow 127.0.0.1; deny all; include fastcgi_params; fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name; fastcgi_pass ${clean(socket, 200)}; }`;
  if (withPath === undefined) {
    const file = pools[0]?.file;
    return [
      `Turn on PHP-FPM's status page to see busy workers, the listen queue and "max children reached": pm.status_path = /fpm-status in ${file === undefined ? 'the pool' : clean(file, 200)}, then in nginx ${location}; ${commands.reloadFpm(ctx)} and ${commands.reloadNginx(ctx)}; read it with curl http://127.0.0.1/fpm-status?full`,
    ];
  }
  // The pool serves a status page but no nginx location passes that path to it (discovery found none).
  if (ctx.fpmStatus.length === 0 && ctx.picture.nginx.configRead && ctx.picture.fpm.statusUrl === undefined) {
    return [
      `pm.status_path = ${clean(withPath.statusPath as string, 100)} is set but no nginx location serves it: add ${location.replace('/fpm-status', clean(withPath.statusPath as string, 100))}, then ${commands.reloadNginx(ctx)}`,
    ];
  }
  return [];
}

/**
 * `pool_tuning`: a pool set up so that it will run out of workers: 80 % or more of
 * pm.max_children busy right now (the warning before exhaustion), `pm = ondemand` under bursts
 * (every burst waits for workers to spawn), pm.max_children left at the default 5 while the
 * pool is under load. A warning: nothing is refused yet, or another finding says so.
 */
export const poolTuning: Rule = {
  cause: 'pool_tuning',
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const pool of ctx.picture.fpm.pools) {
      const status = ctx.fpmStatus.find((s) => s.pool === pool.name);
      const now = load(pool, status);
      const busy = now !== undefined && now.ratio >= BUSY_RATIO;
      const bursts = burstLines(ctx, pool, status);
      const ondemand = pool.pm === 'ondemand' && bursts.length > 0;
      // The default 5 on its own, with php-fpm's log saying it was reached, is max_children_exhausted's
      // to tell; it is flagged here with the status page's view of the pool (busy now, or bursts).
      const placeholder = pool.maxChildren === DEFAULT_MAX_CHILDREN && (busy || ondemand || statusBursts(status).length > 0);
      if (!busy && !ondemand && !placeholder) continue;
      const name = `PHP-FPM pool ${clean(pool.name, 80)}`;
      const problems = [
        busy && now !== undefined ? `${now.busy} of ${now.of} workers busy (${Math.round(now.ratio * 100)} % of ${now.basis})` : '',
        ondemand ? 'pm = ondemand under bursts' : '',
        placeholder ? `pm.max_children is the default ${DEFAULT_MAX_CHILDREN}` : '',
      ].filter((p) => p !== '');
      const why = [
        busy
          ? `At ${Math.round(BUSY_RATIO * 100)} % of pm.max_children the pool has almost no headroom: the next peak or a few slow requests take the last workers, requests queue in the listen backlog, and nginx answers 502/504 (max_children_exhausted).`
          : '',
        ondemand
          ? `pm = ondemand keeps no idle workers: each burst waits while workers are spawned (and ${pool.lines['pm.process_idle_timeout'] === undefined ? 'they are killed again after pm.process_idle_timeout, 10s by default' : 'they are killed again after pm.process_idle_timeout'}), which cascades into 502s under load. It suits quiet sites, not production traffic: use pm = dynamic (or static) with spare servers for the bursts.`
          : '',
        placeholder
          ? `pm.max_children = ${DEFAULT_MAX_CHILDREN} is php-fpm's placeholder, not a production value: five workers serve five requests at once, the sixth waits.`
          : '',
      ].filter((w) => w !== '');
      const steps = [
        `Size pm.max_children to the RAM in ${poolName(pool)}: (RAM left for PHP) / (average worker RSS under load, ps --no-headers -o rss -C php-fpm), with 10-15 % headroom; then ${commands.reloadFpm(ctx)}`,
        ...(ondemand
          ? [
              `Switch ${poolName(pool)} to pm = dynamic with pm.start_servers, pm.min_spare_servers and pm.max_spare_servers sized for the bursts (or pm = static)`,
            ]
          : []),
        ...(ctx.picture.fpm.pools.some((p) => p.slowlogTimeout !== undefined && p.slowlogTimeout.trim() !== '0')
          ? []
          : [
              "Find what keeps workers busy: request_slowlog_timeout = 5s and slowlog = /var/log/php-fpm-slow.log in the pool show the slow scripts' stacks",
            ]),
        'Alert before it happens: active processes > 80 % of pm.max_children, listen queue > 0 for 30 s, max children reached increasing',
        ...statusPageSteps(ctx),
      ];
      const supporting = [
        ...STATUS_FIELDS.flatMap((f) => (status?.lines[f] === undefined ? [] : [status.lines[f]])),
        ...poolLines(pool, ['pm', 'pm.max_children', 'pm.process_idle_timeout']),
      ];
      findings.push({
        cause: 'pool_tuning',
        severity: 'warning',
        title: `${name}: ${problems.join('; ')}${bursts.length > 0 && !busy ? ` (${plural(bursts.length, 'sign')} of bursts in the last ${span(ctx.windowMs)} or since the pool started)` : ''}`,
        // The status page and the pool's settings in full (a fixed, short list), after the signs of bursts.
        evidence: [
          ...buildEvidence(bursts.map((text) => ({ text }))),
          ...(status === undefined ? [] : [`fpm-status pool ${clean(status.pool, 80)}:`]),
          ...supporting.map((l) => clean(l)),
          ...(now !== undefined && busy
            ? [`(the status page's own request is one of the active processes: ${now.busy} others are busy)`]
            : []),
        ],
        explanation: why.join(' '),
        nextSteps: steps,
        remediations: [],
        current: true,
      });
    }
    return findings;
  },
};
