/**
 * Escaping for Slack's mrkdwn. Slack reads `<…>` as mentions, broadcasts and links, and `&` starts
 * an entity; those three characters are the whole of Slack's own escaping rules. Text that comes
 * from a host (log lines, paths, error messages) or from an alert goes through here before it is
 * put into any message, so `<!channel>` shows as text instead of paging a channel.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Broadcast words are only linkified when a message asks for `link_names` (we never do), but a
 * word joiner after the `@` keeps them inert even if a client or proxy turns that on.
 */
const BROADCAST = /@(channel|here|everyone)\b/gi;

export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c] as string).replace(BROADCAST, '@\u2060$1');
}

/**
 * For mrkdwn another module already escaped: whatever it let through, no broadcast or group
 * mention survives (`<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`).
 */
export function defuseBroadcasts(mrkdwn: string): string {
  return mrkdwn.replace(/<!(channel|here|everyone|subteam\^[^<>]*)>/gi, (m) => escapeMrkdwn(m)).replace(BROADCAST, '@\u2060$1');
}

/**
 * Inside a code block, any run of three or more backticks (five, eight…) would close it early; a
 * zero-width space after every backtick that another follows leaves no two of them adjacent.
 */
function breakFences(text: string): string {
  return text.replace(/`(?=`)/g, '`\u200b');
}

/** Escaped text for a code block: the fence cannot be closed from inside. */
export function escapeCode(text: string): string {
  return breakFences(escapeMrkdwn(text));
}

/** A code block around text already escaped by `escapeCode`; a backtick at either edge would merge with the fence. */
export function fenceCode(escapedCode: string): string {
  const body = (escapedCode.startsWith('`') ? `\u200b${escapedCode}` : escapedCode) + (escapedCode.endsWith('`') ? '\u200b' : '');
  return `\`\`\`${body}\`\`\``;
}

/** Escaped inline code (`x`); backticks inside would end it, so they become a look-alike. */
export function inlineCode(text: string): string {
  return `\`${escapeMrkdwn(text).replace(/`/g, 'ˋ')}\``;
}

/** Never cut between the two halves of a surrogate pair. */
function safeCut(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? text.slice(0, end - 1) : text.slice(0, end);
}

/**
 * The longest prefix of `raw` whose escaped form (by `escape`) fits in `max` characters.
 * Cutting after escaping could split an entity (`&am`), so the cut is made on the raw text.
 */
export function fitEscaped(raw: string, max: number, escape: (s: string) => string = escapeMrkdwn): { text: string; cut: boolean } {
  const whole = raw.length <= max * 2 ? escape(raw) : undefined;
  if (whole !== undefined && whole.length <= max) return { text: whole, cut: false };
  // Each raw character escapes to at most 6 (`&amp;` or a fence break), so this bounds the work.
  let lo = 0;
  let hi = Math.min(raw.length, max);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (escape(safeCut(raw, mid)).length <= max) lo = mid;
    else hi = mid - 1;
  }
  return { text: escape(safeCut(raw, lo)), cut: true };
}

/** Plain text (not mrkdwn) cut to `max` characters with an ellipsis, e.g. for button labels. */
export function truncatePlain(text: string, max: number): string {
  return text.length <= max ? text : `${safeCut(text, max - 1)}…`;
}
