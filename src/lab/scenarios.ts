import type { CauseId } from '../core/causes.ts';

/**
 * The lab's failure modes, one per case of the seed's playbook. Each is a desired state of the
 * stack (configs and which processes run) plus bounded real traffic that makes nginx and php-fpm
 * write their own log lines. Pure data: `lab.ts` applies it, the tests and docs/lab.md read it.
 */

export const SCENARIO_NAMES = [
  'healthy',
  'php_fpm_down',
  'socket_mismatch',
  'tcp_mismatch',
  'socket_permission',
  'upstream_timeout',
  'upstream_reset',
  'max_children_exhausted',
  'script_filename_wrong',
  'header_too_big',
  'proxy_upstream_down',
  'upstream_tls',
  'upstream_dns',
  'upstream_dns_static',
  'resource_limits',
  'oom_killed',
  'memory_overcommit',
  'fake_masters',
  'two_stacks_broken_first',
  'two_stacks_broken_last',
  'vhost_tls_upstream_down',
  'container_masters',
  'hostile_host',
  'slowlog_timeout',
  'pool_near_limit',
  'stray_fpm_beside_stack',
  'proxy_stack_beside_php',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const isScenarioName = (s: string): s is ScenarioName => (SCENARIO_NAMES as readonly string[]).includes(s);

/** The stack as a scenario wants it. */
export interface LabSettings {
  /** Where nginx's `fastcgi_pass` points: php-fpm's socket, the PHP 7.4 socket of before the upgrade, or TCP where nothing listens. */
  fastcgiPass: 'socket' | 'old-socket' | 'tcp';
  /** `SCRIPT_FILENAME` under nginx's docroot, or under a path only a split PHP container would have. */
  scriptRoot: 'docroot' | 'elsewhere';
  /** `fastcgi_read_timeout`, when the scenario shortens it. */
  fastcgiReadTimeout?: string;
  pool: PoolSettings;
  /** `oom-killed`: master and workers killed with SIGKILL, as the OOM killer does, leaving the socket and pid file behind. */
  fpm: 'running' | 'stopped' | 'oom-killed';
  backend: 'running' | 'stopped';
  /** The unprivileged web user runs processes titled like nginx's and php-fpm's masters, started before the real ones. */
  intruders?: boolean;
  /**
   * A second nginx + php-fpm stack under `<lab>/second`, on its own port, whose php-fpm ran and
   * stopped (502s). `broken-first`: started before the lab's own masters (lower pids, first in ps).
   * `proxy-broken`: a second nginx with no PHP at all, whose only `proxy_pass` backend is down.
   */
  secondStack?: 'broken-first' | 'broken-last' | 'proxy-broken';
  /**
   * A second php-fpm master (its own config and socket under `<lab>/second`) that runs beside the
   * lab's and that no nginx points at: a stray, a canary, an old PHP left running.
   */
  strayFpm?: boolean;
  /**
   * How /api/ reaches the Node backend: `http`; `https-to-plain`, `proxy_pass https://` to its
   * plain-HTTP port; `unresolved-name`, a host name in a variable (resolved per request) with no
   * `resolver`, so nginx never sends a DNS query; `static-name`, a host name of this machine's
   * /etc/hosts written in proxy_pass, which nginx resolves once at start. @defaultValue `http`
   */
  api?: 'http' | 'https-to-plain' | 'unresolved-name' | 'static-name';
  /** nginx's `worker_connections`. @defaultValue 256 */
  workerConnections?: number;
  /** `broken`: a second vhost, `shop.lab.test` over TLS with its own logs, whose proxy_pass backend is down. */
  shop?: 'absent' | 'broken';
  /**
   * Root runs two containers' masters, started before the lab's own (first in ps), as daemons
   * adopted by init: an nginx in a mount namespace whose root is an overlay, titled with the lab's
   * own nginx.conf path; a php-fpm in a cgroup named like a docker container's.
   */
  containers?: boolean;
  /**
   * Requests to /hold.php left running while the scenario is diagnosed: each keeps a worker busy
   * until the lab releases them (the next scenario, or stop), at most 60 s. The lab waits until the
   * status page shows them all active.
   */
  hold?: number;
}

export interface PoolSettings {
  /** `tcp`: 127.0.0.1 on the port of the TCP scenario, i.e. a pool fixed to match nginx's `fastcgi_pass 127.0.0.1:9000`. @defaultValue `socket` */
  listen?: 'socket' | 'tcp';
  /** `web`: owned by the web user, 0660. `root-only`: root:root 0600, which nginx's workers cannot open. */
  socketAccess: 'web' | 'root-only';
  pm: 'dynamic' | 'static' | 'ondemand';
  maxChildren: number;
  startServers: number;
  minSpare: number;
  maxSpare: number;
  /** `host-overcommit`: php_admin_value[memory_limit] sized so that × max_children is ~4× the host's RAM. */
  memoryLimit: 'default' | 'host-overcommit';
  /** `request_slowlog_timeout = 1s` and a slow log: php-fpm writes the stack of every request slower than that. */
  slowlog?: boolean;
}

/** One batch of requests the lab sends to its nginx. */
export interface Traffic {
  path: string;
  count: number;
  /** How many at once. @defaultValue 1 */
  concurrency?: number;
  /** `shop`: to the shop vhost, over TLS with its name as SNI and Host. @defaultValue the first vhost, over HTTP */
  vhost?: 'shop';
  /** What this batch gets back, when it is not the scenario's `status`. */
  status?: number;
}

export type LabLog = 'nginxError' | 'nginxAccess' | 'fpmLog' | 'fpmSlowlog' | 'kernelLog' | 'shopError';

/** A real line the scenario must make appear; the lab waits for it, the tests look for it in the evidence. */
export interface ExpectedLine {
  log: LabLog;
  pattern: RegExp;
}

export interface Scenario {
  name: ScenarioName;
  /** One line for people (CLI, docs). */
  summary: string;
  /** The verdict the bot must give. */
  cause: CauseId;
  settings: LabSettings;
  traffic: Traffic[];
  /** What every request of the traffic gets back from nginx. */
  status: number;
  /** The first entry is the line the verdict's evidence must hold. */
  expect: ExpectedLine[];
}

const HEALTHY_POOL: PoolSettings = {
  socketAccess: 'web',
  pm: 'dynamic',
  maxChildren: 5,
  startServers: 2,
  minSpare: 1,
  maxSpare: 3,
  memoryLimit: 'default',
};

const HEALTHY: LabSettings = {
  fastcgiPass: 'socket',
  scriptRoot: 'docroot',
  pool: HEALTHY_POOL,
  fpm: 'running',
  backend: 'running',
};

const home: Traffic = { path: '/', count: 3 };

/** The shop vhost with its backend down while web-01 answers: its traffic, status and the line its own error log must show. */
const SHOP_UPSTREAM_DOWN: Pick<Scenario, 'traffic' | 'status' | 'expect'> = {
  traffic: [
    { ...home, status: 200 },
    { path: '/', count: 3, vhost: 'shop' },
  ],
  status: 502,
  expect: [
    {
      log: 'shopError',
      pattern:
        /connect\(\) failed \(111: Connection refused\) while connecting to upstream, client: 127\.0\.0\.1, server: shop\.lab\.test, .*upstream: "http:\/\/127\.0\.0\.1:\d+\/"/,
    },
  ],
};

const scenarios: Scenario[] = [
  {
    name: 'healthy',
    summary: 'everything runs and answers 200',
    cause: 'healthy',
    settings: HEALTHY,
    traffic: [home, { path: '/api/', count: 2 }],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/ HTTP\/1\.1" 200 / }],
  },
  {
    name: 'php_fpm_down',
    summary: 'php-fpm is stopped (its socket is gone)',
    cause: 'php_fpm_down',
    settings: { ...HEALTHY, fpm: 'stopped' },
    traffic: [home],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /connect\(\) to unix:\S+php8\.2-fpm\.sock failed \(2: No such file or directory\)/ }],
  },
  {
    name: 'socket_mismatch',
    summary: 'after a "PHP upgrade" nginx still points at the php7.4 socket; php-fpm listens on php8.2',
    cause: 'socket_mismatch',
    settings: { ...HEALTHY, fastcgiPass: 'old-socket' },
    traffic: [home],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /connect\(\) to unix:\S+php7\.4-fpm\.sock failed \(2: No such file or directory\)/ }],
  },
  {
    name: 'tcp_mismatch',
    summary: 'nginx uses fastcgi_pass 127.0.0.1:9000 (TCP; a free port in tests) while php-fpm listens on a unix socket',
    cause: 'socket_mismatch',
    settings: { ...HEALTHY, fastcgiPass: 'tcp' },
    traffic: [home],
    status: 502,
    expect: [
      {
        log: 'nginxError',
        pattern: /connect\(\) failed \(111: Connection refused\) while connecting to upstream.*upstream: "fastcgi:\/\/127\.0\.0\.1:\d+"/,
      },
    ],
  },
  {
    name: 'socket_permission',
    summary: "php-fpm's socket is root:root 0600 (listen.owner/mode), nginx's workers may not open it",
    cause: 'socket_permission',
    settings: { ...HEALTHY, pool: { ...HEALTHY_POOL, socketAccess: 'root-only' } },
    traffic: [home],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /connect\(\) to unix:\S+php8\.2-fpm\.sock failed \(13: Permission denied\)/ }],
  },
  {
    name: 'upstream_timeout',
    summary: 'a 3 s script behind fastcgi_read_timeout 1s (504)',
    cause: 'upstream_timeout',
    settings: { ...HEALTHY, fastcgiReadTimeout: '1s' },
    traffic: [{ path: '/slow.php?s=3', count: 2, concurrency: 2 }],
    status: 504,
    expect: [
      { log: 'nginxError', pattern: /upstream timed out \(110: Connection timed out\) while reading response header from upstream/ },
    ],
  },
  {
    name: 'upstream_reset',
    summary: 'a PHP worker is killed (SIGKILL) in the middle of a request',
    cause: 'upstream_reset',
    settings: HEALTHY,
    traffic: [{ path: '/kill.php', count: 3 }],
    status: 502,
    expect: [
      {
        log: 'nginxError',
        pattern:
          /(?:recv\(\) failed \(104: Connection reset by peer\)|upstream prematurely closed (?:FastCGI stdout|connection)) while reading response header from upstream/,
      },
      { log: 'fpmLog', pattern: /child \d+ exited on signal 9 \(SIGKILL\)/ },
    ],
  },
  {
    name: 'max_children_exhausted',
    summary: 'pm.max_children = 2 under 12 concurrent slow requests',
    cause: 'max_children_exhausted',
    settings: { ...HEALTHY, pool: { ...HEALTHY_POOL, maxChildren: 2, startServers: 1, minSpare: 1, maxSpare: 1 } },
    traffic: [{ path: '/slow.php?s=0.5', count: 12, concurrency: 12 }],
    status: 200,
    expect: [{ log: 'fpmLog', pattern: /server reached pm\.max_children setting \(2\), consider raising it/ }],
  },
  {
    name: 'script_filename_wrong',
    summary: 'SCRIPT_FILENAME points under a docroot php-fpm cannot see (split containers)',
    cause: 'script_filename_wrong',
    settings: { ...HEALTHY, scriptRoot: 'elsewhere' },
    traffic: [home],
    status: 404,
    expect: [{ log: 'nginxError', pattern: /FastCGI sent in stderr: "Primary script unknown"/ }],
  },
  {
    name: 'header_too_big',
    summary: 'a script sends a 32 KiB header, more than fastcgi_buffer_size',
    cause: 'upstream_header_too_big',
    settings: HEALTHY,
    traffic: [{ path: '/big-header.php', count: 3 }],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /upstream sent too big header while reading response header from upstream/ }],
  },
  {
    name: 'proxy_upstream_down',
    summary: 'the Node.js backend behind proxy_pass (/api/) is stopped',
    cause: 'proxy_upstream_down',
    settings: { ...HEALTHY, backend: 'stopped' },
    traffic: [{ path: '/api/', count: 3 }],
    status: 502,
    expect: [
      {
        log: 'nginxError',
        pattern:
          /connect\(\) failed \(111: Connection refused\) while connecting to upstream.*upstream: "http:\/\/127\.0\.0\.1:\d+\/api\/"/,
      },
    ],
  },
  {
    name: 'upstream_tls',
    summary: 'nginx proxies /api/ over https:// to the Node backend, which speaks plain HTTP',
    cause: 'upstream_tls',
    settings: { ...HEALTHY, api: 'https-to-plain' },
    traffic: [{ path: '/api/', count: 3 }],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /SSL_do_handshake\(\) failed \(SSL: .*\) while SSL handshaking to upstream/ }],
  },
  {
    name: 'upstream_dns',
    summary: '/api/ proxies to a host name held in a variable, and nginx has no resolver to look it up',
    cause: 'upstream_dns',
    settings: { ...HEALTHY, api: 'unresolved-name' },
    traffic: [{ path: '/api/', count: 3 }],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /no resolver defined to resolve backend\.invalid/ }],
  },
  {
    name: 'upstream_dns_static',
    summary:
      "/api/ proxies to a host name (this machine's own, from /etc/hosts) with no variable and no resolver: resolved once at start; the site answers",
    cause: 'upstream_dns',
    settings: { ...HEALTHY, api: 'static-name' },
    traffic: [{ path: '/api/', count: 2 }],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/api\/ HTTP\/1\.1" 200 / }],
  },
  {
    name: 'resource_limits',
    summary: "worker_connections 3: the listening socket and the client's connection leave none for the upstream",
    cause: 'resource_limits',
    settings: { ...HEALTHY, workerConnections: 3 },
    traffic: [{ path: '/api/', count: 2 }],
    status: 500,
    expect: [{ log: 'nginxError', pattern: /3 worker_connections are not enough while connecting to upstream/ }],
  },
  {
    name: 'oom_killed',
    summary: 'php-fpm killed with SIGKILL as the OOM killer would, plus a recorded real kernel OOM line (timestamp set to now)',
    cause: 'oom_killed',
    settings: { ...HEALTHY, fpm: 'oom-killed' },
    traffic: [home],
    status: 502,
    expect: [
      { log: 'kernelLog', pattern: /Out of memory: Killed process \d+ \(php-fpm8\.2\)/ },
      { log: 'nginxError', pattern: /connect\(\) to unix:\S+php8\.2-fpm\.sock failed \(111: Connection refused\)/ },
    ],
  },
  {
    name: 'memory_overcommit',
    summary: "memory_limit × pm.max_children is ~4× the host's RAM; the site still answers",
    cause: 'memory_overcommit',
    settings: { ...HEALTHY, pool: { ...HEALTHY_POOL, maxChildren: 64, memoryLimit: 'host-overcommit' } },
    traffic: [home],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/ HTTP\/1\.1" 200 / }],
  },
  {
    name: 'fake_masters',
    summary:
      'php-fpm is stopped, while the unprivileged web user runs look-alike nginx and php-fpm masters (sorting first in ps) whose titles name the real configs and a program that would leave a marker file',
    cause: 'php_fpm_down',
    settings: { ...HEALTHY, fpm: 'stopped', intruders: true },
    traffic: [home],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /connect\(\) to unix:\S+php8\.2-fpm\.sock failed \(2: No such file or directory\)/ }],
  },
  ...(['first', 'last'] as const).map((order): Scenario => ({
    name: `two_stacks_broken_${order}`,
    summary: `a second nginx + php-fpm stack on its own port, whose php-fpm is stopped (502s), started ${order === 'first' ? 'before' : 'after'} the healthy lab stack; the inventory pins the healthy one`,
    cause: 'healthy',
    settings: { ...HEALTHY, secondStack: `broken-${order}` },
    traffic: [home],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/ HTTP\/1\.1" 200 / }],
  })),
  {
    name: 'vhost_tls_upstream_down',
    summary: 'a second vhost, shop.lab.test on a TLS port with its own error log, has its proxy_pass backend down; web-01 is fine',
    cause: 'proxy_upstream_down',
    settings: { ...HEALTHY, shop: 'broken' },
    ...SHOP_UPSTREAM_DOWN,
  },
  {
    name: 'container_masters',
    summary:
      "the lab's stack is healthy; root also runs an nginx master in another mount namespace whose / is an overlay, titled with the lab's own nginx.conf path, and a php-fpm master in a cgroup named like a docker container's, both first in ps",
    cause: 'healthy',
    settings: { ...HEALTHY, containers: true },
    traffic: [home],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/ HTTP\/1\.1" 200 / }],
  },
  {
    name: 'slowlog_timeout',
    summary: "the upstream_timeout scenario with request_slowlog_timeout = 1s: the slow log holds the script's stack",
    cause: 'upstream_timeout',
    settings: { ...HEALTHY, fastcgiReadTimeout: '2s', pool: { ...HEALTHY_POOL, slowlog: true } },
    traffic: [{ path: '/slow.php?s=3', count: 2, concurrency: 2 }],
    status: 504,
    expect: [
      { log: 'nginxError', pattern: /upstream timed out \(110: Connection timed out\) while reading response header from upstream/ },
      {
        log: 'fpmLog',
        pattern:
          /\[pool www\] child \d+, script '[^']+\/slow\.php' \(request: "GET \/slow\.php\?s=3"\) executing too slow \([\d.]+ sec\), logging/,
      },
      { log: 'fpmSlowlog', pattern: /^\[0x[0-9a-f]+\] usleep\(\) \S+\/slow\.php:\d+$/ },
    ],
  },
  {
    name: 'pool_near_limit',
    summary:
      'pm.max_children = 5 (the default) with 4 requests held busy while diagnosed: the status page shows 80 % of the workers active',
    cause: 'pool_tuning',
    settings: { ...HEALTHY, hold: 4 },
    traffic: [home],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/ HTTP\/1\.1" 200 / }],
  },
  {
    name: 'hostile_host',
    summary:
      "all at once: the look-alike masters of fake_masters, a broken second stack started first, both containers' masters, and the shop vhost on TLS with its backend down (web-01 answers 200)",
    cause: 'proxy_upstream_down',
    settings: { ...HEALTHY, intruders: true, secondStack: 'broken-first', containers: true, shop: 'broken' },
    ...SHOP_UPSTREAM_DOWN,
  },
  {
    name: 'stray_fpm_beside_stack',
    summary:
      "one nginx and two php-fpm masters: the lab's pool socket is root:root 0600, and a stray second php-fpm (its own config and socket, no nginx points at it) runs beside it",
    cause: 'socket_permission',
    settings: { ...HEALTHY, pool: { ...HEALTHY_POOL, socketAccess: 'root-only' }, strayFpm: true },
    traffic: [home],
    status: 502,
    expect: [{ log: 'nginxError', pattern: /connect\(\) to unix:\S+php8\.2-fpm\.sock failed \(13: Permission denied\)/ }],
  },
  {
    name: 'proxy_stack_beside_php',
    summary:
      'a second nginx with no PHP, whose only proxy_pass backend is down (502s), beside the healthy lab stack and its Node backend; the inventory pins the healthy one',
    cause: 'healthy',
    settings: { ...HEALTHY, secondStack: 'proxy-broken' },
    traffic: [home, { path: '/api/', count: 2 }],
    status: 200,
    expect: [{ log: 'nginxAccess', pattern: /"GET \/api\/ HTTP\/1\.1" 200 / }],
  },
];

/** The name the shop vhost answers to, as its certificate and the probes say it. */
export const SHOP_NAME = 'shop.lab.test';

export const SCENARIOS: ReadonlyMap<ScenarioName, Scenario> = new Map(scenarios.map((s) => [s.name, s]));

export function scenario(name: ScenarioName): Scenario {
  const found = SCENARIOS.get(name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
}

export const HEALTHY_SETTINGS = HEALTHY;
