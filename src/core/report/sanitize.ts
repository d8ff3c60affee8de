/**
 * Makes text read from a host safe to show people: host output is untrusted (a log line is
 * whatever a client put in its request), and it ends up in terminals, JSON and Slack.
 *
 * - ANSI escape sequences are removed, other control characters shown as `\xNN`, so a log line
 *   cannot move a terminal's cursor, retitle its window or hide text;
 * - bidirectional overrides are shown as `\uNNNN` (they can make text read differently than it is);
 * - secrets are redacted (passwords, tokens, API keys, Authorization values, Slack, AWS, Stripe,
 *   GitHub and Google keys, JWTs, session cookies, PEM private keys, passwords in URLs, and the
 *   values of query parameters whose names look secret: `?code=`, `X-Amz-Signature=`, `sig=`…);
 * - each line is capped.
 *
 * Every pattern runs in linear time on any input: a pattern that may start at every position of a
 * long line starts only where a token does (a lookbehind), and no two quantifiers next to each
 * other can trade characters, so a near-miss costs no more than a match.
 *
 * Everything here is idempotent: sanitizing twice gives the same text, so each layer may
 * sanitize again without mangling. Slack's `<`, `>`, `&` are left alone: escaping them is the
 * Slack renderer's job, and the terminal and JSON have no such syntax.
 */

/** Longest line kept whole; nginx error lines with a long request and referrer run to several hundred characters. */
export const MAX_LINE_CHARS = 1000;

export const REDACTED = '[REDACTED]';

// CSI (incl. 8-bit), OSC (terminated by BEL or ST), and two-character ESC sequences.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ANSI = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const PEM_INLINE = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY-----/;

// `pass` and `sid` only as words of a key (`db_pass`, `connect.sid`), not inside `bypass` or `inside`.
const SECRET_WORD =
  '(?:password|passwd|passphrase|(?<![a-z])pass(?![a-z])|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|signature|sess(?:ion)?(?:[_-]?id)?|(?<![a-z])sid(?![a-z]))';

/** Characters of a key in `key=value`; a key pattern starts only where a run of them does. */
const KEY_CHARS = 'A-Za-z0-9_.-';

/**
 * Query parameters whose value is a credential though the name says no "password" or "token":
 * OAuth's `code`, signed URLs' signatures and credentials, short forms of passwords and keys.
 */
const SECRET_QUERY_NAME =
  /^(?:code|pass|pwd|sig|key|auth|otp|sid|x-amz-credential|x-amz-security-token|x-goog-credential)$|password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|signature|sess(?:ion)?(?:[_-]?id)?/i;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

interface Redaction {
  pattern: RegExp;
  replace: string | ((substring: string, ...args: string[]) => string);
}

const REDACTIONS: Redaction[] = [
  { pattern: PEM_INLINE, replace: '[REDACTED PRIVATE KEY]' },
  // Authorization: Bearer abc / Proxy-Authorization: Basic abc / authorization=abc
  {
    pattern: /\b((?:proxy-)?authorization)(\s*[:=]\s*["']?)((?:bearer|basic|digest|token|negotiate)\s+)?([^\s"',;]+)/gi,
    replace: (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ?? ''}${REDACTED}`,
  },
  { pattern: /\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi, replace: `$1 ${REDACTED}` },
  { pattern: /\bxox[abeprs]-[A-Za-z0-9-]+/g, replace: REDACTED },
  { pattern: /\bxapp-[A-Za-z0-9-]+/g, replace: REDACTED },
  { pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, replace: REDACTED },
  // JSON Web Tokens: base64url of `{"` … in header and payload, then a signature.
  { pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, replace: REDACTED },
  // Stripe secret and restricted keys, GitHub tokens, Google API keys.
  { pattern: /(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}/g, replace: REDACTED },
  { pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, replace: REDACTED },
  { pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{30,}/g, replace: REDACTED },
  // ?code=x&, &X-Amz-Signature=x, ;sig=x: a query parameter whose name looks secret.
  {
    pattern: /([?&;])([A-Za-z0-9_.~%+-]{1,64})=([^\s&#"'<>;]*)/g,
    replace: (m, sep: string, name: string, value: string) =>
      value !== '' && SECRET_QUERY_NAME.test(decodedName(name)) ? `${sep}${name}=${REDACTED}` : m,
  },
  // password=x, "api_key": "x", token: x, DB_PASSWORD='x y', db_pass=x, PHPSESSID=x
  {
    // The key starts where a run of key characters does, and its parts are bounded: tried from
    // every position, or unbounded, the key part would make this quadratic on a long line.
    pattern: new RegExp(
      `(?<![${KEY_CHARS}])([${KEY_CHARS}]{0,128}${SECRET_WORD}[${KEY_CHARS}]{0,128})("?\\s*[:=]\\s*)("[^"]*"|'[^']*'|[^\\s&,;"'<>]+)`,
      'gi',
    ),
    replace: (_m, key: string, sep: string, value: string) => {
      const quote = value.startsWith('"') || value.startsWith("'") ? (value[0] as string) : '';
      return `${key}${sep}${quote}${REDACTED}${quote}`;
    },
  },
  // scheme://user:password@host, redis://:password@host
  { pattern: /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}:\/\/[^\s:@/]*):[^\s@/]+@/gi, replace: `$1:${REDACTED}@` },
];

/** Redacts secrets in one piece of text (which may span lines). */
export function redactSecrets(text: string): string {
  let out = text;
  for (const { pattern, replace } of REDACTIONS) {
    out = typeof replace === 'string' ? out.replace(pattern, replace) : out.replace(pattern, replace);
  }
  return out;
}

/**
 * Redacts PEM private key blocks that span lines of a whole command output. Run it on raw
 * output before splitting it into lines: a lone line of base64 cannot be recognised later.
 */
export function redactPemBlocks(text: string): string {
  if (!PEM_BEGIN.test(text)) return text;
  const out: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    if (!inside && PEM_BEGIN.test(line)) {
      inside = !PEM_END.test(line.slice(line.search(PEM_BEGIN)));
      out.push(line.replace(PEM_INLINE, '[REDACTED PRIVATE KEY]'));
      continue;
    }
    if (inside) {
      if (PEM_END.test(line)) {
        inside = false;
        out.push(line.slice(line.search(PEM_END)).replace(PEM_END, '[REDACTED PRIVATE KEY]'));
      } else {
        out.push('[REDACTED PRIVATE KEY]');
      }
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

const hex = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
const uni = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Removes terminal escapes and makes every other control or direction character visible. */
export function stripControls(text: string): string {
  return text
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(ANSI, '')
    .replace(/\r?\n/g, '\\n')
    .replace(/\t/g, ' ')
    .replace(/\r/g, '\\r')
    .replace(CONTROL, hex)
    .replace(BIDI, uni);
}

/** Cuts text longer than `max` characters, saying how much was cut; the result is at most `max` long. */
export function capLine(text: string, max = MAX_LINE_CHARS): string {
  if (text.length <= max) return text;
  const keep = Math.max(0, max - 40);
  return `${text.slice(0, keep)}… [${text.length - keep} more characters cut]`;
}

/** One line of evidence, made safe: no escapes or controls (a newline becomes `\n`), secrets redacted, capped. */
export function sanitizeLine(text: string, max = MAX_LINE_CHARS): string {
  // Redact before cutting, so that a cut never leaves half a secret behind.
  if (text.length <= max * 3) return capLine(stripControls(redactSecrets(text)), max);
  // A huge line: only its head can be shown, so only its head is worth redacting (the
  // patterns are linear, but a megabyte per line adds up).
  const keep = Math.max(0, max - 40);
  const shown = stripControls(redactSecrets(text.slice(0, max * 3))).slice(0, keep);
  return `${shown}… [${text.length - shown.length} more characters cut]`;
}

/** Sanitizes the lines of one output in order; PEM blocks spanning lines are redacted whole. */
export function sanitizeLines(lines: readonly string[], max = MAX_LINE_CHARS): string[] {
  return redactPemBlocks(lines.join('\n'))
    .split('\n')
    .map((l) => sanitizeLine(l, max));
}

/**
 * Text of several lines (a command's output, an error with its stderr) made safe as evidence is:
 * each line sanitized and capped, PEM blocks redacted whole; the line breaks stay.
 */
export function sanitizeText(text: string, max = MAX_LINE_CHARS): string {
  return sanitizeLines(
    text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)),
    max,
  ).join('\n');
}
