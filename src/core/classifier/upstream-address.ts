/**
 * Where nginx connects and where php-fpm listens, in one comparable form. The seed's socket
 * mismatch is exactly "these two differ": an old unix socket path after a PHP upgrade, or TCP on
 * one side and a unix socket on the other.
 */
export type Endpoint =
  | { kind: 'unix'; path: string }
  /** `host` undefined: every address of the host (php-fpm's `listen = 9000`, `0.0.0.0:9000`, `[::]:9000`). */
  | { kind: 'tcp'; host?: string; port: number }
  /** An `upstream` block name or a variable: nothing to compare. */
  | { kind: 'name'; name: string };

const ANY = new Set(['0.0.0.0', '::', '*']);
const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|localhost)$/i;

/** `unix:///var/run/php-fpm.sock` and `/var/run//php-fpm.sock` name the socket `/var/run/php-fpm.sock`: the kernel collapses repeated slashes. */
export const normalPath = (path: string): string => path.replace(/\/{2,}/g, '/');

function hostPort(text: string): Endpoint | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m !== null) {
    const host = (m[1] ?? m[2] ?? '').toLowerCase();
    return { kind: 'tcp', ...(ANY.has(host) ? {} : { host }), port: Number(m[3]) };
  }
  if (/^\d{1,5}$/.test(text)) return { kind: 'tcp', port: Number(text) };
  return undefined;
}

/**
 * An nginx target: `unix:/run/php/php8.2-fpm.sock` (the error log adds a trailing `:`),
 * `127.0.0.1:9000`, `http://127.0.0.1:3000/path`, `fastcgi://unix:/x.sock:`, or a name.
 */
export function parseNginxTarget(target: string): Endpoint | undefined {
  let t = target.trim().replace(/^[a-z][a-z0-9+.-]*:\/\/(?!\/)/i, '');
  if (t.startsWith('unix:')) {
    t = t.slice('unix:'.length);
    // The error log writes `unix:/path:` and proxy targets may be `unix:/path:/uri`.
    const cut = t.indexOf(':');
    return { kind: 'unix', path: normalPath(cut === -1 ? t : t.slice(0, cut)) };
  }
  if (t.includes('/')) t = t.slice(0, t.indexOf('/'));
  if (t === '') return undefined;
  if (t.includes('$')) return { kind: 'name', name: t };
  return hostPort(t) ?? (/^[A-Za-z0-9_.-]+$/.test(t) ? { kind: 'name', name: t } : undefined);
}

/** A php-fpm `listen` value: `/run/php/php8.2-fpm.sock`, `127.0.0.1:9000`, `9000`, `[::]:9000`. */
export function parseFpmListen(listen: string): Endpoint | undefined {
  const t = listen.trim().replace(/^["']|["']$/g, '');
  if (t.startsWith('/')) return { kind: 'unix', path: normalPath(t) };
  return hostPort(t);
}

function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  return (a === 'localhost' && LOOPBACK.test(b)) || (b === 'localhost' && LOOPBACK.test(a));
}

/** Does nginx's target reach what php-fpm listens on? Unix paths compare exactly. */
export function sameEndpoint(nginx: Endpoint, fpm: Endpoint): boolean {
  if (nginx.kind === 'unix' && fpm.kind === 'unix') return nginx.path === fpm.path;
  if (nginx.kind === 'tcp' && fpm.kind === 'tcp') {
    if (nginx.port !== fpm.port) return false;
    if (fpm.host === undefined || nginx.host === undefined) return true;
    return sameHost(nginx.host, fpm.host);
  }
  return false;
}

/**
 * True when the endpoint is on this host for sure: a unix socket, a loopback address, or an
 * address some local pool listens on. A private address such as 10.0.0.5 may well be another
 * machine's php-fpm, which this host's pools cannot be compared with.
 */
export function isLocalEndpoint(e: Endpoint, localListens: readonly Endpoint[]): boolean {
  if (e.kind === 'unix') return true;
  if (e.kind !== 'tcp') return false;
  if (e.host === undefined || LOOPBACK.test(e.host)) return true;
  return localListens.some((l) => l.kind === 'tcp' && l.host !== undefined && sameHost(l.host, e.host as string));
}

export function formatEndpoint(e: Endpoint): string {
  if (e.kind === 'unix') return `unix:${e.path}`;
  if (e.kind === 'name') return e.name;
  const host = e.host === undefined ? '*' : e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${host}:${e.port}`;
}
