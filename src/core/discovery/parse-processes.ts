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

/** nginx keeps its command line in its title: `nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf`. */
export function findNginxMaster(rows: readonly ProcessRow[]): NginxMasterInfo | undefined {
  const master = rows.find((r) => r.args.startsWith('nginx: master process'));
  if (master === undefined) return undefined;
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

/** php-fpm's title: `php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)`. */
export function findFpmMaster(rows: readonly ProcessRow[]): FpmMasterInfo | undefined {
  const master = rows.find((r) => /^php-fpm[0-9.]*: master process/.test(r.args));
  if (master === undefined) return undefined;
  const conf = /\((\/[^)]+)\)/.exec(master.args)?.[1];
  return conf === undefined ? { pid: master.pid, user: master.user } : { pid: master.pid, user: master.user, conf };
}

export function findFpmWorkers(rows: readonly ProcessRow[], masterPid?: number): ProcessRow[] {
  return rows.filter((r) => /^php-fpm[0-9.]*: pool /.test(r.args) && (masterPid === undefined || r.ppid === masterPid));
}
