/**
 * The public URL that failed (`/502 diagnose web-01 https://shop.example/checkout`, an alert's
 * `url`), made safe to probe on the origin. It is user input: it only ever becomes the name,
 * port and path of the one fixed curl probe, connected to the host's own loopback with
 * `--resolve`, so that nginx sees the URL's Host and SNI and no request leaves the host.
 * Anything but a plain http(s) URL of ordinary characters is refused with the reason, before
 * anything runs.
 */
export interface PublicUrl {
  /** Normalised: lower-case name, the port only when it is not the scheme's default, no fragment. */
  url: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Path and query as sent (`/checkout?step=2`). */
  path: string;
  /** curl's `--resolve name:port:127.0.0.1`. */
  resolve: string;
}

export type PublicUrlResult = { ok: true; value: PublicUrl } | { ok: false; reason: string };

/** Longer than any URL a person pastes; a bound on what reaches a command line and a report. */
export const MAX_PUBLIC_URL_LENGTH = 1024;

/** Characters a path or query may hold: RFC 3986's unreserved and a few sub-delims, and %-escapes. No quotes, `;`, `$`, backticks, `|`, `<`, `>`, `\`, spaces. */
const PATH_CHARS = /^[A-Za-z0-9._~%/?=&+,:@-]*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

const refuse = (reason: string): PublicUrlResult => ({ ok: false, reason });

/** Slack sends links as `<https://x/y>` or `<https://x/y|x/y>`, and `&` as `&amp;`. */
function unwrapSlack(text: string): string {
  let t = text.trim();
  const link = /^<([^<>|]{1,2048})(?:\|[^<>]{0,2048})?>$/.exec(t);
  if (link !== null) t = link[1] as string;
  return t.replaceAll('&amp;', '&');
}

/** Checks and normalises a public URL to probe on the origin; never throws. */
export function parsePublicUrl(input: string): PublicUrlResult {
  if (input.length > MAX_PUBLIC_URL_LENGTH * 2) return refuse(`is longer than ${MAX_PUBLIC_URL_LENGTH} characters`);
  const text = unwrapSlack(input);
  if (text.length > MAX_PUBLIC_URL_LENGTH) return refuse(`is longer than ${MAX_PUBLIC_URL_LENGTH} characters`);
  // Control characters (newlines, NUL, escapes) and whitespace end the question here.
  if ([...text].some((c) => c.charCodeAt(0) <= 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f)))
    return refuse('contains whitespace or control characters (a newline?)');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]{0,30}):\/\//.exec(text);
  if (scheme === null) return refuse('is not an absolute URL: give it as https://name/path');
  const name = (scheme[1] as string).toLowerCase();
  if (name !== 'http' && name !== 'https')
    return refuse(`has the scheme ${JSON.stringify(name.slice(0, 20))}: only http:// and https:// URLs are probed`);
  const rest = text.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  let tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  if (authority.includes('@')) return refuse('holds a user name or password (user@host): give the URL without them');
  if (authority.startsWith('[')) return refuse("names an address, not the site's name: give the name the CDN sends as Host");
  const hp = /^([^:]*)(?::(\d{1,5}))?$/.exec(authority);
  if (hp === null) return refuse('has a host or port that is not a plain name and number');
  const host = (hp[1] as string).toLowerCase().replace(/\.$/, '');
  if (host === '') return refuse('has no host name');
  if (IPV4.test(host)) return refuse("names an address, not the site's name: give the name the CDN sends as Host");
  if (host.length > 253 || !host.split('.').every((l) => LABEL.test(l))) {
    return refuse('has a host name that is not letters, digits, "-" and dots (punycode for international names)');
  }
  const defaultPort = name === 'https' ? 443 : 80;
  const port = hp[2] === undefined ? defaultPort : Number(hp[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return refuse('has a port outside 1-65535');
  // The fragment never leaves the browser; it is dropped, not sent.
  const hash = tail.indexOf('#');
  if (hash >= 0) tail = tail.slice(0, hash);
  if (!PATH_CHARS.test(tail))
    return refuse(
      'has characters in its path or query that a plain URL does not need (quotes, ;, $, `, |, <, >, \\, spaces): %-encode them',
    );
  if (/%(?![0-9A-Fa-f]{2})/.test(tail)) return refuse('has a "%" that is not a %-escape');
  const path = tail === '' ? '/' : tail.startsWith('?') ? `/${tail}` : tail;
  const url = `${name}://${host}${port === defaultPort ? '' : `:${port}`}${path}`;
  if (!URL.canParse(url)) return refuse('is not a valid URL');
  return { ok: true, value: { url, scheme: name, host, port, path, resolve: `${host}:${port}:127.0.0.1` } };
}

/** Shows a refused URL in a message: cut, and with control characters made visible. */
export function showRefusedUrl(input: string): string {
  const cut = input.length > 80 ? `${input.slice(0, 80)}…` : input;
  return JSON.stringify(cut);
}
