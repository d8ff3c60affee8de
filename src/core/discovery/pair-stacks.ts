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

/** An nginx and the php-fpm that listens where it passes requests, if any does. */
export interface Stack {
  nginxPid: number;
  /** null: no running php-fpm listens where this nginx points (down, or never there). */
  fpmPid: number | null;
  /** For people: "nginx /etc/nginx/nginx.conf + php-fpm /etc/php/8.2/fpm/php-fpm.conf". */
  label: string;
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

/**
 * Pairs every nginx with the php-fpm whose pool listens at one of its `fastcgi_pass` targets.
 * Never by position: the first php-fpm in `ps` may belong to another site, a canary or an old
 * PHP. An nginx no running php-fpm listens for gets none, rather than somebody else's.
 */
export function pairStacks(nginx: readonly NginxSide[], fpm: readonly FpmSide[]): Stack[] {
  return nginx.map((n) => {
    const targets = n.upstreams.filter((u) => u.kind === 'fastcgi').map((u) => u.target);
    const match = fpm.find((f) => f.pools.some((p) => p.listen !== undefined && targets.some((t) => listensAt(p.listen as string, t))));
    const label = `nginx ${n.conf ?? `pid ${n.pid}`}${match === undefined ? '' : ` + php-fpm ${match.conf ?? `pid ${match.pid}`}`}`;
    return { nginxPid: n.pid, fpmPid: match?.pid ?? null, label };
  });
}
