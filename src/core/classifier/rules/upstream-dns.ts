import type { NginxUpstreamRef } from '../../discovery/host-picture.ts';
import type { Finding } from '../../finding.ts';
import { clean, directiveLines, historyFinding, listOf, plural, splitByTime } from '../advice.ts';
import type { ClassifierContext } from '../context.ts';
import { buildEvidence, located } from '../evidence.ts';
import { parseNginxTarget } from '../upstream-address.ts';
import type { NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

// `backend.internal could not be resolved (3: Host not found)`, `no resolver defined to resolve api.example.com`,
// `host not found in upstream "app:8000" in /etc/nginx/conf.d/app.conf:12` (at start or reload).
const UNRESOLVED =
  /^(?:(\S{1,253}) could not be resolved \((\d+): [^)]*\)|no resolver defined to resolve "?([^\s",]{1,253})|host not found in (?:resolver|upstream) "([^"]{1,300})")/;

// `recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:53`: the resolver itself does not answer.
const RESOLVER_DOWN = /^\w{1,20}\(\) failed \(\d+: [^)]*\) while resolving, resolver: (\S{1,300})/;

const resolverOf = (e: NginxErrorEntry): string | undefined => RESOLVER_DOWN.exec(e.message)?.[1];

const nameOf = (e: NginxErrorEntry): string | undefined => {
  const m = UNRESOLVED.exec(e.message);
  return m === null ? undefined : (m[1] ?? m[3] ?? m[4]);
};

/** The host name of a pass target nginx resolves itself, or undefined for an address, a socket, a variable or localhost (which never moves). */
function hostName(u: NginxUpstreamRef): string | undefined {
  if (u.target.includes('$')) return undefined;
  const e = parseNginxTarget(u.target);
  const host = e?.kind === 'tcp' ? e.host : e?.kind === 'name' ? e.name : undefined;
  if (host === undefined || host.includes(':') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host)) return undefined;
  return /^localhost\.?$|\.localhost\.?$/i.test(host) ? undefined : host;
}

/**
 * The backends nginx looked up once, when it loaded its configuration: a host name in
 * proxy_pass (fastcgi_pass, uwsgi_pass) without a variable, or in an upstream block's `server`
 * without `resolve`. A `resolver` does not change that; only a variable or `resolve` does.
 */
function resolvedOnce(ctx: ClassifierContext): { name: string; ref: NginxUpstreamRef }[] {
  const out: { name: string; ref: NginxUpstreamRef }[] = [];
  for (const ref of ctx.picture.nginx.upstreams) {
    const name = hostName(ref);
    if (name !== undefined && ref.resolve !== true && !out.some((o) => o.name === name && o.ref.line === ref.line)) out.push({ name, ref });
  }
  return out;
}

/** A config-only warning: the names resolved once, and how to make nginx follow their address. */
function staleNameWarning(ctx: ClassifierContext, resolvers: readonly string[]): Finding | undefined {
  const once = resolvedOnce(ctx);
  if (once.length === 0) return undefined;
  const names = [...new Set(once.map((o) => clean(o.name, 200)))];
  const direct = once.find((o) => o.ref.upstream === undefined);
  const inBlock = once.find((o) => o.ref.upstream !== undefined);
  const steps: string[] = [];
  if (direct !== undefined) {
    const target = clean(direct.ref.target, 200);
    steps.push(
      `Resolve at run time: resolver <your DNS server> valid=30s; (127.0.0.53 with systemd-resolved, 127.0.0.11 in Docker) and a variable in the pass: set $backend ${target}; ${direct.ref.kind}_pass $backend; (with a variable nginx passes the request URI as it came)`,
    );
  }
  if (inBlock !== undefined) {
    const server = parseNginxTarget(inBlock.ref.target);
    const address = server?.kind === 'tcp' ? `${inBlock.name}:${server.port}` : inBlock.name;
    steps.push(
      `In upstream ${clean(inBlock.ref.upstream ?? '', 100)}: zone ${clean(inBlock.ref.upstream ?? 'backend', 100)} 64k; and server ${clean(address, 200)} resolve; with a resolver in the http block (nginx ≥ 1.27.3; earlier versions need a variable in the pass instead)`,
    );
  }
  steps.push("Until then, reload nginx whenever the backend's address changes (a deploy hook)");
  return {
    cause: 'upstream_dns',
    severity: 'warning',
    title: `nginx resolved ${listOf(names)} once, when it loaded its configuration: when ${names.length === 1 ? 'its address changes' : 'their addresses change'}, requests go to the old address (502) until nginx reloads`,
    evidence: buildEvidence([], [...new Set(once.map((o) => located(o.ref.line, o.ref.file))), ...resolvers]),
    explanation:
      "nginx looks up a host name written in proxy_pass (or in an upstream block's server) once, when it starts or reloads, and keeps that address for as long as it runs. " +
      (resolvers.length === 0
        ? 'No resolver is configured (nginx -T has no resolver directive), so nothing makes it look again. '
        : 'A resolver is configured, but nginx uses it only for names in variables or servers marked resolve, which these are not. ') +
      "When the backend moves (a container recreated, a cloud load balancer's addresses rotating, a DNS failover), nginx keeps connecting to the old address and answers 502. The site is not failing because of it now.",
    nextSteps: steps,
    remediations: [],
    current: true,
  };
}

/** `upstream_dns`: nginx cannot turn the backend's name into an address. */
export const upstreamDns: Rule = {
  cause: 'upstream_dns',
  claims: (e) => UNRESOLVED.test(e.message) || RESOLVER_DOWN.test(e.message),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const resolvers = directiveLines(ctx, ['resolver', 'resolver_timeout']);
    const names = [...new Set(current.flatMap((e) => nameOf(e) ?? []))].map((n) => clean(n, 200));
    if (current.length > 0) {
      const noResolver = current.some((e) => /^no resolver defined/.test(e.message));
      const unreachable = [...new Set(current.flatMap((e) => resolverOf(e) ?? []))].map((r) => clean(r, 120));
      if (names.length === 0 && unreachable.length > 0) {
        findings.push({
          cause: 'upstream_dns',
          severity: 'critical',
          title: `nginx cannot reach its resolver ${listOf(unreachable)} (${plural(current.length, 'lookup')} failed in the last ${span(ctx.windowMs)})`,
          evidence: buildEvidence(current, resolvers),
          explanation:
            'nginx resolves names at run time (proxy_pass with a variable, servers with `resolve`) through the address in its `resolver` directive. That resolver refused or did not answer, so those names cannot be resolved and the requests that need them fail with 502.',
          nextSteps: [
            `Check that a DNS server answers there: dig @${unreachable[0]?.replace(/:53$/, '').replace(/^\[(.*)\]$/, '$1') ?? '<resolver>'} <backend name>`,
            'Point resolver at one that answers, then reload nginx: 127.0.0.53 (systemd-resolved), 127.0.0.11 inside Docker, the cluster DNS in Kubernetes',
          ],
          remediations: [],
          current: true,
        });
        return findings;
      }
      const atStart = current.every((e) => /^host not found in/.test(e.message));
      const title = noResolver
        ? `nginx has no resolver to look up ${listOf(names)} (${plural(current.length, 'request')} failed in the last ${span(ctx.windowMs)})`
        : atStart
          ? `nginx could not resolve ${listOf(names)} when it loaded its configuration`
          : `nginx cannot resolve the backend ${listOf(names)} (${plural(current.length, 'lookup')} failed in the last ${span(ctx.windowMs)})`;
      const explanation = noResolver
        ? 'proxy_pass uses a variable (or a name resolved per request), and nginx resolves such names at run time only through a `resolver` directive; without one every request to it fails with 502.'
        : atStart
          ? 'nginx resolves the names in proxy_pass and upstream blocks once, when it starts or reloads. It could not, so the configuration did not load (a reload keeps the old one, a start fails).'
          : "nginx asked its resolver for the backend's address and got no answer (Host not found, Server failure, or a timeout), so it has nowhere to send the request. A name resolved once at start goes stale when the backend's address changes (containers, cloud load balancers); resolving at run time needs a working resolver.";
      findings.push({
        cause: 'upstream_dns',
        severity: 'critical',
        title,
        evidence: buildEvidence(current, resolvers),
        explanation,
        nextSteps: noResolver
          ? [
              'Add a resolver nginx can reach where the proxy_pass is: resolver 127.0.0.53 valid=30s; (systemd-resolved) or the VPC/cluster DNS, then reload nginx',
            ]
          : [
              `Check the name from the host: getent hosts ${names[0] ?? '<name>'} (and dig @<resolver> for nginx's resolver)`,
              'Fix the DNS record or the resolver; for backends whose address changes, resolve at run time: resolver … valid=30s; and server <name> resolve; in the upstream block (nginx ≥ 1.27.3) or proxy_pass with a variable',
            ],
        remediations: [],
        current: true,
      });
    } else {
      // No lookup fails now: what the configuration says about names resolved only once.
      const stale = staleNameWarning(ctx, resolvers);
      if (stale !== undefined) findings.push(stale);
    }
    if (current.length === 0 && old.length > 0) {
      findings.push(
        historyFinding(
          ctx,
          'upstream_dns',
          `nginx could not resolve the backend ${listOf([...new Set(old.flatMap((e) => nameOf(e) ?? []))].map((n) => clean(n, 200)))}`,
          old,
          resolvers,
        ),
      );
    }
    return findings;
  },
};
