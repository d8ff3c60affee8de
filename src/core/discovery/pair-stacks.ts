import { formatEndpoint, isLocalEndpoint, parseNginxTarget, sameEndpoint, type Endpoint } from '../classifier/upstream-address.ts';
import type { FpmPool, NginxUpstreamRef } from './host-picture.ts';

/** One nginx master with what its config says it passes requests to. */
export interface NginxSide {
  pid: number;
  conf?: string;
  upstreams: readonly NginxUpstreamRef[];
}

/** One php-fpm master with the pools its config declares. */
export interface FpmSide {
  pid: number;
  conf?: string;
  pools: readonly FpmPool[];
}

/** A socket something listens on, from `ss -l -p`: where, and (with `-p`) which process holds it. */
export interface Listener {
  endpoint: Endpoint;
  process?: { name: string; pid: number };
}

/** A `proxy_pass`/`uwsgi_pass`/`grpc_pass` target (or a `fastcgi_pass` no php-fpm pool serves), and what listens there. */
export interface Backend {
  kind: NginxUpstreamRef['kind'];
  /** As nginx's config writes it. */
  target: string;
  /** `127.0.0.1:3000`, `unix:/run/app.sock`; absent for a name nginx resolves (an `upstream` of other hosts, a variable). */
  address?: string;
  /** The process listening there, when `ss -p` named it. */
  process?: { name: string; pid: number };
  /** true: something on this host listens there; false: nothing does (down); undefined: cannot tell (another host, a name). */
  listening?: boolean;
}

/** An nginx and the php-fpm pools and backends it passes requests to. */
export interface Stack {
  /**
   * Names the stack across reloads and restarts of its services: its nginx's config (else
   * `pid N`). A remediation request names the stack it is for by this key.
   */
  key: string;
  nginxPid: number;
  nginxConf?: string;
  /** Every php-fpm master with a pool where this nginx's `fastcgi_pass` points. */
  fpmPids: number[];
  /** The stack's php-fpm when exactly one such master runs; null when none does, or several do (see fpmPids). */
  fpmPid: number | null;
  fpmConf?: string;
  backends: Backend[];
  /** For people: "nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf + node at 127.0.0.1:3000". */
  label: string;
  /** Why no request can name this stack alone, when that is so: two nginx masters run with one config. */
  ambiguous?: string;
}

const ANY_HOST = new Set(['', '*', '0.0.0.0', '[::]', '127.0.0.1', 'localhost', '[::1]']);

/** `unix:/run/x.sock` → the path; `127.0.0.1:9000` or `9000` → host and port. */
function endpoint(text: string): { path: string } | { host: string; port: string } | undefined {
  const t = text.trim().replace(/^fastcgi:\/\//, '');
  if (t.startsWith('unix:')) return { path: t.slice('unix:'.length).replace(/:$/, '') };
  if (t.startsWith('/')) return { path: t };
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(t);
  return m === null ? undefined : { host: m[1] ?? '', port: m[2] as string };
}

/** Does a pool's `listen` accept what a `fastcgi_pass` target connects to? */
export function listensAt(listen: string, target: string): boolean {
  const a = endpoint(listen);
  const b = endpoint(target);
  if (a === undefined || b === undefined) return false;
  if ('path' in a || 'path' in b) return 'path' in a && 'path' in b && a.path === b.path;
  // A pool on 0.0.0.0 or 127.0.0.1 serves a loopback fastcgi_pass: both are this host.
  return a.port === b.port && (a.host === b.host || (ANY_HOST.has(a.host) && ANY_HOST.has(b.host)));
}

const name = (side: { pid: number; conf?: string }): string => side.conf ?? `pid ${side.pid}`;

/** The backends one nginx reaches besides php-fpm pools, each with what listens there (one entry per address). */
function backendsOf(
  upstreams: readonly NginxUpstreamRef[],
  servedByFpm: (target: string) => boolean,
  listeners: readonly Listener[],
): Backend[] {
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const u of upstreams) {
    if (u.kind === 'fastcgi' && servedByFpm(u.target)) continue;
    const e = parseNginxTarget(u.target);
    const address = e === undefined || e.kind === 'name' ? undefined : formatEndpoint(e);
    const id = address ?? u.target;
    if (seen.has(id)) continue;
    seen.add(id);
    const b: Backend = { kind: u.kind, target: u.target };
    if (address !== undefined) b.address = address;
    // Only an address on this host can be matched with this host's sockets: 10.0.0.5:3000 is
    // another machine's, even when a local process happens to listen on *:3000.
    if (e !== undefined && e.kind !== 'name' && isLocalEndpoint(e, [])) {
      const l = listeners.find((x) => sameEndpoint(e, x.endpoint));
      b.listening = l !== undefined;
      if (l?.process !== undefined) b.process = l.process;
    }
    out.push(b);
  }
  return out;
}

/** How many backends a label names before "+ N more". */
const LABEL_BACKENDS = 3;

function labelOf(n: NginxSide, fpm: readonly FpmSide[], backends: readonly Backend[]): string {
  const parts = [`nginx ${name(n)}`, ...fpm.map((f) => `php-fpm ${name(f)}`)];
  const up = backends.filter((b) => b.listening === true && b.address !== undefined);
  for (const b of up.slice(0, LABEL_BACKENDS)) parts.push(`${b.process?.name ?? 'backend'} at ${b.address as string}`);
  if (up.length > LABEL_BACKENDS) parts.push(`${up.length - LABEL_BACKENDS} more backends`);
  return parts.join(' + ');
}

/**
 * Pairs every nginx with the php-fpm masters whose pools listen where its `fastcgi_pass`
 * points, and with the processes listening where its `proxy_pass`, `uwsgi_pass` and
 * `grpc_pass` point (from `ss -p`). Never by position: the first php-fpm in `ps` may belong to
 * another site, a canary or an old PHP. An nginx no running php-fpm listens for gets none,
 * rather than somebody else's; a php-fpm no nginx points at belongs to no stack.
 */
export function pairStacks(nginx: readonly NginxSide[], fpm: readonly FpmSide[], listeners: readonly Listener[] = []): Stack[] {
  const keyOf = (n: NginxSide): string => n.conf ?? `pid ${n.pid}`;
  const keyCount = new Map<string, number>();
  for (const n of nginx) keyCount.set(keyOf(n), (keyCount.get(keyOf(n)) ?? 0) + 1);
  return nginx.map((n) => {
    const targets = n.upstreams.filter((u) => u.kind === 'fastcgi').map((u) => u.target);
    const reaches = (f: FpmSide): boolean =>
      f.pools.some((p) => p.listen !== undefined && targets.some((t) => listensAt(p.listen as string, t)));
    const matched = fpm.filter(reaches);
    const servedByFpm = (target: string): boolean =>
      matched.some((f) => f.pools.some((p) => p.listen !== undefined && listensAt(p.listen, target)));
    const backends = backendsOf(n.upstreams, servedByFpm, listeners);
    const only = matched.length === 1 ? (matched[0] as FpmSide) : undefined;
    const stack: Stack = {
      key: keyOf(n),
      nginxPid: n.pid,
      fpmPids: matched.map((f) => f.pid),
      fpmPid: only?.pid ?? null,
      backends,
      label: labelOf(n, matched, backends),
    };
    if (n.conf !== undefined) stack.nginxConf = n.conf;
    if (only?.conf !== undefined) stack.fpmConf = only.conf;
    if ((keyCount.get(stack.key) ?? 0) > 1)
      stack.ambiguous = `${keyCount.get(stack.key)} nginx masters run with ${stack.key}, so a request cannot name one of them`;
    return stack;
  });
}
