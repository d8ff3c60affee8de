import type { ProcessRow } from './host-picture.ts';

/** Parses `ps -eo pid=,ppid=,user=,rss=,args=` output. Malformed lines are skipped. */
export function parseProcesses(text: string): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    rows.push({ pid: Number(m[1]), ppid: Number(m[2]), user: m[3] as string, rssKb: Number(m[4]), args: (m[5] as string).trimEnd() });
  }
  return rows;
}

export interface NginxMasterInfo {
  pid: number;
  binary?: string;
  conf?: string;
  prefix?: string;
}

/**
 * nginx keeps its command line in its title: `nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf`.
 * A host may run several nginx instances: when the config is known (an inventory fact), only
 * the master started with that config counts, and none found means this nginx is not running.
 */
export function findNginxMaster(rows: readonly ProcessRow[], conf?: string): NginxMasterInfo | undefined {
  const masters = rows.filter((r) => r.args.startsWith('nginx: master process')).map((master) => parseNginxMaster(master));
  if (conf === undefined) return masters[0];
  return masters.find((m) => m.conf === conf) ?? (conf === '/etc/nginx/nginx.conf' ? masters.find((m) => m.conf === undefined) : undefined);
}

function parseNginxMaster(master: ProcessRow): NginxMasterInfo {
  const words = master.args.slice('nginx: master process'.length).trim().split(/\s+/);
  const info: NginxMasterInfo = { pid: master.pid };
  if (words[0]?.startsWith('/')) info.binary = words[0];
  for (let i = 1; i < words.length; i++) {
    if (words[i] === '-c') info.conf = words[i + 1];
    if (words[i] === '-p') info.prefix = words[i + 1];
  }
  return info;
}

export function findNginxWorkers(rows: readonly ProcessRow[]): ProcessRow[] {
  return rows.filter((r) => r.args.startsWith('nginx: worker process'));
}

export interface FpmMasterInfo {
  pid: number;
  user: string;
  conf?: string;
}

/** php-fpm's title: `php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)`. With a known config, only its master counts. */
export function findFpmMaster(rows: readonly ProcessRow[], conf?: string): FpmMasterInfo | undefined {
  const masters = rows
    .filter((r) => /^php-fpm[0-9.]*: master process/.test(r.args))
    .map((r): FpmMasterInfo => {
      const c = /\((\/[^)]+)\)/.exec(r.args)?.[1];
      return c === undefined ? { pid: r.pid, user: r.user } : { pid: r.pid, user: r.user, conf: c };
    });
  return conf === undefined ? masters[0] : masters.find((m) => m.conf === conf);
}

export function findFpmWorkers(rows: readonly ProcessRow[], masterPid?: number): ProcessRow[] {
  return rows.filter((r) => /^php-fpm[0-9.]*: pool /.test(r.args) && (masterPid === undefined || r.ppid === masterPid));
}
