import type { FpmPool } from '../../discovery/host-picture.ts';
import type { Finding } from '../../finding.ts';
import { clean, commands, poolLines } from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import type { Rule } from '../rule.ts';
import { phpOomLines } from './oom-killed.ts';

/**
 * RAM left for PHP = MemAvailable + the RSS of php-fpm's workers now: what PHP could grow into
 * if everything else on the host (database, cache) keeps what it uses. MemTotal would pretend
 * PHP has the host to itself; it is used only when MemAvailable is unknown.
 */

/** PHP's default memory_limit when neither the pool nor php.ini sets one. */
const PHP_DEFAULT_LIMIT = '128M';

/** "256M" → bytes; -1 → Infinity (unlimited); undefined when unreadable. */
export function parseSize(text: string): number | undefined {
  const m = /^(-?\d+)\s*([KMG]?)B?$/i.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  if (n < 0) return Infinity;
  const unit = (m[2] ?? '').toUpperCase();
  return n * (unit === 'G' ? 1024 ** 3 : unit === 'M' ? 1024 ** 2 : unit === 'K' ? 1024 : 1);
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

interface PoolNeed {
  pool: FpmPool;
  limitText: string;
  limit: number;
  maxChildren: number;
  /** The line that sets memory_limit: the pool's, php.ini's, or none (PHP's default). */
  limitLine?: string;
}

function needs(ctx: ClassifierContext): PoolNeed[] {
  const iniLine = ctx.configLines.find((l) => /\.ini:\s*memory_limit\s*=/.test(l));
  return ctx.picture.fpm.pools.flatMap((pool) => {
    if (pool.maxChildren === undefined) return [];
    const limitText = pool.memoryLimit ?? ctx.picture.fpm.iniMemoryLimit ?? PHP_DEFAULT_LIMIT;
    const limit = parseSize(limitText);
    if (limit === undefined) return [];
    const own = poolLines(pool, ['php_admin_value[memory_limit]', 'php_value[memory_limit]']);
    const need: PoolNeed = { pool, limitText, limit, maxChildren: pool.maxChildren };
    const line = pool.memoryLimit !== undefined ? own[0] : ctx.picture.fpm.iniMemoryLimit !== undefined ? iniLine : undefined;
    if (line !== undefined) need.limitLine = line;
    return [need];
  });
}

/** `memory_overcommit`: memory_limit × pm.max_children exceeds the RAM left for PHP. A risk, not an outage, unless the OOM killer already struck. */
export const memoryOvercommit: Rule = {
  cause: 'memory_overcommit',
  evaluate(ctx) {
    const pools = needs(ctx);
    const available = ctx.picture.memAvailableBytes ?? ctx.memory?.availableBytes;
    const total = ctx.picture.memTotalBytes ?? ctx.memory?.totalBytes;
    if (pools.length === 0 || (available === undefined && total === undefined)) return [];
    const workersRss = ctx.picture.fpm.workers.reduce((sum, w) => sum + w.rssKb * 1024, 0);
    const ram = available !== undefined ? available + workersRss : (total as number);
    const need = pools.reduce((sum, p) => sum + p.limit * p.maxChildren, 0);
    if (need <= ram) return [];

    const oomNow = phpOomLines(ctx).some((k) => isCurrent(ctx, k)) || ctx.fpmService?.result === 'oom-kill';
    const ramText = available !== undefined ? 'MemAvailable + the php-fpm workers now' : 'MemTotal';
    const unlimited = pools.filter((p) => !Number.isFinite(p.limit));
    const steps = pools.map((p) => {
      const where = p.pool.file === undefined ? `pool ${clean(p.pool.name, 80)}` : clean(p.pool.file, 200);
      if (!Number.isFinite(p.limit))
        return `Set a memory_limit for pool ${clean(p.pool.name, 80)} (php_admin_value[memory_limit] = 256M in ${where}): -1 lets one request take the whole host`;
      const fit = Math.max(1, Math.floor((p.maxChildren * ram) / need));
      return `Lower pm.max_children in ${where} from ${p.maxChildren} to ${fit} (= ${formatBytes(ram)} × its share / memory_limit ${clean(p.limitText, 20)}), or lower memory_limit; then ${commands.reloadFpm(ctx)}`;
    });
    const title =
      unlimited.length > 0
        ? `memory_limit is unlimited (-1) in PHP-FPM pool ${clean(unlimited.map((p) => p.pool.name).join(', '), 120)}: one request can exhaust the host's ${formatBytes(ram)}`
        : `PHP-FPM may need up to ${formatBytes(need)} (pm.max_children × memory_limit), but only ${formatBytes(ram)} is left for PHP`;
    const finding: Finding = {
      cause: 'memory_overcommit',
      severity: oomNow ? 'critical' : 'warning',
      title,
      evidence: buildEvidence(
        [],
        [
          ...pools.flatMap((p) => [...poolLines(p.pool, ['pm.max_children']), ...(p.limitLine === undefined ? [] : [p.limitLine])]),
          ...['MemTotal', 'MemAvailable'].flatMap((k) => ctx.memory?.lines[k] ?? []),
        ],
      ),
      explanation:
        `Each PHP worker may grow to memory_limit; with every worker busy, PHP-FPM would need ${formatBytes(need)}, more than the ${formatBytes(ram)} left for it (${ramText}). ` +
        (oomNow
          ? 'The OOM killer has already struck: this is why.'
          : 'Under load the OOM killer will kill PHP-FPM and every request will get 502: a risk, not a current outage.') +
        (pools.some((p) => p.limitLine === undefined) ? ` Pools without a memory_limit line use PHP's default ${PHP_DEFAULT_LIMIT}.` : ''),
      nextSteps: steps,
      remediations: ['reload_php_fpm'],
      current: true,
    };
    return [finding];
  },
};
