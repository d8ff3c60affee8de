import type { NginxListen, NginxServer } from './host-picture.ts';
import type { NginxStatement } from './nginx-statement.ts';

/** Relative paths in nginx's config are relative to its prefix. */
export function absolute(path: string, prefix: string): string {
  return path.startsWith('/') ? path : `${withoutTrailingSlashes(prefix)}/${path}`;
}

/** `/usr/share/nginx///` → `/usr/share/nginx`, by a scan: `/\/+$/` retries at every slash of a long run. */
function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

/** An `error_log` that is a file (not stderr, syslog or the memory buffer), made absolute. */
function errorLogFile(st: NginxStatement, prefix: string): string | undefined {
  const first = st.args[0];
  if (first === undefined || first === 'stderr' || first.startsWith('syslog:') || first.startsWith('memory:')) return undefined;
  return absolute(first, prefix);
}

/** An `access_log` that is a file; `null` for `access_log off`. */
function accessLogFile(st: NginxStatement, prefix: string): string | null | undefined {
  const first = st.args[0];
  if (first === 'off') return null;
  if (first === undefined || first.startsWith('syslog:')) return undefined;
  return absolute(first, prefix);
}

/** `listen` arguments → port, TLS, address; undefined for unix sockets and QUIC (UDP) listens. */
export function parseListen(args: readonly string[], sslOn: boolean): NginxListen | undefined {
  const first = args[0];
  if (first === undefined || first.startsWith('unix:') || args.includes('quic')) return undefined;
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(first);
  let address: string | undefined;
  let port = 80;
  if (m !== null) {
    address = m[1];
    port = Number(m[2]);
  } else if (/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.*-]+)$/.test(first)) {
    address = first;
  } else {
    return undefined;
  }
  if (port < 1 || port > 65535) return undefined;
  const listen: NginxListen = {
    port,
    ssl: sslOn || args.includes('ssl'),
    defaultServer: args.includes('default_server') || args.includes('default'),
  };
  if (address !== undefined) listen.address = address;
  return listen;
}

const unique = (values: readonly string[]): string[] => [...new Set(values)];

/**
 * The `server` blocks of nginx's `http` config (not `stream` or `mail`), each with its names,
 * listens and every log file its requests may be written to. A server without an `error_log`
 * (or `access_log`) of its own writes to the one it inherits from `http` (error_log: else the
 * main level); a location with its own writes there instead for its requests, so a server's
 * logs are its own or inherited ones plus its locations'.
 */
export function nginxServers(statements: readonly NginxStatement[], prefix: string): NginxServer[] {
  const inOther = (st: NginxStatement): boolean => st.context.some((c) => c === 'stream' || c === 'mail');
  const serverIndex = (st: NginxStatement): number => st.context.indexOf('server');
  const mainErrorLogs: string[] = [];
  const httpErrorLogs: string[] = [];
  let httpAccessLogs: string[] = [];
  const blocks = new Map<number, NginxStatement[]>();
  for (const st of statements) {
    if (inOther(st)) continue;
    const k = serverIndex(st);
    if (k === -1) {
      // Outside every server: `http` level (or a file included there but printed on its own), or main.
      const httpLevel = st.context.includes('http') || (st.context.length === 0 && st.name === 'access_log');
      if (st.name === 'error_log' && st.context.every((c) => c === 'http')) {
        const file = errorLogFile(st, prefix);
        if (file !== undefined) (httpLevel ? httpErrorLogs : mainErrorLogs).push(file);
      } else if (st.name === 'access_log' && httpLevel && st.context.every((c) => c === 'http')) {
        const file = accessLogFile(st, prefix);
        if (file === null) httpAccessLogs = [];
        else if (file !== undefined) httpAccessLogs.push(file);
      }
      continue;
    }
    const id = st.blocks[k] as number;
    const list = blocks.get(id) ?? [];
    list.push(st);
    blocks.set(id, list);
  }
  const inheritedError = httpErrorLogs.length > 0 ? httpErrorLogs : mainErrorLogs;
  const servers: NginxServer[] = [];
  for (const list of blocks.values()) {
    const k = serverIndex(list[0] as NginxStatement);
    const own = (st: NginxStatement): boolean => st.context.length === k + 1;
    const sslOn = list.some((st) => own(st) && st.name === 'ssl' && st.args[0] === 'on');
    const server: NginxServer = { names: [], listens: [], errorLogs: [], accessLogs: [] };
    const file = list[0]?.file;
    if (file !== undefined) server.file = file;
    const ownError: string[] = [];
    const innerError: string[] = [];
    let ownAccess: string[] | undefined;
    const innerAccess: string[] = [];
    for (const st of list) {
      if (own(st) && st.name === 'server_name') server.names.push(...st.args);
      else if (own(st) && st.name === 'listen') {
        const listen = parseListen(st.args, sslOn);
        if (listen !== undefined) server.listens.push(listen);
      } else if (st.name === 'error_log') {
        const log = errorLogFile(st, prefix);
        if (log !== undefined) (own(st) ? ownError : innerError).push(log);
      } else if (st.name === 'access_log') {
        const log = accessLogFile(st, prefix);
        if (own(st)) {
          ownAccess ??= [];
          if (log === null) ownAccess = [];
          else if (log !== undefined) ownAccess.push(log);
        } else if (log !== null && log !== undefined) innerAccess.push(log);
      }
    }
    // No listen at all: nginx listens on *:80 (as root).
    if (!list.some((st) => own(st) && st.name === 'listen')) server.listens.push({ port: 80, ssl: sslOn, defaultServer: false });
    server.errorLogs = unique([...(ownError.length > 0 ? ownError : inheritedError), ...innerError]);
    server.accessLogs = unique([...(ownAccess ?? httpAccessLogs), ...innerAccess]);
    servers.push(server);
  }
  return servers;
}

/** A server name a probe can send as Host and SNI: an exact DNS name (no wildcard, regex or `_`). */
export const isExactName = (name: string): boolean =>
  name.length <= 253 && name.split('.').every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));

/** How people call a virtual host: its first exact name, else `_:port`. */
export function serverLabel(server: NginxServer): string {
  const name = server.names.find(isExactName);
  if (name !== undefined) return name;
  const port = server.listens[0]?.port;
  return port === undefined ? '_' : `_:${port}`;
}
