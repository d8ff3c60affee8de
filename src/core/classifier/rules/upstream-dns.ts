import type { Finding } from '../../finding.ts';
import { clean, directiveLines, historyFinding, listOf, plural, splitByTime } from '../advice.ts';
import { buildEvidence } from '../evidence.ts';
import type { NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

// `backend.internal could not be resolved (3: Host not found)`, `no resolver defined to resolve api.example.com`,
// `host not found in upstream "app:8000" in /etc/nginx/conf.d/app.conf:12` (at start or reload).
const UNRESOLVED = /^(?:(\S{1,253}) could not be resolved \((\d+): [^)]*\)|no resolver defined to resolve "?([^\s",]{1,253})|host not found in (?:resolver|upstream) "([^"]{1,300})")/;

// `recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:53`: the resolver itself does not answer.
const RESOLVER_DOWN = /^\w{1,20}\(\) failed \(\d+: [^)]*\) while resolving, resolver: (\S{1,300})/;

const resolverOf = (e: NginxErrorEntry): string | undefined => RESOLVER_DOWN.exec(e.message)?.[1];

const nameOf = (e: NginxErrorEntry): string | undefined => {
  const m = UNRESOLVED.exec(e.message);
  return m === null ? undefined : (m[1] ?? m[3] ?? m[4]);
};

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
          : 'nginx asked its resolver for the backend\'s address and got no answer (Host not found, Server failure, or a timeout), so it has nowhere to send the request. A name resolved once at start goes stale when the backend\'s address changes (containers, cloud load balancers); resolving at run time needs a working resolver.';
      findings.push({
        cause: 'upstream_dns',
        severity: 'critical',
        title,
        evidence: buildEvidence(current, resolvers),
        explanation,
        nextSteps: noResolver
          ? ['Add a resolver nginx can reach where the proxy_pass is: resolver 127.0.0.53 valid=30s; (systemd-resolved) or the VPC/cluster DNS, then reload nginx']
          : [
              `Check the name from the host: getent hosts ${names[0] ?? '<name>'} (and dig @<resolver> for nginx's resolver)`,
              'Fix the DNS record or the resolver; for backends whose address changes, resolve at run time: resolver … valid=30s; and server <name> resolve; in the upstream block (nginx ≥ 1.27.3) or proxy_pass with a variable',
            ],
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'upstream_dns', `nginx could not resolve the backend ${listOf([...new Set(old.flatMap((e) => nameOf(e) ?? []))].map((n) => clean(n, 200)))}`, old, resolvers));
    }
    return findings;
  },
};
