import type { NginxServer } from './host-picture.ts';
import { isExactName, serverLabel } from './nginx-servers.ts';

/** One probe of one virtual host, from the host itself: the URL by its name, connected to loopback. */
export interface VhostProbe {
  /** The virtual host, as the report names it. */
  server: string;
  /** `https://shop.example.com:8443/`: the name gives curl its Host header and TLS SNI. */
  url: string;
  /** curl's `--resolve name:port:address`, so that the name reaches this host's nginx, never DNS. */
  resolve: string;
}

export interface ProbePlan {
  probes: VhostProbe[];
  /** Virtual hosts not probed, each with why. */
  skipped: { server: string; reason: string }[];
}

/** At most this many virtual hosts are probed in one diagnosis (each probe is bounded in time too). */
export const MAX_VHOST_PROBES = 8;

/** The loopback address that reaches a listen address, or undefined when only another address does. */
function loopbackFor(address: string | undefined): string | undefined {
  if (address === undefined || address === '*' || address === '0.0.0.0' || address === 'localhost') return '127.0.0.1';
  if (address === '[::]' || address === '[::1]') return '[::1]';
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) return address;
  return undefined;
}

/**
 * Which URL to probe for each virtual host: its TLS listen if it has one (port 80 often only
 * redirects there), by its first exact server_name, resolved to loopback. A server without an
 * exact name is probed only where it is the default server of its port (a request for
 * `localhost` reaches it); one that listens only on a non-loopback address is not probed.
 */
export function planVhostProbes(servers: readonly NginxServer[], max = MAX_VHOST_PROBES): ProbePlan {
  const plan: ProbePlan = { probes: [], skipped: [] };
  const defaultOf = new Map<number, NginxServer>();
  for (const s of servers) for (const l of s.listens) if (l.defaultServer && !defaultOf.has(l.port)) defaultOf.set(l.port, s);
  for (const s of servers) for (const l of s.listens) if (!defaultOf.has(l.port)) defaultOf.set(l.port, s);
  const seen = new Set<string>();
  for (const server of servers) {
    const label = serverLabel(server);
    const listen = server.listens.find((l) => l.ssl) ?? server.listens[0];
    if (listen === undefined) continue;
    const address = loopbackFor(listen.address);
    if (address === undefined) {
      plan.skipped.push({ server: label, reason: `listens only on ${listen.address ?? '?'}:${listen.port}, not on loopback` });
      continue;
    }
    let name = server.names.find(isExactName);
    if (name === undefined) {
      if (defaultOf.get(listen.port) !== server) {
        plan.skipped.push({ server: label, reason: `no exact server_name, and not the default server of port ${listen.port}` });
        continue;
      }
      name = 'localhost';
    }
    const scheme = listen.ssl ? 'https' : 'http';
    const port = (scheme === 'https' && listen.port === 443) || (scheme === 'http' && listen.port === 80) ? '' : `:${listen.port}`;
    const url = `${scheme}://${name}${port}/`;
    if (seen.has(url)) continue;
    seen.add(url);
    if (plan.probes.length >= max) {
      plan.skipped.push({ server: label, reason: `more than ${max} virtual hosts: not probed` });
      continue;
    }
    plan.probes.push({ server: label, url, resolve: `${name}:${listen.port}:${address}` });
  }
  return plan;
}
