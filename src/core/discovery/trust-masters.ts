import type { MasterKind, MasterProcess, ProcessRow, UntrustedMaster } from './host-picture.ts';
import { containerEvidence, type MasterPlace, type OwnPlace } from './container-context.ts';

export type { MasterKind, MasterProcess, UntrustedMaster } from './host-picture.ts';

export interface TrustOptions {
  /** Users besides root that the inventory says run these masters (`facts.nginx.user`, `facts.fpm.user`). */
  serviceUsers?: Partial<Record<MasterKind, string>>;
  /** systemd units' MainPID values, when systemd runs. */
  mainPids?: ReadonlySet<number>;
  /** What /proc/<pid>/cgroup and /proc/<pid>/mountinfo said of each master-looking process, by pid. */
  places?: ReadonlyMap<number, MasterPlace>;
  /** The same of our own shell, which the masters' are compared with. */
  own?: OwnPlace;
}

export interface SortedMasters {
  /** In ps order. */
  nginx: MasterProcess[];
  fpm: MasterProcess[];
  untrusted: UntrustedMaster[];
}

const NGINX_TITLE = 'nginx: master process';
const FPM_TITLE = /^php-fpm[0-9.]*: master process/;

/** Parents that start services: init systems and supervisors (their own owner is checked too). */
const SERVICE_MANAGER = /^(?:\/\S*\/)?(?:systemd|init|runsv|s6-supervise|supervisord|openrc-run|start-stop-daemon)(?:\s|$)/;

/** The host's own pid namespace: that of pid 1, else that of the kernel threads (children of pid 2). */
function hostPidNamespace(rows: readonly ProcessRow[]): string | undefined {
  return rows.find((r) => r.pid === 1)?.pidns ?? rows.find((r) => (r.pid === 2 || r.ppid === 2) && r.pidns !== undefined)?.pidns;
}

function parseNginxTitle(row: ProcessRow): MasterProcess {
  const words = row.args.slice(NGINX_TITLE.length).trim().split(/\s+/);
  const m: MasterProcess = { kind: 'nginx', pid: row.pid, user: row.user };
  if (words[0] !== undefined && words[0] !== '') m.claimedBinary = words[0];
  for (let i = 1; i < words.length; i++) {
    const value = words[i + 1];
    if (words[i] === '-c' && value !== undefined) m.conf = value;
    if (words[i] === '-p' && value !== undefined) m.prefix = value;
  }
  return m;
}

function parseFpmTitle(row: ProcessRow): MasterProcess {
  // `[^()]`: with `[^)]`, a title of "(/" again and again is rescanned to its end from every "(".
  const conf = /\((\/[^()]+)\)/.exec(row.args)?.[1];
  const m: MasterProcess = { kind: 'fpm', pid: row.pid, user: row.user };
  if (conf !== undefined) m.conf = conf;
  return m;
}

const isRoot = (r: ProcessRow): boolean => (r.uid !== undefined ? r.uid === 0 : r.user === 'root');

/** Why a master-looking process cannot be trusted, or null when it can. */
function distrust(row: ProcessRow, kind: MasterKind, byPid: ReadonlyMap<number, ProcessRow>, options: TrustOptions): string | null {
  const serviceUser = options.serviceUsers?.[kind];
  if (!isRoot(row) && row.user !== serviceUser) {
    return `owned by ${row.user}${row.uid !== undefined ? ` (uid ${row.uid})` : ''}, not root${serviceUser === undefined ? '' : ` or ${serviceUser}`}`;
  }
  if (options.mainPids?.has(row.pid) === true || row.ppid === 1) return null;
  const parent = byPid.get(row.ppid);
  if (parent !== undefined && isRoot(parent) && SERVICE_MANAGER.test(parent.args)) return null;
  return `its parent (pid ${row.ppid}${parent === undefined ? '' : `, ${parent.args.slice(0, 60)}`}) is neither init nor a service manager, and no systemd unit names it`;
}

/** Sorts every process whose title looks like an nginx or php-fpm master into trusted, suspicious and containers'. */
export function sortMasters(rows: readonly ProcessRow[], options: TrustOptions = {}): SortedMasters {
  const out: SortedMasters = { nginx: [], fpm: [], untrusted: [] };
  const byPid = new Map(rows.map((r) => [r.pid, r]));
  const hostNs = hostPidNamespace(rows);
  for (const row of rows) {
    const kind: MasterKind | undefined = row.args.startsWith(NGINX_TITLE) ? 'nginx' : FPM_TITLE.test(row.args) ? 'fpm' : undefined;
    if (kind === undefined) continue;
    const base = { kind, pid: row.pid, user: row.user, args: row.args };
    const name = kind === 'nginx' ? 'nginx' : 'php-fpm';
    const container =
      hostNs !== undefined && row.pidns !== undefined && row.pidns !== hostNs
        ? `pid namespace ${row.pidns}`
        : containerEvidence(options.places?.get(row.pid), options.own ?? {});
    if (container !== undefined) {
      out.untrusted.push({
        ...base,
        status: 'container',
        why: `${name} in a container: its paths are not this host's, so nothing of it is read (${container})`,
      });
      continue;
    }
    const why = distrust(row, kind, byPid, options);
    if (why !== null) {
      out.untrusted.push({
        ...base,
        status: 'suspicious',
        why: `looks like ${kind === 'nginx' ? 'an nginx' : 'a php-fpm'} master but is ${why}: ignored`,
      });
      continue;
    }
    out[kind].push(kind === 'nginx' ? parseNginxTitle(row) : parseFpmTitle(row));
  }
  return out;
}

/** At most this many masters have their cgroup and mounts read (each is one command). */
export const MAX_PLACE_CHECKS = 32;

/**
 * The processes whose cgroup and mounts are read: those titled like masters that are owned as
 * a trusted master would be. Look-alikes of other users are never used anyway, so they cannot
 * crowd out the real masters from this bounded list.
 */
export function containerCandidates(rows: readonly ProcessRow[], options: Pick<TrustOptions, 'serviceUsers'> = {}): number[] {
  const out: number[] = [];
  for (const row of rows) {
    const kind: MasterKind | undefined = row.args.startsWith(NGINX_TITLE) ? 'nginx' : FPM_TITLE.test(row.args) ? 'fpm' : undefined;
    if (kind !== undefined && (isRoot(row) || row.user === options.serviceUsers?.[kind])) out.push(row.pid);
  }
  return out.slice(0, MAX_PLACE_CHECKS);
}

/**
 * The master of one service among the trusted: with a config pinned by the inventory, only the
 * master started with it (none found means this service is not running); else the first.
 */
export function pickMaster(masters: readonly MasterProcess[], conf: string | undefined, defaultConf?: string): MasterProcess | undefined {
  if (conf === undefined) return masters[0];
  return masters.find((m) => m.conf === conf) ?? (conf === defaultConf ? masters.find((m) => m.conf === undefined) : undefined);
}
