import {
  chunkLines,
  context,
  fallbackText,
  limitBlocks,
  mention,
  plain,
  section,
  slackDate,
  SLACK_LIMITS,
  type Block,
  type SlackMessage,
} from './block-kit.ts';
import { escapeMrkdwn, inlineCode, truncatePlain } from './escape-mrkdwn.ts';
import { isSlackUserId } from '../slack-ids.ts';

/** The answers to `/502 help`, `/502 hosts` and `/502 history`, and short notices. PURE. */

export interface HistoryEntryView {
  /** ISO time. */
  at: string;
  kind: string;
  /** A Slack user id, or a short description of an alert. */
  actor?: string;
  /** Untrusted detail text. */
  detail: string;
}

export function renderHistory(host: string, entries: HistoryEntryView[]): SlackMessage {
  if (entries.length === 0) {
    return {
      text: `No history for ${escapeMrkdwn(host)} yet.`,
      blocks: [section(`No history for *${escapeMrkdwn(host)}* yet. Run \`/502 diagnose ${escapeMrkdwn(host)}\`.`)],
    };
  }
  const lines = entries.map((e) => {
    const actor =
      e.actor === undefined ? '' : isSlackUserId(e.actor) ? ` ${mention(e.actor)}` : ` ${escapeMrkdwn(truncatePlain(e.actor, 80))}`;
    return `${slackDate(e.at, '{date_short} {time_secs}')} ${inlineCode(e.kind)}${actor}: ${escapeMrkdwn(truncatePlain(e.detail, 300))}`;
  });
  const blocks: Block[] = [{ type: 'header', text: plain(`History of ${host} (latest ${entries.length})`, SLACK_LIMITS.headerText) }];
  for (const chunk of chunkLines(lines, SLACK_LIMITS.sectionText - 50)) blocks.push(section(chunk));
  return { text: `History of ${escapeMrkdwn(host)}`, blocks: limitBlocks(blocks) };
}

export function renderHosts(hosts: string[], groups: Record<string, string[]>): SlackMessage {
  const hostList = hosts.length > 0 ? hosts.map((h) => inlineCode(h)).join(' ') : '_(no hosts in the inventory)_';
  const groupLines = Object.entries(groups).map(([g, members]) => `• ${inlineCode(g)}: ${members.map((m) => escapeMrkdwn(m)).join(', ')}`);
  const blocks: Block[] = [section(`*Hosts (${hosts.length})*\n${hostList}`)];
  if (groupLines.length > 0)
    for (const chunk of chunkLines([`*Groups*`, ...groupLines], SLACK_LIMITS.sectionText - 50)) blocks.push(section(chunk));
  blocks.push(context('Diagnose with `/502 diagnose <host|group|pattern>`, e.g. `/502 diagnose web-*`.'));
  return { text: `Hosts: ${escapeMrkdwn(hosts.join(', '))}`.slice(0, 1000), blocks: limitBlocks(blocks) };
}

export const HELP_TEXT = [
  '*`/502` finds out why nginx answers 502/504, with read-only checks over SSH.*',
  '• `/502 diagnose <host|group|pattern>`: diagnose a host of the inventory, a group, or a pattern such as `web-*`. A host gets a report in this channel with its findings in the thread; a group or pattern gets one summary, with the report of each host in its thread.',
  '• `/502 hosts`: list the hosts and groups of the inventory.',
  '• `/502 history <host>`: what was asked, run, approved and refused for a host.',
  '• `/502 help`: this message.',
  'Remediation buttons under a finding need an approver; they run once, and only while the finding is current.',
].join('\n');

export function renderHelp(intro?: string): SlackMessage {
  const blocks: Block[] = [];
  if (intro !== undefined) blocks.push(section(intro));
  blocks.push(section(HELP_TEXT));
  return { text: intro ?? 'How to use /502', blocks };
}

/** A short ephemeral answer: our own words plus escaped untrusted parts, already combined. */
export function renderNotice(escapedMrkdwn: string): SlackMessage {
  return { text: fallbackText(escapedMrkdwn), blocks: [section(escapedMrkdwn)] };
}
