import type { Dated } from '../evidence.ts';
import { localToEpoch } from '../time.ts';
import { parseNginxTarget, type Endpoint } from '../upstream-address.ts';
import { outputLines } from './lines.ts';

/** One entry of nginx's error log (an entry may span lines: FastCGI stderr is written as is). */
export interface NginxErrorEntry extends Dated {
  level: string;
  /** The text after `pid#tid: *conn `, up to `, client:`. */
  message: string;
  /** The errno in `(111: Connection refused)`. */
  errno?: number;
  /** The `upstream: "…"` field, e.g. `fastcgi://unix:/run/php/php8.2-fpm.sock:`. */
  upstream?: string;
  /** `fastcgi`, `http`, `https`, `uwsgi`, `scgi`, `grpc`. */
  scheme?: string;
  endpoint?: Endpoint;
}

const START = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\] \d+#\d+: (?:\*\d+ )?/;

/** Reads `tail` of nginx's error log; times are the host's local time. */
export function parseNginxErrorLog(text: string, utcOffsetMinutes: number): NginxErrorEntry[] {
  const entries: NginxErrorEntry[] = [];
  // The entry being read and its lines: continuation lines are gathered and the entry filled
  // once, when it ends (filling it again per line would cost the square of a long stderr dump).
  let open: { entry: NginxErrorEntry; lines: string[]; head: number } | undefined;
  const close = (): void => {
    if (open === undefined) return;
    open.entry.text = open.lines.join('\n');
    fill(open.entry, open.entry.text.slice(open.head));
    open = undefined;
  };
  for (const line of outputLines(text)) {
    const m = START.exec(line);
    if (m === null) {
      // A continuation of the previous entry (multi-line FastCGI stderr), or noise before the first entry.
      open?.lines.push(line);
      continue;
    }
    close();
    const at = localToEpoch(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), utcOffsetMinutes);
    const entry: NginxErrorEntry = { text: line, level: m[7] as string, message: '' };
    if (at !== undefined) entry.at = at;
    entries.push(entry);
    open = { entry, lines: [line], head: m[0].length };
  }
  close();
  return entries;
}

function fill(entry: NginxErrorEntry, rest: string): void {
  const client = rest.search(/, client: /);
  entry.message = client === -1 ? rest : rest.slice(0, client);
  const errno = /\((\d+): [^()]*\)/.exec(entry.message);
  if (errno !== null) entry.errno = Number(errno[1]);
  // The last upstream field: FastCGI stderr in the message may itself contain quotes.
  const at = rest.lastIndexOf(', upstream: "');
  if (at !== -1) {
    const start = at + ', upstream: "'.length;
    const end = rest.indexOf('"', start);
    entry.upstream = rest.slice(start, end === -1 ? undefined : end);
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry.upstream);
    if (scheme !== null) entry.scheme = (scheme[1] as string).toLowerCase();
    const endpoint = parseNginxTarget(entry.upstream);
    if (endpoint !== undefined) entry.endpoint = endpoint;
  }
}

/** Upstream failures: the lines a 502/504 leaves in the error log (not PHP's own errors sent on stderr). */
export const UPSTREAM_FAILURE =
  /(?:while connecting to upstream|while reading response header from upstream|while reading upstream|while sending request to upstream|no live upstreams|upstream sent|upstream prematurely closed|upstream timed out)/;

/**
 * The client's side of a proxied request: a body over client_max_body_size, a client that hung
 * up (499), a client-side TLS handshake. nginx writes "while sending request to upstream" on some
 * of them because that was the request's phase, yet no backend failed and no 502 was answered.
 */
const CLIENT_SIDE = /^(?:\w+\(\) reported that )?client (?:intended to send|prematurely closed|closed|timed out|sent)/;
const ON_CLIENT_CONNECTION =
  /^\w+\(\) failed \(\d+: [^)]*\) while (?:reading client request|sending to client|sending response to client|SSL handshaking$)/;

export const isClientSide = (e: NginxErrorEntry): boolean => CLIENT_SIDE.test(e.message) || ON_CLIENT_CONNECTION.test(e.message);

export const isUpstreamFailure = (e: NginxErrorEntry): boolean =>
  ['error', 'crit', 'alert', 'emerg'].includes(e.level) &&
  UPSTREAM_FAILURE.test(e.message) &&
  !e.message.startsWith('FastCGI sent in stderr') &&
  !isClientSide(e);

/** The upstream took the request and reset or closed the connection before answering it. */
export const isMidRequestClose = (e: NginxErrorEntry): boolean =>
  ((e.errno === 104 || e.errno === 32) && /upstream/.test(e.message)) || /upstream prematurely closed/.test(e.message);

/** Is the entry's upstream php-fpm (FastCGI) rather than a proxied HTTP application? */
export const isFastcgi = (e: NginxErrorEntry): boolean => e.scheme === 'fastcgi';
