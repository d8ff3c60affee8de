import type { FpmPool } from '../../discovery/host-picture.ts';
import type { Finding } from '../../finding.ts';
import { clean, commands, historyFinding, plural, poolLines, splitByTime } from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence, located } from '../evidence.ts';
import type { ListeningSocket } from '../parse/sockets.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';
import { sameEndpoint, type Endpoint } from '../upstream-address.ts';

const MB = 1024 * 1024;

/** php-fpm's [global] cap on the workers of all pools together. */
const PROCESS_MAX = 'process.max';

/** A pm.max_children the host's memory can carry: (MemAvailable + the workers' RSS now) × 0.9 / average worker RSS. */
function suggestion(ctx: ClassifierContext): string | undefined {
  const workers = ctx.picture.fpm.workers.filter((w) => w.rssKb > 0);
  const available = ctx.picture.memAvailableBytes ?? ctx.memory?.availableBytes;
  if (workers.length === 0 || available === undefined) return undefined;
  const rss = workers.reduce((sum, w) => sum + w.rssKb * 1024, 0);
  const average = rss / workers.length;
  const n = Math.floor(((available + rss) * 0.9) / average);
  return `about ${n} = (MemAvailable + the workers' RSS now) × 0.9 / ${Math.round(average / MB)} MB per worker`;
}

/** `max_children_exhausted`: every worker busy; requests queue in the listen backlog, or are refused when it overflows. */
export const maxChildrenExhausted: Rule = {
  cause: 'max_children_exhausted',
  // EAGAIN on a unix socket: the pool's listen backlog is full because no worker is free to accept.
  claims: (e) => e.errno === 11 && /^connect\(\)/.test(e.message),
  evaluate(ctx, claimed) {
    const { current: eagain, old: oldEagain } = splitByTime(ctx, claimed);
    const reached = ctx.fpmLog.filter((l) => l.event.kind === 'max_children');
    const { current: logNow, old: logOld } = splitByTime(ctx, reached);
    // php-fpm's [global] process.max caps all pools' workers together, below what each pool allows.
    const { current: capNow, old: capOld } = splitByTime(
      ctx,
      ctx.fpmLog.filter((l) => l.event.kind === 'process_max'),
    );
    const cap = ctx.picture.fpm.processMax;
    const capped = capNow.length > 0;
    // The global cap alone: no pool logged reaching its own pm.max_children in the window.
    const capOnly = capped && logNow.length === 0;
    const queued = ctx.fpmStatus.filter((s) => (s.listenQueue ?? 0) > 0);
    const counted = ctx.fpmStatus.filter((s) => (s.maxChildrenReached ?? 0) > 0);
    const poolsAt = (s: ListeningSocket): string[] => {
      const e = s.endpoint;
      return e === undefined ? [] : ctx.poolListens.filter((p) => sameEndpoint(e, p.endpoint)).map((p) => p.pool.name);
    };
    // For a listening socket, ss's Recv-Q is the number of connections waiting to be accepted now.
    const backlog = (ctx.sockets ?? []).filter((s) => s.recvQ > 0 && poolsAt(s).length > 0);

    const poolNames = [
      ...logNow.flatMap((l) => (l.event.kind === 'max_children' ? [l.event.pool] : [])),
      ...queued.map((s) => s.pool),
      ...backlog.flatMap(poolsAt),
      ...counted.map((s) => s.pool),
    ];
    const pools: FpmPool[] = [...new Set(poolNames)].flatMap((n) => ctx.picture.fpm.pools.filter((p) => p.name === n));
    const maxOf = (name: string): number | undefined =>
      ctx.picture.fpm.pools.find((p) => p.name === name)?.maxChildren ??
      logNow.concat(logOld).flatMap((l) => (l.event.kind === 'max_children' && l.event.pool === name ? [l.event.maxChildren] : []))[0];
    const first = poolNames[0];
    const limit = first === undefined ? undefined : maxOf(first);
    const poolText = first === undefined ? 'PHP-FPM' : `PHP-FPM pool ${clean(first, 80)}`;
    const supporting = [
      ...queued.flatMap((s) => [s.lines['pool'], s.lines['listen queue'], s.lines['max children reached']]),
      ...counted
        .filter((s) => !queued.includes(s))
        .flatMap((s) => [s.lines['pool'], s.lines['max children reached'], s.lines['start since']]),
      ...backlog.map((s) => s.line),
      ...pools.flatMap((p) => poolLines(p, ['pm', 'pm.max_children'])),
      ...(capped && cap !== undefined ? [located(cap.line, cap.file)] : []),
    ].filter((l): l is string => l !== undefined);
    const hint = suggestion(ctx);
    const steps = [
      ...(capped
        ? [
            `Raise ${PROCESS_MAX} in the [global] section of ${clean(cap?.file ?? ctx.picture.fpm.conf ?? 'php-fpm.conf', 200)} (it caps the workers of all pools together; 0 is no cap), or lower the pools' pm.max_children to fit under it, then ${commands.reloadFpm(ctx)}`,
          ]
        : []),
      `Raise pm.max_children${pools[0]?.file === undefined ? '' : ` in ${clean(pools[0].file, 200)}`}${hint === undefined ? ' as far as RAM allows (RAM left for PHP / average worker RSS)' : ` to ${hint}`}, then ${commands.reloadFpm(ctx)}`,
      'Find what keeps workers busy: request_slowlog_timeout = 5s and slowlog in the pool show the slow scripts',
    ];
    const findings: Finding[] = [];
    // Timeouts on a saturated pool's socket: the requests waited for a worker, not for slow code.
    const saturated = ctx.poolListens.filter((p) => poolNames.includes(p.pool.name)).map((p) => p.endpoint);
    const starved = ctx.errors.filter(
      (e) =>
        isCurrent(ctx, e) &&
        /upstream timed out/.test(e.message) &&
        e.endpoint !== undefined &&
        saturated.some((l) => sameEndpoint(e.endpoint as Endpoint, l)),
    );
    const window = span(ctx.windowMs);
    const explanation =
      'Every worker of the pool is busy, so new requests wait in the listen queue; when it overflows nginx gets refused (502) or gives up waiting (504). ' +
      'PHP-FPM is running, which makes this the "silent 502". The default pm.max_children = 5 is a placeholder, not a production value; slow requests make it worse.';
    const base = {
      cause: 'max_children_exhausted' as const,
      explanation,
      nextSteps: steps,
      remediations: ['reload_php_fpm' as const],
      current: true,
    };
    const capText = `its global ${PROCESS_MAX}${cap === undefined ? '' : ` (${cap.value})`}`;
    const name = capOnly
      ? `PHP-FPM is at ${capText}`
      : `${poolText} ${limit === undefined ? 'is at pm.max_children' : `is at pm.max_children (${limit})`}`;

    if (eagain.length > 0 || queued.length > 0 || backlog.length > 0 || starved.length > 0) {
      const effects = [
        eagain.length > 0 ? `${plural(eagain.length, 'connection')} refused (backlog full)` : '',
        starved.length > 0 ? `${plural(starved.length, 'request')} timed out waiting` : '',
      ].filter((t) => t !== '');
      findings.push({
        ...base,
        severity: 'critical',
        title: `${name}: requests queue${effects.length > 0 ? `; ${effects.join(', ')} in the last ${window}` : ' right now'}`,
        evidence: buildEvidence([...logNow, ...capNow, ...eagain, ...starved], supporting),
      });
    } else if (capOnly) {
      findings.push({
        ...base,
        severity: 'warning',
        title: `PHP-FPM reached ${capText} in the last ${window}: no pool could start another worker, and requests had to wait`,
        evidence: buildEvidence(capNow, supporting),
        explanation:
          "php-fpm's [global] process.max caps the workers of all pools together: once reached, the master starts no more workers, even where a pool's pm.max_children would allow more. New requests wait in the listen queue; when it overflows nginx gets refused (502) or gives up waiting (504). " +
          "With pm = static and process.max equal to the pools' total, php-fpm also writes this line each time it replaces a worker.",
      });
    } else if (logNow.length > 0) {
      // Requests queued but were served: slow, not failing (yet).
      findings.push({
        ...base,
        severity: 'warning',
        title: `${poolText} reached pm.max_children${limit === undefined ? '' : ` (${limit})`} in the last ${window}: requests had to queue`,
        evidence: buildEvidence([...logNow, ...capNow], supporting),
      });
    } else if (counted.length > 0) {
      const s = counted[0] as (typeof counted)[number];
      findings.push({
        ...base,
        severity: 'warning',
        title: `${poolText} has reached pm.max_children ${plural(s.maxChildrenReached ?? 0, 'time')} since it started (nothing queued right now)`,
        evidence: buildEvidence([], supporting),
        explanation: `The status page counts the times every worker was busy since the pool started. Nothing waits now, but under the next peak requests will queue and then fail. ${explanation}`,
      });
    } else if (logOld.length > 0 || oldEagain.length > 0 || capOld.length > 0) {
      const what =
        logOld.length > 0 || oldEagain.length > 0 ? `${poolText} reached pm.max_children` : 'PHP-FPM reached its global process.max';
      findings.push(historyFinding(ctx, 'max_children_exhausted', what, [...logOld, ...oldEagain, ...capOld]));
    }
    return findings;
  },
};
