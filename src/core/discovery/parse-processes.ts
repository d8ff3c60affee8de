import type { ProcessRow } from './host-picture.ts';

/** The columns of the playbook's `ps -eo …` before `args`, in the order `ps` prints them. */
const DEFAULT_COLUMNS = ['pid', 'ppid', 'user', 'rss'] as const;

/**
 * The columns a `ps -eo pid=,ppid=,uid=,user:64=,rss=,pidns=,mntns=,args=` command asks for,
 * read from the command line itself so that the parser follows the playbook. `args` must be last.
 */
export function psColumns(command: string): string[] {
  const m = /(?:^|\s)'?-[eA]?o'?\s+'?([a-z0-9:=,]+)'?/.exec(command);
  if (m === null) return [...DEFAULT_COLUMNS];
  const cols = (m[1] as string).split(',').map((c) => c.split(/[:=]/, 1)[0] as string);
  return cols.at(-1) === 'args' ? cols.slice(0, -1) : [...DEFAULT_COLUMNS];
}

/**
 * Parses `ps -eo <columns>,args=` output. Every column but `args` is one word (`-` where ps
 * may not read it, e.g. another user's namespaces); malformed lines are skipped.
 */
export function parseProcesses(text: string, columns: readonly string[] = DEFAULT_COLUMNS): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const line of text.split('\n')) {
    const words: string[] = [];
    let rest = line.trimStart();
    for (let i = 0; i < columns.length; i++) {
      const sp = rest.search(/\s/);
      if (sp <= 0) break;
      words.push(rest.slice(0, sp));
      rest = rest.slice(sp).trimStart();
    }
    if (words.length !== columns.length) continue;
    const col = (name: string): string | undefined => words[columns.indexOf(name)];
    const num = (name: string): number | undefined => {
      const v = col(name);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    const pid = num('pid');
    const ppid = num('ppid');
    const user = col('user') ?? (num('uid') === undefined ? undefined : String(num('uid')));
    if (pid === undefined || ppid === undefined || user === undefined) continue;
    const row: ProcessRow = { pid, ppid, user, rssKb: num('rss') ?? 0, args: rest.trimEnd() };
    const uid = num('uid');
    if (uid !== undefined) row.uid = uid;
    const pidns = num('pidns');
    if (pidns !== undefined) row.pidns = String(pidns);
    const mntns = num('mntns');
    if (mntns !== undefined) row.mntns = String(mntns);
    rows.push(row);
  }
  return rows;
}

export function findFpmWorkers(rows: readonly ProcessRow[], masterPid?: number): ProcessRow[] {
  return rows.filter((r) => /^php-fpm[0-9.]*: pool /.test(r.args) && (masterPid === undefined || r.ppid === masterPid));
}
