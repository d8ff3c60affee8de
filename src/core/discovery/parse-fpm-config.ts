import type { FpmPool } from './host-picture.ts';

export interface FpmConfigSummary {
  errorLog?: string;
  pidFile?: string;
  /** The `include` globs of the master config. */
  includes: string[];
  pools: FpmPool[];
  /** memory_limit from php.ini, as written. */
  iniMemoryLimit?: string;
  /** `process.max` of the [global] section: all pools' workers together (0 or unset: no limit). */
  processMax?: { value: number; line: string; file: string };
}

const POOL_KEYS: Record<string, keyof FpmPool> = {
  listen: 'listen',
  'listen.owner': 'listenOwner',
  'listen.group': 'listenGroup',
  'listen.mode': 'listenMode',
  user: 'user',
  group: 'group',
  pm: 'pm',
  'pm.status_path': 'statusPath',
  request_slowlog_timeout: 'slowlogTimeout',
  slowlog: 'slowlog',
};

function unquote(v: string): string {
  const t = v.trim();
  return (t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")) ? t.slice(1, -1) : t;
}

/**
 * Parses php-fpm config lines as printed by `grep -H` (`FILE:LINE`), from the master config,
 * the pool files and php.ini together. Sections (`[global]`, `[www]`) carry on within a file.
 * Relative paths in php-fpm's config are relative to its prefix, which Debian and RHEL never
 * use for logs; they are kept as written.
 */
export function parseFpmConfig(grepOutput: string): FpmConfigSummary {
  const summary: FpmConfigSummary = { includes: [], pools: [] };
  const sectionOf = new Map<string, string>();
  const pools = new Map<string, FpmPool>();
  for (const raw of grepOutput.split('\n')) {
    const sep = raw.indexOf(':');
    if (sep <= 0) continue;
    const file = raw.slice(0, sep);
    const line = raw.slice(sep + 1).trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      sectionOf.set(file, header[1] as string);
      continue;
    }
    const kv = /^([A-Za-z0-9_.[\]]+)\s*=(.*)$/.exec(line);
    if (kv === null) continue;
    const key = kv[1] as string;
    const value = unquote((kv[2] as string).trim());
    if (file.endsWith('.ini')) {
      if (key === 'memory_limit') summary.iniMemoryLimit = value;
      continue;
    }
    const section = sectionOf.get(file) ?? 'global';
    if (section === 'global') {
      if (key === 'error_log') summary.errorLog = value;
      else if (key === 'pid') summary.pidFile = value;
      else if (key === 'include') summary.includes.push(value);
      else if (key === 'process.max' && /^\d+$/.test(value)) summary.processMax = { value: Number(value), line, file };
      continue;
    }
    let pool = pools.get(section);
    if (pool === undefined) {
      pool = { name: section, file, lines: {} };
      pools.set(section, pool);
    }
    pool.lines[key] = line;
    const field = POOL_KEYS[key];
    if (field !== undefined) (pool as unknown as Record<string, string>)[field] = value;
    else if (key === 'pm.max_children' && /^\d+$/.test(value)) pool.maxChildren = Number(value);
    else if (key === 'php_admin_value[memory_limit]' || (key === 'php_value[memory_limit]' && pool.memoryLimit === undefined)) {
      pool.memoryLimit = value;
    }
  }
  summary.pools = [...pools.values()];
  return summary;
}
