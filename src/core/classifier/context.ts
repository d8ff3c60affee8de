import type { CheckResult } from '../check-result.ts';
import type { HostPicture } from '../discovery/host-picture.ts';
import type { Dated } from './evidence.ts';
import { readable } from './gaps.ts';
import { parseFpmLog, type FpmLogEntry } from './parse/fpm-log.ts';
import { parseFpmService, type FpmService } from './parse/fpm-service.ts';
import { parseFpmSlowlog, type SlowlogEntry } from './parse/fpm-slowlog.ts';
import { parseFpmStatus, type FpmStatus } from './parse/fpm-status.ts';
import { parseHttpProbe, type HttpProbe } from './parse/http-probe.ts';
import { parseKernelLog, type KernelEntry } from './parse/kernel-log.ts';
import { outputLines } from './parse/lines.ts';
import { parseMeminfo, type MemInfo } from './parse/meminfo.ts';
import { GATEWAY_ERRORS, parseNginxAccessLog, type AccessEntry } from './parse/nginx-access-log.ts';
import { parseNginxErrorLog, type NginxErrorEntry } from './parse/nginx-error-log.ts';
import { parseSocketFile, type SocketFile } from './parse/socket-file.ts';
import { parseBackendLog, type BackendLogEntry } from './parse/backend-log.ts';
import { parseBackendUnits } from './parse/backend-units.ts';
import { parseLimits, type LimitLine } from './parse/limits.ts';
import { parseSecurityPolicy, type SecurityPolicy } from './parse/security-policy.ts';
import { parseSockets, type ListeningSocket } from './parse/sockets.ts';
import { parseFpmListen, type Endpoint } from './upstream-address.ts';
import { attribute, hasSeveralVhosts, serverOfErrorLine, soleWriter } from './vhosts.ts';

/** Whether a php-fpm master runs; `unknown` when the process list could not be read. */
export type FpmState = 'running' | 'down' | 'unknown';

/** Everything the rules read: the host picture plus every check's output, parsed once. */
export interface ClassifierContext {
  picture: HostPicture;
  now: number;
  windowMs: number;
  /** Lines at or after this instant are the current incident; older ones are history. */
  cutoff: number;
  errors: NginxErrorEntry[];
  /** The access log's 502 and 504 lines. */
  access: AccessEntry[];
  fpmLog: FpmLogEntry[];
  kernel: KernelEntry[];
  /** Undefined when `ss` did not run: "not listening" cannot be told from "not looked". */
  sockets?: ListeningSocket[];
  socketFiles: SocketFile[];
  fpmStatus: FpmStatus[];
  /** The first probe (the inventory's site URL, else the first virtual host's). */
  probe?: HttpProbe;
  /** Every probe: the site URL's and each virtual host's; `server` says which virtual host. */
  probes: HttpProbe[];
  memory?: MemInfo;
  fpmService?: FpmService;
  fpmState: FpmState;
  /** `grep -H` lines of the php-fpm configs and php.ini, for evidence. */
  configLines: string[];
  /** Where the pools listen, parsed. */
  poolListens: { pool: HostPicture['fpm']['pools'][number]; endpoint: Endpoint }[];
  /** Whether the pools' `listen` lines are known, so that "matches no pool" means something. */
  poolsKnown: boolean;
  /** SELinux mode, booleans and AVC denials (empty where the host has no SELinux tools). */
  security: SecurityPolicy;
  /** nginx's open-files limit and the local port range, for the resource_limits evidence. */
  limits: LimitLine[];
  /** gunicorn / uWSGI lines about lost requests (worker timeouts, oversized requests, a full queue); `unit` when read from that unit's own journal. */
  backendLog: (BackendLogEntry & { unit?: string })[];
  /** The systemd unit of each backend process that listens where nginx passes (`ps -o unit=`), by pid. */
  backendUnits: Map<number, string>;
  /** `systemctl show -p Restart <php-fpm unit>`: whether systemd brings php-fpm back when it dies. */
  fpmRestart?: { value: string; line: string };
  /** php-fpm's slow log: the stacks of requests slower than request_slowlog_timeout. */
  slowlog: SlowlogEntry[];
  /** The public URL that failed, as this host's nginx answered it (probed on the host by its name). */
  origin?: OriginProbe;
}

/** What the origin answered for the public URL. */
export interface OriginProbe extends HttpProbe {
  url: string;
  /** curl's `ssl_verify_result` (0: the certificate verifies against the host's CAs), for https. */
  sslVerify?: number;
}

export interface ContextInput {
  picture: HostPicture;
  results: readonly CheckResult[];
  now: Date;
  utcOffsetMinutes: number;
  windowMs: number;
}

export const isCurrent = (ctx: ClassifierContext, d: Dated): boolean => d.at !== undefined && d.at >= ctx.cutoff;

function fpmStateOf(picture: HostPicture, results: readonly CheckResult[], service: FpmService | undefined): FpmState {
  if (picture.fpm.running) return 'running';
  if (results.some((r) => r.parse === 'processes' && r.status === 'ok' && r.stdout.trim() !== '')) return 'down';
  if (service?.active === 'active') return 'running';
  if (service !== undefined && (service.active === 'inactive' || service.active === 'failed')) return 'down';
  return 'unknown';
}

/**
 * The backends' lines: each unit's own journal (the line tagged with its unit) and the host-wide
 * grep, each line once (both read `journalctl -o short-iso`, so a line both found is the same text).
 */
function backendLines(results: readonly CheckResult[]): ClassifierContext['backendLog'] {
  const out: ClassifierContext['backendLog'] = [];
  const seen = new Map<string, number>();
  // Unit journals first, so that a line both read keeps its unit.
  const ordered = [...results].sort((a, b) => Number(b.subject !== undefined) - Number(a.subject !== undefined));
  for (const r of ordered) {
    for (const entry of parseBackendLog(r.stdout)) {
      if (seen.has(entry.text)) continue;
      seen.set(entry.text, out.length);
      out.push(r.subject === undefined ? entry : { ...entry, unit: r.subject });
    }
  }
  return out;
}

/** Parses every result by its parser kind (never by check id: a playbook may name checks as it likes). */
export function buildContext(input: ContextInput): ClassifierContext {
  const { picture, results, utcOffsetMinutes } = input;
  const now = input.now.getTime();
  const of = (kind: CheckResult['parse']): CheckResult[] => results.filter((r) => r.parse === kind && readable(r));
  const ok = (kind: CheckResult['parse']): CheckResult[] => of(kind).filter((r) => r.status === 'ok');

  const socketResults = ok('sockets');
  const service = of('fpm_service')
    .map((r) => parseFpmService(r.stdout, r.stderr))
    .find((s) => s !== undefined);
  const memory = ok('memory').map((r) => parseMeminfo(r.stdout))[0];
  const show = hasSeveralVhosts(picture);
  const probes = of('http_probe').flatMap((r) => {
    const p = parseHttpProbe(r.stdout, r.stderr);
    if (p === undefined) return [];
    if (r.subject === undefined) return [p];
    const url = picture.nginx.vhostProbes.find((v) => v.server === r.subject)?.url;
    p.server = r.subject;
    p.line = `${show ? `[vhost ${r.subject}] ` : ''}${url ?? ''}${url === undefined ? '' : ' '}${p.line}`;
    return [p];
  });
  const probe = probes[0];

  const poolListens = picture.fpm.pools.flatMap((pool) => {
    const endpoint = pool.listen === undefined ? undefined : parseFpmListen(pool.listen);
    return endpoint === undefined ? [] : [{ pool, endpoint }];
  });

  const ctx: ClassifierContext = {
    picture,
    now,
    windowMs: input.windowMs,
    cutoff: now - input.windowMs,
    errors: of('nginx_error_log').flatMap((r) => {
      // The log's one writer, if it has one: the same for every line of it.
      const writer = soleWriter(picture, r.subject, 'errorLogs');
      return parseNginxErrorLog(r.stdout, utcOffsetMinutes).map((e) => attribute(e, serverOfErrorLine(e.text) ?? writer, show));
    }),
    // The rules read only the gateway errors of the access log (thousands of lines, mostly 200s).
    access: of('nginx_access_log').flatMap((r) => {
      const writer = soleWriter(picture, r.subject, 'accessLogs');
      return parseNginxAccessLog(r.stdout, GATEWAY_ERRORS).map((a) => attribute(a, writer, show));
    }),
    probes,
    fpmLog: of('fpm_log').flatMap((r) => parseFpmLog(r.stdout, utcOffsetMinutes, now)),
    kernel: of('kernel_log').flatMap((r) => parseKernelLog(r.stdout, now, utcOffsetMinutes)),
    socketFiles: of('socket_file').flatMap((r) => parseSocketFile(r.stdout, r.stderr)),
    fpmStatus: of('fpm_status').flatMap((r) => parseFpmStatus(r.stdout) ?? []),
    fpmState: fpmStateOf(picture, results, service),
    configLines: of('fpm_config').flatMap((r) => outputLines(r.stdout)),
    poolListens,
    poolsKnown: poolListens.length > 0,
    backendLog: backendLines(of('backend_log')),
    backendUnits: new Map(of('backend_unit').flatMap((r) => [...parseBackendUnits(r.stdout)])),
    slowlog: of('fpm_slowlog').flatMap((r) => parseFpmSlowlog(r.stdout, utcOffsetMinutes)),
    limits: ok('limits').flatMap((r) => parseLimits(r.stdout)),
    security: of('security_policy').reduce((into, r) => parseSecurityPolicy(`${r.stdout}\n${r.stderr}`, into), {
      booleans: {},
      denials: [],
    } as SecurityPolicy),
  };
  if (socketResults.length > 0) ctx.sockets = socketResults.flatMap((r) => parseSockets(r.stdout));
  if (service !== undefined) ctx.fpmService = service;
  const restart = of('fpm_service')
    .map((r) => /^Restart=([a-z-]{1,20})$/m.exec(r.stdout))
    .find((m) => m !== null);
  if (restart !== undefined && restart !== null) ctx.fpmRestart = { value: restart[1] as string, line: restart[0] };
  if (memory !== undefined) ctx.memory = memory;
  if (probe !== undefined) ctx.probe = probe;
  const origin = of('origin_probe').flatMap((r) => {
    const p = parseHttpProbe(r.stdout, r.stderr);
    if (p === undefined || r.subject === undefined) return [];
    const o: OriginProbe = { ...p, url: r.subject, line: `${r.subject} (on this host) ${p.line}` };
    const verify = /ssl_verify_result=(\d{1,5})/.exec(r.stdout);
    if (verify !== null && r.subject.startsWith('https:')) o.sslVerify = Number(verify[1]);
    return [o];
  })[0];
  if (origin !== undefined) ctx.origin = origin;
  return ctx;
}
