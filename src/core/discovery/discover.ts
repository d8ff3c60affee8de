import type { CheckResult, ParserKind } from '../check-result.ts';
import { isSafePath, mergeFacts, type Facts } from '../facts.ts';
import { SYSTEM_PROGRAM_DIRS } from '../playbook/allowlist.ts';
import { emptyPicture, isFpmUnitName, type HostPicture } from './host-picture.ts';
import { parseFpmConfig } from './parse-fpm-config.ts';
import { emptyEachItems, type EachItems } from '../playbook/each-lists.ts';
import { DEFAULT_NGINX_PREFIX, parseNginxDump, summarizeNginxConfig } from './parse-nginx-config.ts';
import { findFpmWorkers, parseProcesses, psColumns } from './parse-processes.ts';
import { containerCandidates, pickMaster, sortMasters } from './trust-masters.ts';
import { parseCgroup, parseMountinfo, type MasterPlace, type OwnPlace } from './container-context.ts';
import { planVhostProbes } from './vhost-probes.ts';
import { backendListeners, backendUnits } from './backend-listeners.ts';
import { parsePublicUrl, showRefusedUrl } from '../public-url.ts';
import { fpmStatusUrl } from './fpm-status-url.ts';
import type { NginxStatement } from './nginx-statement.ts';

export interface Discovery {
  picture: HostPicture;
  /** Discovered facts with the inventory's facts laid over them. */
  facts: Facts;
  /** The lists checks with `each` run over: every nginx log file, every virtual host to probe. */
  items: EachItems;
  /** The host's clock and UTC offset, when the host_time check ran. */
  hostNow?: Date;
  utcOffsetMinutes?: number;
}

/**
 * `parse(result)` once per result: discover runs after every round over all results so far, and
 * the process list and nginx's dump are the largest of them. Keyed by the result object, which
 * later rounds pass again unchanged; callers treat what the parsers return as read-only.
 */
function memoByResult<T>(parse: (r: CheckResult) => T): (r: CheckResult) => T {
  const seen = new WeakMap<CheckResult, { stdout: string; command: string; value: T }>();
  return (r) => {
    const hit = seen.get(r);
    if (hit !== undefined && hit.stdout === r.stdout && hit.command === r.command) return hit.value;
    const value = parse(r);
    seen.set(r, { stdout: r.stdout, command: r.command, value });
    return value;
  };
}
const processesOf = memoByResult((r) => parseProcesses(r.stdout, psColumns(r.command)));
const nginxStatementsOf = memoByResult((r) => parseNginxDump(r.stdout));
const mountsOf = memoByResult((r) => parseMountinfo(r.stdout));
const cgroupOf = memoByResult((r) => parseCgroup(r.stdout));

/**
 * The only results discovery reads: what runs where (the process list, systemd, sockets, each
 * master's cgroup and mounts), how nginx and php-fpm are configured, the host's clock and memory.
 * Logs, probes, limits and the rest are the classifier's alone: discover() drops them before it
 * looks, so a check of another kind can never change which checks run next or with what, and
 * the next round need not wait for it (see runRounds).
 */
export const DISCOVERY_INPUTS: ReadonlySet<ParserKind> = new Set<ParserKind>([
  'processes',
  'systemd_probe',
  'units',
  'unit_pids',
  'cgroup',
  'mountinfo',
  'sockets',
  'backend_unit',
  'nginx_config',
  'fpm_config',
  'php_info',
  'host_time',
  'memory',
]);

const usable = (r: CheckResult): boolean => r.status === 'ok' || (r.status === 'failed' && r.stdout.length > 0);

/** Parses `date +%Y-%m-%dT%H:%M:%S%z` output. */
export function parseHostTime(text: string): { now: Date; utcOffsetMinutes: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2})(\d{2})$/.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, sign, oh, om] = m as unknown as string[];
  const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const utcMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offset * 60_000;
  return { now: new Date(utcMs), utcOffsetMinutes: offset };
}

/** Parses /proc/meminfo into bytes. */
export function parseMeminfo(text: string): { totalBytes?: number; availableBytes?: number } {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? undefined : Number(m[1]) * 1024;
  };
  const out: { totalBytes?: number; availableBytes?: number } = {};
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  if (total !== undefined) out.totalBytes = total;
  if (available !== undefined) out.availableBytes = available;
  return out;
}

/** `systemctl list-units --plain --no-legend` → unit → active state. */
export function parseUnits(text: string): Record<string, string> {
  const units: Record<string, string> = {};
  for (const line of text.split('\n')) {
    // systemd's status dot ● (\u25cf), escaped: the command line's bundle stays ASCII.
    const m = /^\s*(?:[\u25cf*]\s*)?(\S+\.service)\s+\S+\s+(\S+)\s+(\S+)/.exec(line);
    if (m !== null) units[m[1] as string] = m[2] as string;
  }
  return units;
}

const safePath = (p: string | undefined): string | undefined => (isSafePath(p) ? p : undefined);

/** `systemctl show -p Id,MainPID …` → main pid → unit (0, a unit not running, is left out). */
export function parseUnitPids(text: string): Map<number, string> {
  const pids = new Map<number, string>();
  for (const block of text.split(/\n\s*\n/)) {
    const pid = Number(/^MainPID=(\d{1,7})$/m.exec(block)?.[1] ?? 0);
    const id = /^Id=(\S+)$/m.exec(block)?.[1];
    if (pid > 1 && id !== undefined) pids.set(pid, id);
  }
  return pids;
}

/**
 * The program to run as nginx: the title's claim only when it names the one in a system folder,
 * which the allowlist would take anyway; otherwise the distribution's. A title is never a program.
 */
function nginxProgram(claimed: string | undefined): string {
  return claimed !== undefined && SYSTEM_PROGRAM_DIRS.some((d) => claimed === `${d}/nginx`) ? claimed : '/usr/sbin/nginx';
}

/** php-fpm's program from its config's place: Debian's /etc/php/8.2/fpm/php-fpm.conf is /usr/sbin/php-fpm8.2, RHEL's /etc/php-fpm.conf is /usr/sbin/php-fpm. */
function fpmProgram(conf: string | undefined): string | undefined {
  const debian = conf === undefined ? null : /^\/etc\/php\/(\d+\.\d+)\/fpm\/php-fpm\.conf$/.exec(conf);
  if (debian !== null) return `/usr/sbin/php-fpm${debian[1]}`;
  return conf === '/etc/php-fpm.conf' ? '/usr/sbin/php-fpm' : undefined;
}

/**
 * Where php.ini of the FPM SAPI lives, by the layout of the distribution that the config's place
 * or the binary's name gives away: Debian (/etc/php/8.2/fpm/, php-fpm8.2), RHEL (/etc/php-fpm.conf),
 * Alpine (/etc/php82/, php-fpm82). Nothing when the layout is none of those: another
 * distribution's guess would read the wrong file and report its memory_limit as this one's.
 */
export function phpIniFor(conf: string | undefined, binary: string | undefined): string | undefined {
  const debian = conf === undefined ? null : /^(\/etc\/php\/\d+\.\d+\/fpm)\/php-fpm\.conf$/.exec(conf);
  if (debian !== null) return `${debian[1]}/php.ini`;
  const alpine = conf === undefined ? null : /^\/etc\/php(\d+)\/php-fpm\.conf$/.exec(conf);
  if (alpine !== null) return `/etc/php${alpine[1]}/php.ini`;
  if (conf === '/etc/php-fpm.conf') return '/etc/php.ini';
  const name = binary?.slice(binary.lastIndexOf('/') + 1);
  const debianBinary = name === undefined ? null : /^php-fpm(\d+\.\d+)$/.exec(name);
  if (debianBinary !== null) return `/etc/php/${debianBinary[1]}/fpm/php.ini`;
  const alpineBinary = name === undefined ? null : /^php-fpm(\d{2,3})$/.exec(name);
  if (alpineBinary !== null) return `/etc/php${alpineBinary[1]}/php.ini`;
  return undefined;
}

/** `php-fpm -i`: the php.ini it loads ("(none)" when none) and the effective memory_limit. */
export function parsePhpInfo(text: string): { loadedIni?: string; memoryLimit?: string } {
  const out: { loadedIni?: string; memoryLimit?: string } = {};
  const ini = /^Loaded Configuration File => (\S+)\s*$/m.exec(text)?.[1];
  if (ini !== undefined && ini !== '(none)') out.loadedIni = ini;
  const limit = /^memory_limit => (\S+) => \S+\s*$/m.exec(text)?.[1];
  if (limit !== undefined) out.memoryLimit = limit;
  return out;
}

/** At most this many error logs (and as many access logs) are read, each with its own output cap. */
export const MAX_LOG_FILES = 16;

function logItems(paths: readonly (string | undefined)[], kind: string, notChecked: string[]): EachItems['nginx.errorLogs'] {
  const unique = [...new Set(paths.map(safePath).filter((p): p is string => p !== undefined))];
  for (const p of unique.slice(MAX_LOG_FILES)) notChecked.push(`${p}: more than ${MAX_LOG_FILES} ${kind} logs, not read`);
  return unique.slice(0, MAX_LOG_FILES).map((p) => ({ subject: p, values: { item: p } }));
}

/**
 * What /proc/<pid>/cgroup and /proc/<pid>/mountinfo said of each master (checks run per master,
 * the pid their subject) and of our own shell (the checks without a subject).
 */
function masterPlaces(results: readonly CheckResult[]): { places: Map<number, MasterPlace>; own: OwnPlace } {
  const places = new Map<number, MasterPlace>();
  const own: OwnPlace = {};
  for (const r of results.filter((x) => (x.parse === 'cgroup' || x.parse === 'mountinfo') && usable(x))) {
    const place: MasterPlace = r.subject === undefined ? own : (places.get(Number(r.subject)) ?? {});
    if (r.parse === 'cgroup') place.cgroup = cgroupOf(r);
    else place.mounts = mountsOf(r);
    if (r.subject !== undefined && /^\d{1,7}$/.test(r.subject)) places.set(Number(r.subject), place);
  }
  return { places, own };
}

/**
 * Turns the check results gathered so far into facts and a picture of the host. Pure; called
 * after every round of checks, so that later checks can use what earlier ones discovered.
 * Only values that pass the fact types survive: a hostile path in a config is dropped here,
 * and refused again when a command is rendered.
 */
/** Which masters one stack's diagnosis uses, when a host runs several (see pairStacks). */
export interface StackSelection {
  /** null: read no nginx (while scouting php-fpm masters). */
  nginxPid: number | null;
  /** null: no php-fpm of this stack runs; never borrow another stack's. */
  fpmPid: number | null;
}

/** `request_slowlog_timeout` is on: a positive duration (`5s`, `1`, `500ms`, `1m`); `0` is off. */
export function slowlogOn(value: string | undefined): boolean {
  const m = value === undefined ? null : /^(\d{1,6})(ms|s|m|h)?$/.exec(value.trim());
  return m !== null && Number(m[1]) > 0;
}

/** The public URL asked about, as the one item of `site.origin`; a URL that is not a safe shape gives none. */
function originItems(facts: Facts, notChecked: string[]): EachItems['site.origin'] {
  const url = facts.site?.publicUrl;
  if (url === undefined) return [];
  const parsed = parsePublicUrl(url);
  if (!parsed.ok) {
    notChecked.push(`the public URL ${showRefusedUrl(url)}: ${parsed.reason}`);
    return [];
  }
  return [{ subject: parsed.value.url, values: { 'item.url': parsed.value.url, 'item.resolve': parsed.value.resolve } }];
}

export function discover(all: readonly CheckResult[], overrides: Facts, selection?: StackSelection): Discovery {
  const results = all.filter((r) => DISCOVERY_INPUTS.has(r.parse));
  const picture = emptyPicture();
  const found: Facts = { nginx: {}, fpm: {}, site: {}, kernel: {} };
  const nginxFacts = found.nginx as NonNullable<Facts['nginx']>;
  const fpmFacts = found.fpm as NonNullable<Facts['fpm']>;
  const byKind = (kind: CheckResult['parse']): CheckResult[] => results.filter((r) => r.parse === kind && usable(r));
  const out: Discovery = { picture, facts: {}, items: emptyEachItems() };

  for (const r of byKind('processes')) picture.processes = processesOf(r);
  const unitPids = new Map(byKind('unit_pids').flatMap((r) => [...parseUnitPids(r.stdout)]));
  const mainPids = new Set(unitPids.keys());
  const serviceUsers = {
    ...(overrides.nginx?.masterUser === undefined ? {} : { nginx: overrides.nginx.masterUser }),
    ...(overrides.fpm?.masterUser === undefined ? {} : { fpm: overrides.fpm.masterUser }),
  };
  const { places, own } = masterPlaces(results);
  const masters = sortMasters(picture.processes, { serviceUsers, mainPids, places, own });
  out.items.masters = containerCandidates(picture.processes, { serviceUsers }).map((pid) => ({
    subject: String(pid),
    values: { 'item.pid': String(pid) },
  }));
  picture.untrustedMasters = masters.untrusted;
  picture.trustedMasters = { nginx: masters.nginx, fpm: masters.fpm };
  const nginxMaster =
    selection === undefined
      ? pickMaster(masters.nginx, overrides.nginx?.conf, '/etc/nginx/nginx.conf')
      : masters.nginx.find((m) => m.pid === selection.nginxPid && selection.nginxPid !== null);
  if (nginxMaster !== undefined) {
    picture.nginx.running = true;
    picture.nginx.masterPid = nginxMaster.pid;
    nginxFacts.pid = nginxMaster.pid;
    nginxFacts.binary = nginxProgram(nginxMaster.claimedBinary);
    nginxFacts.conf = safePath(nginxMaster.conf) ?? '/etc/nginx/nginx.conf';
    const prefix = safePath(nginxMaster.prefix);
    if (prefix !== undefined) nginxFacts.prefix = prefix;
  }
  const fpmMaster =
    selection === undefined
      ? pickMaster(masters.fpm, overrides.fpm?.conf)
      : selection.fpmPid === null
        ? undefined
        : masters.fpm.find((m) => m.pid === selection.fpmPid);
  if (fpmMaster !== undefined) {
    picture.fpm.running = true;
    picture.fpm.masterPid = fpmMaster.pid;
    picture.fpm.masterUser = fpmMaster.user;
    fpmFacts.pid = fpmMaster.pid;
    const conf = safePath(fpmMaster.conf);
    if (conf !== undefined) fpmFacts.conf = conf;
    const program = fpmProgram(conf);
    if (program !== undefined) fpmFacts.binary = program;
  }
  picture.fpm.workers = findFpmWorkers(picture.processes, fpmMaster?.pid);

  for (const r of results.filter((x) => x.parse === 'systemd_probe' && x.status !== 'skipped')) {
    if (r.status === 'ok') found.systemd = true;
    else if (r.status === 'failed') found.systemd = false;
  }
  for (const r of byKind('units')) picture.units = { ...picture.units, ...parseUnits(r.stdout) };
  const unitNames = Object.keys(picture.units);
  // With several stacks, a unit is this stack's only when systemd names its master as the unit's MainPID.
  const unitOf = (pid: number | undefined): string | undefined => (pid === undefined ? undefined : unitPids.get(pid));
  const fpmUnit = selection === undefined ? unitNames.find(isFpmUnitName) : unitOf(fpmMaster?.pid);
  const nginxUnit = selection === undefined ? unitNames.find((u) => /^nginx/.test(u)) : unitOf(nginxMaster?.pid);
  if (fpmUnit !== undefined) fpmFacts.unit = fpmUnit;
  if (nginxUnit !== undefined) nginxFacts.unit = nginxUnit;

  for (const r of byKind('host_time')) {
    const t = parseHostTime(r.stdout);
    if (t !== undefined) {
      out.hostNow = t.now;
      out.utcOffsetMinutes = t.utcOffsetMinutes;
      picture.hostTime = r.stdout.trim();
    }
  }
  for (const r of byKind('memory')) {
    const m = parseMeminfo(r.stdout);
    if (m.totalBytes !== undefined) picture.memTotalBytes = m.totalBytes;
    if (m.availableBytes !== undefined) picture.memAvailableBytes = m.availableBytes;
  }

  // nginx -T: logs, listens, upstreams, timeouts, buffers.
  const nginxDump = byKind('nginx_config')[0];
  let nginxStatements: NginxStatement[] = [];
  if (nginxDump !== undefined) {
    const prefix = overrides.nginx?.prefix ?? nginxFacts.prefix ?? DEFAULT_NGINX_PREFIX;
    nginxStatements = nginxStatementsOf(nginxDump);
    const summary = summarizeNginxConfig(nginxStatements, prefix);
    Object.assign(picture.nginx, {
      configRead: true,
      errorLogs: summary.errorLogs,
      accessLogs: summary.accessLogs,
      listenPorts: summary.listenPorts,
      servers: summary.servers,
      upstreams: summary.upstreams,
      directives: summary.directives,
    });
    if (summary.workerUser !== undefined) picture.nginx.workerUser = summary.workerUser;
    const errorLog = safePath(summary.errorLogs[0]);
    const accessLog = safePath(summary.accessLogs[0]);
    if (errorLog !== undefined) nginxFacts.errorLog = errorLog;
    if (accessLog !== undefined) nginxFacts.accessLog = accessLog;
    const pidFile = safePath(summary.pidFile);
    if (pidFile !== undefined) nginxFacts.pidFile = pidFile;
    const unixPass = summary.upstreams.find((u) => u.kind === 'fastcgi' && u.target.startsWith('unix:'));
    const upstreamSocket = safePath(unixPass?.target.slice('unix:'.length));
    if (upstreamSocket !== undefined) nginxFacts.upstreamSocket = upstreamSocket;
    // Each virtual host is probed by its own name and scheme (a probe of the first port without
    // a Host header reached the wrong server, or a TLS port in plain HTTP).
    const plan = planVhostProbes(summary.servers);
    out.items['site.vhosts'] = plan.probes.map((p) => ({ subject: p.server, values: { 'item.url': p.url, 'item.resolve': p.resolve } }));
    picture.nginx.vhostProbes = plan.probes.map((p) => ({ server: p.server, url: p.url }));
    picture.nginx.notChecked.push(...plan.skipped.map((k) => `${k.server}: ${k.reason}`));
  }

  // php-fpm: master config, pools, php.ini.
  const fpmText = byKind('fpm_config')
    .map((r) => r.stdout)
    .join('\n');
  if (fpmText.trim() !== '') {
    const summary = parseFpmConfig(fpmText);
    picture.fpm.configRead = summary.pools.length > 0 || summary.includes.length > 0 || summary.errorLog !== undefined;
    picture.fpm.pools = summary.pools;
    if (summary.errorLog !== undefined) picture.fpm.errorLog = summary.errorLog;
    if (summary.pidFile !== undefined) picture.fpm.pidFile = summary.pidFile;
    if (summary.iniMemoryLimit !== undefined) picture.fpm.iniMemoryLimit = summary.iniMemoryLimit;
    if (summary.processMax !== undefined) picture.fpm.processMax = summary.processMax;
    const errorLog = safePath(summary.errorLog);
    if (errorLog !== undefined) fpmFacts.errorLog = errorLog;
    const pidFile = safePath(summary.pidFile);
    if (pidFile !== undefined) fpmFacts.pidFile = pidFile;
    const include = summary.includes[0];
    if (include !== undefined) {
      const dir = safePath(include.slice(0, include.lastIndexOf('/')) || undefined);
      if (dir !== undefined) fpmFacts.poolDir = dir;
    }
    // The pool nginx talks to, else the first one with a unix socket.
    const wanted = nginxFacts.upstreamSocket;
    const unixPools = summary.pools.filter((p) => p.listen?.startsWith('/'));
    const pool = unixPools.find((p) => p.listen === wanted) ?? unixPools[0];
    const socket = safePath(pool?.listen);
    if (socket !== undefined) fpmFacts.socket = socket;
    // The slow log of the pool nginx uses (else the first pool that keeps one), when it is on.
    const slow = [pool, ...summary.pools].find((p) => p !== undefined && slowlogOn(p.slowlogTimeout) && p.slowlog !== undefined);
    const slowlog = safePath(slow?.slowlog?.replaceAll('$pool', slow.name));
    if (slowlog !== undefined) fpmFacts.slowlog = slowlog;
    const statusUrl = fpmStatusUrl(nginxStatements, summary.pools);
    if (statusUrl !== undefined) {
      fpmFacts.statusUrl = statusUrl;
      picture.fpm.statusUrl = statusUrl;
    }
  }

  out.facts = mergeFacts(found, overrides);
  out.items['site.origin'] = originItems(out.facts, picture.nginx.notChecked);
  // Every log file any server or location writes to, the inventory's first.
  out.items['nginx.errorLogs'] = logItems([out.facts.nginx?.errorLog, ...picture.nginx.errorLogs], 'error', picture.nginx.notChecked);
  out.items['nginx.accessLogs'] = logItems([out.facts.nginx?.accessLog, ...picture.nginx.accessLogs], 'access', picture.nginx.notChecked);
  const fpm = out.facts.fpm ?? {};
  if (fpm.conf !== undefined) picture.fpm.conf = fpm.conf;
  // php.ini: what php-fpm itself reports it loads, else the layout of its distribution, unless
  // the inventory says. While `php-fpm -i` can still run, wait for it rather than guess.
  const info = results.find((r) => r.parse === 'php_info');
  const reported = info !== undefined && usable(info) ? parsePhpInfo(info.stdout) : {};
  if (reported.memoryLimit !== undefined && picture.fpm.iniMemoryLimit === undefined) picture.fpm.iniMemoryLimit = reported.memoryLimit;
  const waitForInfo = info === undefined && fpm.binary !== undefined && picture.fpm.running;
  const ini = fpm.phpIni === undefined && !waitForInfo ? safePath(reported.loadedIni ?? phpIniFor(fpm.conf, fpm.binary)) : undefined;
  if (ini !== undefined) out.facts.fpm = { ...fpm, phpIni: ini };
  if (out.facts.systemd !== undefined) picture.systemd = out.facts.systemd;
  // The application servers behind the passes, then their units: whose journal tells their side.
  out.items['backend.listeners'] = backendListeners(picture.nginx.upstreams, results);
  out.items['backend.units'] = backendUnits(out.items['backend.listeners'], results);
  return out;
}
