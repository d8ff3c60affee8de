import { isSlackUserId } from '../slack-ids.ts';
import { escapeMrkdwn, inlineCode, truncatePlain } from './escape-mrkdwn.ts';

/*
 * Block Kit: its types, Slack's limits, and the small builders that keep to them. PURE.
 * Everything that came from a host or an alert is escaped (escape-mrkdwn.ts) and every limit
 * is respected: what does not fit is cut with a visible marker, never sent for Slack to reject.
 * Host-derived text only ever goes into mrkdwn objects, where escaping is defined; plain_text
 * objects (headers, buttons, dialogs) hold only our own words, host names and ids.
 */

/** Slack's documented limits (characters unless said otherwise). */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface MrkdwnText {
  type: 'mrkdwn';
  text: string;
}
export type TextObject = PlainText | MrkdwnText;
export interface ConfirmDialog {
  title: PlainText;
  text: TextObject;
  confirm: PlainText;
  deny: PlainText;
  style?: 'primary' | 'danger';
}
export interface ButtonElement {
  type: 'button';
  text: PlainText;
  action_id: string;
  value?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}
export type Block =
  | { type: 'header'; text: PlainText; block_id?: string }
  | { type: 'section'; text?: MrkdwnText; fields?: MrkdwnText[]; block_id?: string }
  | { type: 'context'; elements: TextObject[]; block_id?: string }
  | { type: 'actions'; elements: ButtonElement[]; block_id?: string }
  | { type: 'divider'; block_id?: string };

/** What chat.postMessage / chat.update / chat.postEphemeral take besides the channel. */
export interface SlackMessage {
  /** The notification and screen-reader text; escaped, short. */
  text: string;
  blocks: Block[];
}

export const plain = (text: string, max: number): PlainText => ({ type: 'plain_text', text: truncatePlain(text, max), emoji: true });

/** A section of already-escaped mrkdwn, cut to the section limit with a marker. */
export function section(mrkdwn: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: capEscaped(mrkdwn, SLACK_LIMITS.sectionText) } };
}

export function context(...mrkdwn: string[]): Block {
  return {
    type: 'context',
    elements: mrkdwn
      .slice(0, SLACK_LIMITS.contextElements)
      .map((t) => ({ type: 'mrkdwn' as const, text: capEscaped(t, SLACK_LIMITS.contextText) })),
  };
}

const CUT_MARK = ' …_[cut]_';

/**
 * Cuts already-escaped text to `max` with a marker, without splitting an entity (`&amp;`), a
 * surrogate pair or one of our own `<…>` tokens, and closing a code fence left open.
 */
export function capEscaped(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - CUT_MARK.length - 4;
  const amp = text.lastIndexOf('&', end);
  if (amp !== -1 && amp > end - 6 && !text.slice(amp, end).includes(';')) end = amp;
  const lt = text.lastIndexOf('<', end);
  if (lt !== -1 && !text.slice(lt, end).includes('>')) end = lt;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  const head = text.slice(0, end);
  const openFence = (head.split('```').length - 1) % 2 === 1;
  return openFence ? `${head}\n\`\`\`${CUT_MARK}` : `${head}${CUT_MARK}`;
}

/** Message text (notifications) of escaped mrkdwn, bounded well under the 40,000 limit. */
export function fallbackText(escaped: string): string {
  return capEscaped(escaped, 1000);
}

export const slackDate = (iso: string, format = '{date_short_pretty} {time}'): string => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeMrkdwn(iso);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
};

/** A duration for people: tenths of a second under 10 s, whole seconds above. */
export const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** A mention of a Slack user; anything that is not a user id is shown as code, never as a mention. */
export const mention = (userId: string): string => (isSlackUserId(userId) ? `<@${userId}>` : inlineCode(userId));

/** Groups lines into chunks of at most `max` characters (a longer single line is cut). */
export function chunkLines(lines: string[], max: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const line of lines) {
    const l = line.length > max ? capEscaped(line, max) : line;
    if (cur !== '' && cur.length + 1 + l.length > max) {
      out.push(cur);
      cur = l;
    } else cur = cur === '' ? l : `${cur}\n${l}`;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** Keeps the message within 50 blocks, saying how much was left out. */
export function limitBlocks(blocks: Block[]): Block[] {
  if (blocks.length <= SLACK_LIMITS.blocksPerMessage) return blocks;
  const kept = blocks.slice(0, SLACK_LIMITS.blocksPerMessage - 1);
  kept.push(context(`…${blocks.length - kept.length} more block(s) not shown (Slack allows ${SLACK_LIMITS.blocksPerMessage}).`));
  return kept;
}
