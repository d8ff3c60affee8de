/**
 * What discovery learned about a host's web stack, parsed from check output. The classifier
 * reads this together with the raw check results. All fields are optional in spirit: a host
 * may run no php-fpm at all (that is the finding), or a check may not have run.
 */

export interface ProcessRow {
  pid: number;
  ppid: number;
  user: string;
  rssKb: number;
  args: string;
  /** The owner's uid, where the process list has it (a name alone can be truncated by ps). */
  uid?: number;
  /** pid and mount namespaces (inode numbers), where ps could read them: root's processes need root to read. */
  pidns?: string;
  mntns?: string;
}

/** One `fastcgi_pass` / `proxy_pass` / `uwsgi_pass` / `grpc_pass` of nginx's effective config. */
export interface NginxUpstreamRef {
  kind: 'fastcgi' | 'proxy' | 'uwsgi' | 'grpc';
  /** As written after the directive, without the `;`: `unix:/run/php/php8.2-fpm.sock`, `127.0.0.1:9000`, `http://127.0.0.1:3000`. */
  target: string;
  /** The config file it is in (from `nginx -T`'s `# configuration file` markers). */
  file?: string;
  /** The directive line itself, trimmed, for evidence. */
  line: string;
  /** The `upstream` block the target is a `server` of, when the pass names one. */
  upstream?: string;
  /** That `server` line has the `resolve` parameter: nginx re-resolves its name while it runs. */
  resolve?: boolean;
}

/** A directive from nginx -T that matters to 502s (timeouts, buffers, SCRIPT_FILENAME). */
export interface NginxDirective {
  name: string;
  value: string;
  file?: string;
  line: string;
}

/** One `listen` of a `server` block. */
export interface NginxListen {
  port: number;
  /** `listen … ssl` (or the old `ssl on;` in the server): the port speaks TLS. */
  ssl: boolean;
  /** The address part as written (`127.0.0.1`, `[::]`, `*`), when there is one. */
  address?: string;
  defaultServer: boolean;
}

/** One `server` block of nginx's http config: a virtual host, and where it logs. */
export interface NginxServer {
  /** `server_name` arguments as written (may be empty, `_`, wildcards or regexes). */
  names: string[];
  listens: NginxListen[];
  /** Every error log the server's requests may be written to: its own (or inherited) and its locations'. */
  errorLogs: string[];
  accessLogs: string[];
  /** The config file the block is in. */
  file?: string;
}

/** What nginx's effective config (`nginx -T`) says about the 502s: both the parser's summary and the picture hold it. */
export interface NginxConfigFacts {
  /** The `user` directive, i.e. who the workers run as (what must be able to open the socket). */
  workerUser?: string;
  errorLogs: string[];
  accessLogs: string[];
  /** Ports of `listen` directives. */
  listenPorts: number[];
  /** The virtual hosts (`server` blocks of `http`), in config order. */
  servers: NginxServer[];
  upstreams: NginxUpstreamRef[];
  /** fastcgi_read_timeout, proxy_read_timeout, fastcgi_buffer_size, proxy_buffer_size, fastcgi_param SCRIPT_FILENAME, … */
  directives: NginxDirective[];
}

export interface NginxPicture extends NginxConfigFacts {
  running: boolean;
  /** The probe of each virtual host, as planned from the config. */
  vhostProbes: { server: string; url: string }[];
  /** What was left out, for the report: virtual hosts not probed, log files not read, and why. */
  notChecked: string[];
  masterPid?: number;
  /** True when `nginx -T` output was available and parsed. */
  configRead: boolean;
}

export interface FpmPool {
  name: string;
  file?: string;
  /** `listen` as written: `/run/php/php8.2-fpm.sock` or `127.0.0.1:9000` or `9000`. */
  listen?: string;
  listenOwner?: string;
  listenGroup?: string;
  listenMode?: string;
  user?: string;
  group?: string;
  pm?: string;
  maxChildren?: number;
  statusPath?: string;
  /** `request_slowlog_timeout` as written (`5s`, `1`, `0` = off). */
  slowlogTimeout?: string;
  /** `slowlog` as written (may hold `$pool`). */
  slowlog?: string;
  /** php_admin_value[memory_limit] / php_value[memory_limit] of the pool, as written (e.g. "256M"). */
  memoryLimit?: string;
  /** Directive lines as written, keyed by directive name, for evidence. */
  lines: Record<string, string>;
}

export interface FpmPicture {
  running: boolean;
  masterPid?: number;
  masterUser?: string;
  workers: ProcessRow[];
  /** The master's config file, from its process title or facts. */
  conf?: string;
  pools: FpmPool[];
  errorLog?: string;
  pidFile?: string;
  /** memory_limit from php.ini, as written. */
  iniMemoryLimit?: string;
  /** The [global] `process.max` line, when php-fpm.conf sets one: a cap on the workers of all pools together. */
  processMax?: { value: number; line: string; file: string };
  /** True when the php-fpm configuration was read. */
  configRead: boolean;
  /** Where the status page is served (a pool's pm.status_path that an nginx location passes to php-fpm). */
  statusUrl?: string;
}

export interface HostPicture {
  nginx: NginxPicture;
  fpm: FpmPicture;
  processes: ProcessRow[];
  systemd?: boolean;
  /** systemd units seen: name → active state ("active", "failed", "inactive"). */
  units: Record<string, string>;
  memTotalBytes?: number;
  memAvailableBytes?: number;
  /** The host's own clock, ISO 8601 with its UTC offset, e.g. 2026-11-23T22:30:01+0100. */
  hostTime?: string;
  /** Processes titled like masters that were not used: look-alikes nobody can vouch for, and containers'. */
  untrustedMasters: UntrustedMaster[];
  /** Every master that passed the trust checks, in ps order: more than one nginx or php-fpm means several stacks. */
  trustedMasters: { nginx: MasterProcess[]; fpm: MasterProcess[] };
}

export const emptyPicture = (): HostPicture => ({
  nginx: {
    running: false,
    vhostProbes: [],
    notChecked: [],
    errorLogs: [],
    accessLogs: [],
    listenPorts: [],
    servers: [],
    upstreams: [],
    directives: [],
    configRead: false,
  },
  fpm: { running: false, workers: [], pools: [], configRead: false },
  processes: [],
  units: {},
  untrustedMasters: [],
  trustedMasters: { nginx: [], fpm: [] },
});

/**
 * A systemd unit that runs php-fpm: `php8.2-fpm.service`, `php-fpm.service`, `rh-php81-php-fpm.service`
 * ("php", then "fpm" later in the name). Two searches, not `/php.*fpm/`, which rescans the rest of
 * the name from every "php" in it.
 */
export function isFpmUnitName(unit: string): boolean {
  const php = unit.indexOf('php');
  return php !== -1 && unit.includes('fpm', php + 3);
}

/**
 * Any local user can set its own process title, so a title that reads `nginx: master process
 * /tmp/x/nginx -c /etc/nginx/nginx.conf` proves nothing. A master is used only when the kernel's
 * own facts about it say a service manager started it as root (or as the service user the
 * inventory states): its owner, its parent, or systemd naming it a unit's main pid. A look-alike
 * that fails is reported, never used; one in a container (another pid namespace, a container
 * runtime's cgroup, another mount namespace with its own root) is reported too: its paths are not
 * this host's.
 */

export type MasterKind = 'nginx' | 'fpm';

export interface MasterProcess {
  kind: MasterKind;
  pid: number;
  user: string;
  /** From the title: only ever compared with facts, never run or read. */
  conf?: string;
  prefix?: string;
  /** The program the title claims; informative only (what runs comes from the inventory or the system folders). */
  claimedBinary?: string;
}

/** A master that could not be trusted or belongs to a container: shown to people, never used. */
export interface UntrustedMaster {
  kind: MasterKind;
  pid: number;
  user: string;
  /** The title as ps printed it (clean it before showing). */
  args: string;
  /**
   * `suspicious`: looks like a master but is not one a service manager runs as root. `container`:
   * in another pid namespace, a container runtime's cgroup, or another mount namespace with its own root.
   */
  status: 'suspicious' | 'container';
  why: string;
}
