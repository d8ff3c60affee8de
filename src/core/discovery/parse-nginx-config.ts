import type { NginxConfigFacts } from './host-picture.ts';

/** One simple directive of nginx's config with its arguments and where it stands. */
export interface NginxStatement {
  name: string;
  args: string[];
  file?: string;
  /** The source line the directive starts on, trimmed. */
  line: string;
  /** Enclosing block headers, outermost first, e.g. ["http", "server", "location ~ \\.php$"]. */
  context: string[];
}

/**
 * Tokenises the output of `nginx -T` into statements, following its
 * `# configuration file X:` markers. Good enough for the directives a 502 diagnosis reads;
 * it is not a full nginx parser (no variables, no `if` semantics).
 */
export function parseNginxDump(text: string): NginxStatement[] {
  const out: NginxStatement[] = [];
  let file: string | undefined;
  const stack: string[] = [];
  let words: string[] = [];
  let startLine = '';
  for (const rawLine of text.split('\n')) {
    const marker = /^# configuration file (.+):$/.exec(rawLine);
    if (marker !== null) {
      file = marker[1];
      continue;
    }
    const tokens = tokenize(rawLine);
    for (const tok of tokens) {
      if (tok === ';') {
        if (words.length > 0) out.push({ name: words[0] as string, args: words.slice(1), file, line: startLine, context: [...stack] });
        words = [];
      } else if (tok === '{') {
        stack.push(words.join(' '));
        words = [];
      } else if (tok === '}') {
        stack.pop();
        words = [];
      } else {
        if (words.length === 0) startLine = rawLine.trim();
        words.push(tok);
      }
    }
  }
  return out;
}

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
  'uwsgi_buffer_size',
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

/** Relative paths in nginx's config are relative to its prefix. */
function absolute(path: string, prefix: string): string {
  return path.startsWith('/') ? path : `${withoutTrailingSlashes(prefix)}/${path}`;
}

/** `/usr/share/nginx///` → `/usr/share/nginx`, by a scan: `/\/+$/` retries at every slash of a long run. */
function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

/** Debian's and RHEL's compiled-in prefix; `-p` on the master's command line overrides it. */
export const DEFAULT_NGINX_PREFIX = '/usr/share/nginx';

export function summarizeNginxConfig(statements: readonly NginxStatement[], prefix = DEFAULT_NGINX_PREFIX): NginxConfigSummary {
  const s: NginxConfigSummary = { errorLogs: [], accessLogs: [], listenPorts: [], upstreams: [], directives: [], locations: [] };
  const where = (st: NginxStatement): { file?: string } => (st.file === undefined ? {} : { file: st.file });
  // `upstream php { server unix:/run/php.sock; }` + `fastcgi_pass php;` → the servers are the targets.
  const upstreamBlocks = new Map<string, string[]>();
  for (const st of statements) {
    const ctx = st.context.at(-1);
    if (st.name === 'server' && ctx?.startsWith('upstream ') && st.args[0] !== undefined) {
      const name = ctx.slice('upstream '.length).trim();
      upstreamBlocks.set(name, [...(upstreamBlocks.get(name) ?? []), st.args[0]]);
    }
  }
  for (const st of statements) {
    const first = st.args[0];
    for (const ctx of st.context) {
      if (ctx.startsWith('location ') && !s.locations.includes(ctx.slice('location '.length))) s.locations.push(ctx.slice('location '.length));
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
        if (first !== undefined) {
          const kind = st.name === 'fastcgi_pass' ? 'fastcgi' : st.name === 'proxy_pass' ? 'proxy' : 'uwsgi';
          const scheme = /^(https?:\/\/)([^/:]+)([/:].*)?$/.exec(first);
          const block = upstreamBlocks.get(scheme?.[2] ?? first);
          if (block === undefined) {
            s.upstreams.push({ kind, target: first, line: st.line, ...where(st) });
          } else {
            for (const server of block) {
              const target = scheme === null ? server : `${scheme[1]}${server}${scheme[3] ?? ''}`;
              s.upstreams.push({ kind, target, line: st.line, ...where(st) });
            }
          }
        }
        break;
      case 'fastcgi_param':
        if (first === 'SCRIPT_FILENAME') s.directives.push({ name: 'fastcgi_param SCRIPT_FILENAME', value: st.args.slice(1).join(' '), line: st.line, ...where(st) });
        break;
      default:
        if (INTERESTING.has(st.name)) s.directives.push({ name: st.name, value: st.args.join(' '), line: st.line, ...where(st) });
    }
  }
  return s;
}
