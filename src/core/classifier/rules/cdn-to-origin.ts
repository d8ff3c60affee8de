import type { NginxServer } from '../../discovery/host-picture.ts';
import type { Finding } from '../../finding.ts';
import { clean, commands } from '../advice.ts';
import type { ClassifierContext, OriginProbe } from '../context.ts';
import { probeAnswered } from '../parse/http-probe.ts';
import { explainsNow } from './unknown-502.ts';

/** Cloudflare's 52x codes, each against what the origin answers (the seed's "Can Cloudflare cause 502 errors?"). */
export const CLOUDFLARE_CODES =
  "Cloudflare's codes, against the origin: 520 empty or invalid answer; 521 connection refused (nginx not on the public address, a firewall rejecting Cloudflare); " +
  '522 connect timeout (a firewall dropping Cloudflare, an overloaded host); 523 origin unreachable (DNS record, routing); 524 no answer within 100 s (a slow request); ' +
  '525 TLS handshake failed (mode Full: no certificate or no server for the name); 526 certificate invalid under Full (strict) (expired, self-signed, another name; a Cloudflare Origin CA one is valid). ' +
  'A Cloudflare-branded 502/504 page is the CDN failing to use the origin; nginx\'s plain "502 Bad Gateway" page is the origin\'s own.';

interface UrlParts {
  scheme: string;
  host: string;
  port: number;
}

function partsOf(url: string): UrlParts | undefined {
  if (!URL.canParse(url)) return undefined;
  const u = new URL(url);
  const scheme = u.protocol.replace(':', '');
  return { scheme, host: u.hostname, port: u.port === '' ? (scheme === 'https' ? 443 : 80) : Number(u.port) };
}

const nameMatches = (name: string, host: string): boolean =>
  name === host ||
  (name.startsWith('*.') && host.endsWith(name.slice(1))) ||
  (name.startsWith('.') && (host === name.slice(1) || host.endsWith(name)));

/** The server block that answers the name on that port, if one names it; else none (the port's default server answers). */
function serverFor(servers: readonly NginxServer[], p: UrlParts): NginxServer | undefined {
  return servers.find((s) => s.listens.some((l) => l.port === p.port) && s.names.some((n) => nameMatches(n.toLowerCase(), p.host)));
}

/** What nginx's config says about the URL's name and port, as evidence. */
function configLines(ctx: ClassifierContext, p: UrlParts): string[] {
  if (!ctx.picture.nginx.configRead) return [];
  const listens = ctx.picture.nginx.servers.flatMap((s) => s.listens.filter((l) => l.port === p.port));
  if (listens.length === 0)
    return [`nginx has no listen on port ${p.port}: nothing of this origin serves ${p.scheme}://${p.host}:${p.port}`];
  const lines: string[] = [];
  if (p.scheme === 'https' && !listens.some((l) => l.ssl))
    lines.push(`nginx listens on port ${p.port} without ssl: https to it fails (Cloudflare: 525)`);
  const server = serverFor(ctx.picture.nginx.servers, p);
  if (server === undefined) lines.push(`no server block names ${p.host} on port ${p.port}: the port's default server answers it`);
  else
    lines.push(
      `server ${clean(server.names.join(' '), 120)} answers ${p.host} on port ${p.port}${server.file === undefined ? '' : ` (${clean(server.file, 200)})`}`,
    );
  const elsewhere = listens.filter((l) => l.address !== undefined && !/^(?:\*|0\.0\.0\.0|\[::\]|127\.|\[::1\]|localhost)/.test(l.address));
  if (elsewhere.length > 0)
    lines.push(
      `nginx listens on ${clean(elsewhere[0]?.address ?? '', 60)}:${p.port} only: the probe on 127.0.0.1 cannot reach it (lower confidence)`,
    );
  return lines;
}

/** What a probe that got no HTTP answer means in front of a CDN. */
function noAnswer(o: OriginProbe): { code: string; what: string } {
  const e = o.error ?? '';
  if (/\(7\)|Connection refused|Couldn't connect/i.test(e)) return { code: '521', what: 'the origin refuses the connection' };
  if (/\(35\)|SSL|TLS|wrong version/i.test(e)) return { code: '525', what: 'the TLS handshake with the origin fails' };
  if (/\(52\)|Empty reply/i.test(e)) return { code: '520', what: 'the origin closes the connection without an answer' };
  if (/\(56\)|reset/i.test(e)) return { code: '520', what: 'the origin resets the connection' };
  if (/\(28\)/.test(e) && /0 bytes received|Operation timed out/i.test(e))
    return { code: '524', what: 'the origin takes the request but sends no answer in time' };
  if (/\(28\)/.test(e)) return { code: '522', what: 'the connection to the origin times out' };
  return { code: '52x', what: 'the origin gives no HTTP answer' };
}

/**
 * The public URL that failed, read against what this host's own nginx answered for it:
 * - no answer at all: `cdn_to_origin`, critical, with the Cloudflare code it produces (521, 522, 525…);
 * - an answer (2xx–4xx): `cdn_to_origin`, a warning: the 52x is made between the CDN and this host;
 * - a 5xx: the origin's own error; the findings that explain it say so, or `unknown_502` does.
 */
export function readOrigin(ctx: ClassifierContext, findings: Finding[]): Finding[] {
  const o = ctx.origin;
  if (o === undefined) return findings;
  const p = partsOf(o.url);
  if (p === undefined) return findings;
  const url = clean(o.url, 300);
  const config = configLines(ctx, p);
  const verify =
    o.sslVerify !== undefined && o.sslVerify !== 0
      ? [
          `ssl_verify_result=${o.sslVerify}: the certificate nginx serves for ${p.host} does not verify against this host's CAs (Full (strict) gives 526, unless it is a Cloudflare Origin CA certificate)`,
        ]
      : [];
  const ask = `From outside, look at what the public URL returns: curl -sI ${url} (a "server: cloudflare" answer with a cf-ray header and a 52x is the CDN's; compare its time with nginx's access log here)`;
  if (o.code === 0) {
    const n = noAnswer(o);
    return [
      ...findings,
      {
        cause: 'cdn_to_origin',
        severity: 'critical',
        title: `The origin gives no answer for ${url} on this host: ${n.what} (behind Cloudflare: ${n.code})`,
        evidence: [clean(o.line), ...(o.error === undefined ? [] : [clean(o.error)]), ...config.map((l) => clean(l))],
        explanation: `Asked on this host by its own name, scheme and port, nginx gave no HTTP answer: ${n.what}; a CDN in front gets the same and shows its own error page. ${CLOUDFLARE_CODES}`,
        nextSteps: [
          `Make nginx serve ${p.scheme}://${p.host}:${p.port}: a server block with server_name ${p.host} and listen ${p.port}${p.scheme === 'https' ? ' ssl (with a certificate for the name)' : ''}, then ${commands.reloadNginx(ctx)}`,
          `See what listens there: sudo ss -ltnp | grep ':${p.port} '`,
          ask,
        ],
        remediations: [],
        current: true,
      },
    ];
  }
  if (probeAnswered(o.code)) {
    return [
      ...findings,
      {
        cause: 'cdn_to_origin',
        severity: 'warning',
        title: `The origin answers ${o.code} for ${url} on this host: a 502/52x at that URL comes from in front of it (CDN, firewall, TLS mode)`,
        evidence: [clean(o.line), ...verify.map((l) => clean(l)), ...config.map((l) => clean(l))],
        explanation: `Asked on this host by its own name, scheme and port (nothing left the host), nginx answers ${o.code}: the origin serves the URL, so a 502/52x users see is made between the CDN and this host. ${CLOUDFLARE_CODES}`,
        nextSteps: [
          ask,
          "Allow the CDN's addresses to this host's ports 80 and 443 in every firewall in between (Cloudflare publishes them at https://www.cloudflare.com/ips/): a firewall that drops them gives 522, one that refuses gives 521",
          `Check the zone's SSL/TLS mode against the origin: Full (strict) needs a certificate valid for ${p.host} here (526 otherwise), Full needs TLS on the origin's 443 (525), Flexible talks plain HTTP to port 80`,
          'A 524 is a request slower than 100 s: look at the slow requests of the access log, or move them off the proxied hostname',
        ],
        remediations: [],
        current: true,
      },
    ];
  }
  // The origin's own 5xx: say so on what explains it.
  const said = `The origin itself answers ${o.code} for ${url} (asked on this host by that name): behind a CDN, the ${o.code} users see is this host's own, passed through, so the fix is here (Cloudflare's own 520-526 would mean the CDN could not use the origin).`;
  let annotated = false;
  const out = findings.map((f) => {
    if (!explainsNow(f) && !(f.cause === 'unknown_502' && f.current && f.severity !== 'info')) return f;
    annotated = true;
    return { ...f, evidence: [...f.evidence, clean(o.line)], explanation: `${said} ${f.explanation}` };
  });
  if (annotated) return out;
  return [
    ...out,
    {
      cause: 'unknown_502',
      severity: o.code === 502 || o.code === 504 ? 'critical' : 'warning',
      title: `The origin answers ${o.code} for ${url} on this host, and no rule explains why`,
      evidence: [clean(o.line), ...config.map((l) => clean(l))],
      explanation:
        `${said} ${o.code === 502 || o.code === 504 ? '' : `${o.code} is not a gateway error: it comes from the application (500) or from nginx's limits or maintenance mode (503).`}`.trim(),
      nextSteps: ["Read nginx's error log and the application's log at the time of the probe"],
      remediations: [],
      current: true,
    },
  ];
}
