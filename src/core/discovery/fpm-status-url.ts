import type { FpmPool, NginxListen } from './host-picture.ts';
import { parseListen } from './nginx-servers.ts';
import type { NginxStatement } from './nginx-statement.ts';
import { listensAt } from './pair-stacks.ts';

interface ServerBlock {
  order: number;
  names: string[];
  listens: NginxListen[];
  /** Each `fastcgi_pass` inside a location of this server: the location's header and the target. */
  passes: { location: string; target: string }[];
}

const STATUS_PATH = /^\/[A-Za-z0-9._/-]*$/;

function serverBlocks(statements: readonly NginxStatement[]): ServerBlock[] {
  const upstreams = new Map<string, string[]>();
  for (const st of statements) {
    const ctx = st.context.at(-1);
    if (st.name === 'server' && ctx?.startsWith('upstream ') && st.args[0] !== undefined) {
      const name = ctx.slice('upstream '.length).trim();
      upstreams.set(name, [...(upstreams.get(name) ?? []), st.args[0]]);
    }
  }
  const blocks = new Map<number, ServerBlock & { statements: NginxStatement[]; depth: number }>();
  for (const st of statements) {
    if (st.context.some((c) => c === 'stream' || c === 'mail')) continue;
    const k = st.context.indexOf('server');
    if (k === -1) continue;
    const id = st.blocks[k] as number;
    const b = blocks.get(id) ?? { order: blocks.size, names: [], listens: [], passes: [], statements: [], depth: k };
    b.statements.push(st);
    blocks.set(id, b);
  }
  const out: ServerBlock[] = [];
  for (const b of blocks.values()) {
    const own = (st: NginxStatement): boolean => st.context.length === b.depth + 1;
    const sslOn = b.statements.some((st) => own(st) && st.name === 'ssl' && st.args[0] === 'on');
    for (const st of b.statements) {
      if (own(st) && st.name === 'server_name') b.names.push(...st.args);
      else if (own(st) && st.name === 'listen') {
        const l = parseListen(st.args, sslOn);
        if (l !== undefined) b.listens.push(l);
      } else if (st.name === 'fastcgi_pass' && st.args[0] !== undefined) {
        const location = st.context.slice(b.depth + 1).find((c) => c.startsWith('location '));
        if (location === undefined) continue;
        for (const target of upstreams.get(st.args[0]) ?? [st.args[0]])
          b.passes.push({ location: location.slice('location '.length), target });
      }
    }
    if (!b.statements.some((st) => own(st) && st.name === 'listen')) b.listens.push({ port: 80, ssl: sslOn, defaultServer: false });
    out.push({ order: b.order, names: b.names, listens: b.listens, passes: b.passes });
  }
  return out;
}

const LOOPBACK_ADDRESS = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\*|0\.0\.0\.0|localhost)$/;

/**
 * The URL of php-fpm's status page for this stack's pools, through this stack's nginx: a
 * server of its config with a location for a pool's `pm.status_path` that passes to that very
 * pool's `listen`, on a plain-HTTP loopback port where a request for 127.0.0.1 (or `localhost`)
 * reaches that server (its name, or the default server of the port). Not the first port of the
 * config: that may be another vhost, TLS, or a location passing to another stack's pool.
 */
export function fpmStatusUrl(statements: readonly NginxStatement[], pools: readonly FpmPool[]): string | undefined {
  const servers = serverBlocks(statements);
  const defaultOf = new Map<number, ServerBlock>();
  for (const s of servers) for (const l of s.listens) if (l.defaultServer && !defaultOf.has(l.port)) defaultOf.set(l.port, s);
  for (const s of servers) for (const l of s.listens) if (!defaultOf.has(l.port)) defaultOf.set(l.port, s);
  for (const pool of pools) {
    const path = pool.statusPath;
    if (path === undefined || pool.listen === undefined || !STATUS_PATH.test(path)) continue;
    for (const server of servers) {
      if (!server.passes.some((p) => p.location.includes(path) && listensAt(pool.listen as string, p.target))) continue;
      for (const l of server.listens) {
        if (l.ssl || (l.address !== undefined && !LOOPBACK_ADDRESS.test(l.address))) continue;
        const host = server.names.includes('localhost')
          ? 'localhost'
          : l.address !== undefined && /^127\./.test(l.address)
            ? l.address
            : '127.0.0.1';
        const reached = server.names.includes(host) || defaultOf.get(l.port) === server;
        if (!reached) continue;
        return `http://${host}${l.port === 80 ? '' : `:${l.port}`}${path}?full`;
      }
    }
  }
  return undefined;
}
