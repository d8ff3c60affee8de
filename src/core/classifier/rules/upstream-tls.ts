import type { Finding } from '../../finding.ts';
import { clean, directiveLines, endpointsOf, historyFinding, listOf, plural, splitByTime } from '../advice.ts';
import { buildEvidence } from '../evidence.ts';
import type { NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';

const TLS_DIRECTIVES = [
  'proxy_ssl_verify',
  'proxy_ssl_server_name',
  'proxy_ssl_name',
  'proxy_ssl_trusted_certificate',
  'proxy_ssl_verify_depth',
  'proxy_ssl_protocols',
];

/** The handshake nginx makes as a client of an https:// (or grpcs://) upstream, and its verification of the backend's certificate. */
export const isUpstreamTls = (e: NginxErrorEntry): boolean =>
  /while SSL handshaking to upstream|^upstream SSL certificate /.test(e.message);

interface Kind {
  test: RegExp;
  what: string;
  why: string;
  steps: string[];
}

// Most specific first: what OpenSSL said decides the fix.
const KINDS: readonly Kind[] = [
  {
    test: /wrong version number|unknown protocol|packet length too long|http request/,
    what: 'the backend does not speak TLS on that port',
    why: 'nginx sent a TLS ClientHello and got plain HTTP back (OpenSSL: "wrong version number" / "unknown protocol"): proxy_pass says https:// but the backend listens for plain HTTP there.',
    steps: [
      'Use proxy_pass http://… for a plain-HTTP backend (or point https:// at the port where the backend serves TLS), then reload nginx',
    ],
  },
  {
    test: /certificate verify error|certificate does not match|certificate has expired|self.signed certificate|unable to get local issuer/,
    what: "nginx does not trust the backend's certificate",
    why: 'proxy_ssl_verify is on and the certificate the backend presents fails verification: an unknown or private CA, a self-signed certificate, an expired one, or a name that does not match proxy_ssl_name.',
    steps: [
      "Give nginx the CA that signed the backend's certificate: proxy_ssl_trusted_certificate /etc/ssl/certs/<ca>.pem; (and proxy_ssl_verify_depth for intermediate CAs)",
      'If the name does not match: proxy_ssl_name <name in the certificate>; proxy_ssl_server_name on;',
      'Read what the backend presents: openssl s_client -connect <backend>:443 -servername <name> </dev/null',
    ],
  },
  {
    test: /alert number 40|handshake failure|alert unrecognized name|alert number 112/,
    what: 'the backend refused the handshake (no SNI, or no common protocol or cipher)',
    why: 'The backend answered the ClientHello with a handshake_failure alert. nginx sends no SNI to upstreams unless proxy_ssl_server_name is on, and backends behind a CDN or with several certificates refuse a handshake without it; otherwise the protocols or ciphers have nothing in common.',
    steps: [
      'Send SNI: proxy_ssl_server_name on; proxy_ssl_name <backend host name>; then reload nginx',
      'If that is set, compare proxy_ssl_protocols / proxy_ssl_ciphers with what the backend accepts',
    ],
  },
  {
    test: /peer closed connection in SSL handshake/,
    what: 'the backend hung up during the TLS handshake',
    why: 'The backend closed the connection in the middle of the handshake: typically it wants SNI (proxy_ssl_server_name on), accepts no protocol nginx offers, or is overloaded and drops connections.',
    steps: [
      'Send SNI: proxy_ssl_server_name on; proxy_ssl_name <backend host name>;',
      "Check the backend's own TLS log at the times in the evidence",
    ],
  },
];

const GENERIC: Kind = {
  test: /./,
  what: 'the TLS handshake with the backend failed',
  why: 'nginx could not complete the TLS handshake with the https:// backend, so there is no connection to send the request over and the client gets 502.',
  steps: [
    "Read the OpenSSL reason in the evidence, and the backend's TLS configuration",
    'openssl s_client -connect <backend>:443 -servername <name> </dev/null shows what the backend presents',
  ],
};

const kindOf = (e: NginxErrorEntry): Kind => KINDS.find((k) => k.test.test(e.message)) ?? GENERIC;

/** `upstream_tls`: nginx could not set up TLS to an https:// backend; until now these lines were dropped from the evidence. */
export const upstreamTls: Rule = {
  cause: 'upstream_tls',
  claims: isUpstreamTls,
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const findings: Finding[] = [];
    const config = directiveLines(ctx, TLS_DIRECTIVES);
    if (current.length > 0) {
      const newest = [...current].sort((a, b) => (b.at ?? 0) - (a.at ?? 0))[0] as NginxErrorEntry;
      const kind = kindOf(newest);
      findings.push({
        cause: 'upstream_tls',
        severity: 'critical',
        title: `TLS to the backend ${listOf(endpointsOf(current))} fails: ${kind.what} (${plural(current.length, 'request')} in the last ${span(ctx.windowMs)})`,
        evidence: buildEvidence(current, config),
        explanation: `${kind.why} Fix the TLS settings of the upstream, not the backend's application.`,
        nextSteps: [...kind.steps, `See the whole reason: ${clean(newest.message, 200)}`].slice(0, 4),
        remediations: [],
        current: true,
      });
    } else if (old.length > 0) {
      findings.push(historyFinding(ctx, 'upstream_tls', `TLS to the backend ${listOf(endpointsOf(old))} failed`, old, config));
    }
    return findings;
  },
};
