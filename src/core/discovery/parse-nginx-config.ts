import type { NginxConfigFacts } from './host-picture.ts';
import type { NginxStatement } from './nginx-statement.ts';
import { absolute, nginxServers } from './nginx-servers.ts';
import { type TokenMatcher, wildcardMatch } from '../wildcard-match.ts';

export type { NginxStatement } from './nginx-statement.ts';

/** Most include levels followed; nginx itself refuses deeper recursion long before. */
const MAX_INCLUDE_DEPTH = 8;

/**
 * Tokenises the output of `nginx -T` into statements, following its
 * `# configuration file X:` markers. `nginx -T` prints each included file after the file that
 * includes it, so the statements of a file named by an `include` are put back where that
 * `include` stands (with its enclosing blocks); a file no `include` pattern reaches stays where
 * it was printed. Good enough for the directives a 502 diagnosis reads; it is not a full nginx
 * parser (no variables, no `if` semantics).
 */
export function parseNginxDump(text: string): NginxStatement[] {
  const files = splitFiles(text);
  const main = files[0];
  if (main === undefined) return [];
  const confDir = main.file === undefined ? '/' : main.file.slice(0, main.file.lastIndexOf('/') + 1) || '/';
  const reached = new Set<ParsedFile>([main]);
  let nextBlock = 0;
  const out: NginxStatement[] = [];
  const emit = (f: ParsedFile, context: string[], blocks: number[], depth: number): void => {
    // Fresh block ids per inclusion: a snippet included in two servers belongs to each of them.
    const ids = new Map<number, number>();
    for (const st of f.statements) {
      const local = st.blocks.map((b) => {
        let id = ids.get(b);
        if (id === undefined) ids.set(b, (id = nextBlock++));
        return id;
      });
      const placed = { ...st, context: [...context, ...st.context], blocks: [...blocks, ...local] };
      out.push(placed);
      const pattern = st.name === 'include' ? st.args[0] : undefined;
      if (pattern === undefined || depth >= MAX_INCLUDE_DEPTH) continue;
      const target = pattern.startsWith('/') ? pattern : `${confDir}${pattern}`;
      for (const g of files) {
        if (g === f || g.file === undefined || !globMatches(target, g.file)) continue;
        reached.add(g);
        emit(g, placed.context, placed.blocks, depth + 1);
      }
    }
  };
  emit(main, [], [], 0);
  for (const f of files) if (!reached.has(f)) emit(f, [], [], MAX_INCLUDE_DEPTH);
  return out;
}

interface ParsedFile {
  file?: string;
  statements: NginxStatement[];
}

/** The statements of each file of the dump, with block ids local to the file. */
function splitFiles(text: string): ParsedFile[] {
  const files: ParsedFile[] = [];
  let current: ParsedFile | undefined;
  let stack: string[] = [];
  let ids: number[] = [];
  let words: string[] = [];
  let startLine = '';
  let nextId = 0;
  for (const rawLine of text.split('\n')) {
    const marker = /^# configuration file (.+):$/.exec(rawLine);
    if (marker !== null) {
      current = { file: marker[1] as string, statements: [] };
      files.push(current);
      stack = [];
      ids = [];
      words = [];
      continue;
    }
    const tokens = tokenize(rawLine);
    for (const tok of tokens) {
      if (current === undefined) {
        current = { statements: [] };
        files.push(current);
      }
      if (tok === ';') {
        if (words.length > 0) {
          const st: NginxStatement = {
            name: words[0] as string,
            args: words.slice(1),
            line: startLine,
            context: [...stack],
            blocks: [...ids],
          };
          if (current.file !== undefined) st.file = current.file;
          current.statements.push(st);
        }
        words = [];
      } else if (tok === '{') {
        stack.push(words.join(' '));
        ids.push(nextId++);
        words = [];
      } else if (tok === '}') {
        stack.pop();
        ids.pop();
        words = [];
      } else {
        if (words.length === 0) startLine = rawLine.trim();
        words.push(tok);
      }
    }
  }
  return files;
}

/**
 * glob(3) as nginx's `include` uses it: `*`, `?` and `[…]` within one path segment. Each
 * segment is matched greedily with one remembered star, so the cost is bounded by the product
 * of the two lengths, never exponential.
 */
export function globMatches(pattern: string, path: string): boolean {
  const ps = pattern.split('/');
  const ss = path.split('/');
  return ps.length === ss.length && ps.every((p, i) => wildcardMatch(p, ss[i] as string, matchOne));
}

/** How many pattern characters match `c` at `i` (0: no match): `?`, `[…]` or the character itself. */
const matchOne: TokenMatcher = (p, i, c) => {
  const t = p[i] as string;
  if (t === '?') return 1;
  if (t === '[') {
    const end = p.indexOf(']', i + 2);
    if (end === -1) return c === '[' ? 1 : 0;
    const body = p.slice(i + 1, end);
    const negate = body.startsWith('!') || body.startsWith('^');
    const set = negate ? body.slice(1) : body;
    let hit = false;
    for (let k = 0; k < set.length; k++) {
      if (set[k + 1] === '-' && k + 2 < set.length) {
        if (c >= (set[k] as string) && c <= (set[k + 2] as string)) hit = true;
        k += 2;
      } else if (set[k] === c) hit = true;
    }
    return hit !== negate ? end - i + 1 : 0;
  }
  return t === c ? 1 : 0;
};

function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '#') break;
    if (/\s/.test(c)) {
      i++;
    } else if (c === ';' || c === '{' || c === '}') {
      tokens.push(c);
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < line.length && line[j] !== c) {
        if (line[j] === '\\' && j + 1 < line.length) j++;
        s += line[j];
        j++;
      }
      tokens.push(s);
      i = j + 1;
    } else {
      let j = i;
      while (j < line.length && !/[\s;{}]/.test(line[j] as string)) j++;
      tokens.push(line.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const INTERESTING = new Set([
  'fastcgi_read_timeout',
  'fastcgi_connect_timeout',
  'fastcgi_send_timeout',
  'fastcgi_buffer_size',
  'fastcgi_buffers',
  'fastcgi_busy_buffers_size',
  'proxy_read_timeout',
  'proxy_connect_timeout',
  'proxy_send_timeout',
  'proxy_buffer_size',
  'proxy_buffers',
  'proxy_busy_buffers_size',
  'uwsgi_read_timeout',
  'uwsgi_connect_timeout',
  'uwsgi_send_timeout',
  'uwsgi_buffer_size',
  'grpc_read_timeout',
  'grpc_connect_timeout',
  'grpc_send_timeout',
  'scgi_read_timeout',
  'root',
  // Upstream keep-alive, name resolution, TLS to the upstream and connection limits.
  'keepalive',
  'keepalive_requests',
  'proxy_http_version',
  'resolver',
  'resolver_timeout',
  'proxy_ssl_verify',
  'proxy_ssl_server_name',
  'proxy_ssl_name',
  'proxy_ssl_trusted_certificate',
  'proxy_ssl_verify_depth',
  'worker_connections',
  'worker_rlimit_nofile',
]);

export interface NginxConfigSummary extends NginxConfigFacts {
  /** `location` arguments, e.g. "= /fpm-status". */
  locations: string[];
  pidFile?: string;
}

/** Debian's and RHEL's compiled-in prefix; `-p` on the master's command line overrides it. */
export const DEFAULT_NGINX_PREFIX = '/usr/share/nginx';

export function summarizeNginxConfig(statements: readonly NginxStatement[], prefix = DEFAULT_NGINX_PREFIX): NginxConfigSummary {
  const s: NginxConfigSummary = {
    errorLogs: [],
    accessLogs: [],
    listenPorts: [],
    servers: nginxServers(statements, prefix),
    upstreams: [],
    directives: [],
    locations: [],
  };
  const where = (st: NginxStatement): { file?: string } => (st.file === undefined ? {} : { file: st.file });
  // `upstream php { server unix:/run/php.sock; }` + `fastcgi_pass php;` → the servers are the targets.
  const upstreamBlocks = new Map<string, { target: string; resolve: boolean }[]>();
  for (const st of statements) {
    const ctx = st.context.at(-1);
    if (st.name === 'server' && ctx?.startsWith('upstream ') && st.args[0] !== undefined) {
      const name = ctx.slice('upstream '.length).trim();
      upstreamBlocks.set(name, [...(upstreamBlocks.get(name) ?? []), { target: st.args[0], resolve: st.args.includes('resolve') }]);
    }
  }
  for (const st of statements) {
    const first = st.args[0];
    for (const ctx of st.context) {
      if (ctx.startsWith('location ') && !s.locations.includes(ctx.slice('location '.length)))
        s.locations.push(ctx.slice('location '.length));
    }
    switch (st.name) {
      case 'user':
        if (st.context.length === 0 && first !== undefined) s.workerUser = first;
        break;
      case 'pid':
        if (first !== undefined) s.pidFile = absolute(first, prefix);
        break;
      case 'error_log':
        if (first !== undefined && first !== 'stderr' && !first.startsWith('syslog:') && !first.startsWith('memory:')) {
          const p = absolute(first, prefix);
          if (!s.errorLogs.includes(p)) s.errorLogs.push(p);
        }
        break;
      case 'access_log':
        if (first !== undefined && first !== 'off' && !first.startsWith('syslog:')) {
          const p = absolute(first, prefix);
          if (!s.accessLogs.includes(p)) s.accessLogs.push(p);
        }
        break;
      case 'listen': {
        const port = /(?:^|:)(\d{1,5})$/.exec(first ?? '')?.[1];
        if (port !== undefined && !s.listenPorts.includes(Number(port))) s.listenPorts.push(Number(port));
        break;
      }
      case 'fastcgi_pass':
      case 'proxy_pass':
      case 'uwsgi_pass':
      case 'grpc_pass':
        if (first !== undefined) {
          const kind =
            st.name === 'fastcgi_pass' ? 'fastcgi' : st.name === 'proxy_pass' ? 'proxy' : st.name === 'uwsgi_pass' ? 'uwsgi' : 'grpc';
          const scheme = /^((?:https?|grpcs?):\/\/)([^/:]+)([/:].*)?$/.exec(first);
          const block = upstreamBlocks.get(scheme?.[2] ?? first);
          if (block === undefined) {
            s.upstreams.push({ kind, target: first, line: st.line, ...where(st) });
          } else {
            const upstream = scheme?.[2] ?? first;
            for (const server of block) {
              const target = scheme === null ? server.target : `${scheme[1]}${server.target}${scheme[3] ?? ''}`;
              s.upstreams.push({ kind, target, line: st.line, ...where(st), upstream, ...(server.resolve ? { resolve: true } : {}) });
            }
          }
        }
        break;
      case 'fastcgi_param':
        if (first === 'SCRIPT_FILENAME')
          s.directives.push({ name: 'fastcgi_param SCRIPT_FILENAME', value: st.args.slice(1).join(' '), line: st.line, ...where(st) });
        break;
      default:
        if (INTERESTING.has(st.name)) s.directives.push({ name: st.name, value: st.args.join(' '), line: st.line, ...where(st) });
    }
  }
  return s;
}
