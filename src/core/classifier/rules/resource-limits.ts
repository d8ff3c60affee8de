import type { Finding } from '../../finding.ts';
import { directiveLines, endpointsOf, historyFinding, listenerName, listenerUnit, listOf, plural, splitByTime } from '../advice.ts';
import { backendStory } from '../backend-story.ts';
import type { ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi, type NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

type Limit = 'ports' | 'files' | 'connections' | 'backlog';

function limitOf(e: NginxErrorEntry): Limit | undefined {
  // On [::1] EADDRNOTAVAIL means a host without IPv6 loopback (a container), not exhausted ports: proxy_upstream_down's.
  if (e.errno === 99 && /^connect\(\)/.test(e.message) && !(e.endpoint?.kind === 'tcp' && e.endpoint.host === '::1')) return 'ports';
  if (e.errno === 24) return 'files';
  if (/worker_connections are not enough/.test(e.message)) return 'connections';
  // EAGAIN from a non-PHP backend's socket: its listen backlog is full (PHP-FPM's is max_children_exhausted's).
  if (e.errno === 11 && /^connect\(\)/.test(e.message) && e.scheme !== undefined && !isFastcgi(e)) return 'backlog';
  return undefined;
}

const ADVICE: Record<Limit, { title: string; why: string; steps: (ctx: ClassifierContext) => string[] }> = {
  ports: {
    title: 'nginx ran out of local ports to reach the backend (99: Cannot assign requested address)',
    why: 'Every new upstream connection takes a local port from net.ipv4.ip_local_port_range (about 28 000), and each closed one stays in TIME_WAIT for 60 s. Without upstream keep-alive, a busy proxy uses them up and connect() fails before reaching the backend.',
    steps: () => [
      'Reuse upstream connections: in the upstream block keepalive 32; and in the location proxy_http_version 1.1; proxy_set_header Connection "";',
      'See the TIME_WAIT count: ss -s; and the range: cat /proc/sys/net/ipv4/ip_local_port_range',
      'If still short, widen the range: sysctl -w net.ipv4.ip_local_port_range="10240 65000" (and persist it in /etc/sysctl.d/)',
    ],
  },
  files: {
    title: 'nginx ran out of file descriptors (24: Too many open files)',
    why: 'Each client connection and each upstream connection is a file descriptor; the worker hit its RLIMIT_NOFILE, so it cannot accept clients or open connections to the backend.',
    steps: (ctx) => [
      "Raise the workers' limit: worker_rlimit_nofile 65535; in the main context (at least 2 × worker_connections), then reload nginx",
      `Under systemd also LimitNOFILE=65535 in a drop-in of nginx's unit; check what applies: grep 'Max open files' /proc/${ctx.picture.nginx.masterPid ?? '<nginx master pid>'}/limits`,
    ],
  },
  connections: {
    title: "nginx's workers ran out of connections (worker_connections are not enough)",
    why: 'worker_connections caps the connections of each worker, clients and upstreams together (a proxied request takes two). At the cap nginx drops new work, which clients see as errors or 502s.',
    steps: () => [
      'Raise worker_connections in the events block (e.g. 4096) and worker_rlimit_nofile to at least twice that, then reload nginx',
      'Look for what holds connections open (WebSockets, slow clients, slow backends)',
    ],
  },
  backlog: {
    title: "the backend's listen queue is full (11: Resource temporarily unavailable)",
    why: "The backend's listening socket has no room left in its accept queue: every worker is busy and the backlog (gunicorn --backlog, uWSGI --listen, net.core.somaxconn) is full, so nginx cannot even connect.",
    steps: () => [
      'Give the backend more workers or make its requests faster; raise its backlog (gunicorn --backlog 2048, uWSGI listen = 1024) together with net.core.somaxconn',
      "Watch the queue: sudo ss -lnx (Recv-Q of the backend's socket) or ss -ltn for a TCP backend",
    ],
  },
};

const DIRECTIVES = ['worker_connections', 'worker_rlimit_nofile', 'keepalive', 'proxy_http_version'];

/** `resource_limits`: nginx hit an operating-system or configured limit on its connections, not a backend failure. */
export const resourceLimits: Rule = {
  cause: 'resource_limits',
  claims: (e) => limitOf(e) !== undefined,
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const config = [...directiveLines(ctx, DIRECTIVES), ...ctx.limits.map((l) => l.line)];
    const kinds = [...new Set(current.flatMap((e) => limitOf(e) ?? []))];
    for (const kind of kinds) {
      const lines = current.filter((e) => limitOf(e) === kind);
      const a = ADVICE[kind];
      const where = listOf(endpointsOf(lines));
      // A full backlog is the backend's: name it, and quote its own "listen queue full" lines where its journal has them.
      const endpoint = kind === 'backlog' ? lines[0]?.endpoint : undefined;
      const who = endpoint === undefined ? undefined : listenerName(ctx, endpoint);
      const story = endpoint === undefined ? { lines: [] } : backendStory(ctx, ['queue_full'], listenerUnit(ctx, endpoint));
      findings.push({
        cause: 'resource_limits',
        severity: 'critical',
        title: `${a.title}${where === '' ? '' : ` connecting to ${who === undefined ? where : `${who} at ${where}`}`}: ${plural(lines.length, 'line')} in the last ${span(ctx.windowMs)}`,
        evidence: buildEvidence(lines, [...story.lines, ...config]),
        explanation: `${a.why} The backend is not the cause: raising the limit, or using fewer connections, is.`,
        nextSteps: a.steps(ctx),
        remediations: [],
        current: true,
      });
    }
    if (current.length === 0 && old.length > 0)
      findings.push(
        historyFinding(ctx, 'resource_limits', 'nginx hit a connection limit (ports, file descriptors or worker_connections)', old, config),
      );
    return findings;
  },
};
