import type { CauseId, Severity } from '../causes.ts';
import type { DiagnosisStatus, Requester } from '../diagnosis-request.ts';
import { escapeMrkdwn, inlineCode } from './escape-mrkdwn.ts';
import {
  type Block,
  capEscaped,
  context,
  fallbackText,
  limitBlocks,
  plain,
  section,
  SLACK_LIMITS,
  slackDate,
  type SlackMessage,
} from './block-kit.ts';
import { CAUSE_LABEL, describeRequester, SEVERITY_ICON } from './slack-labels.ts';

/*
 * The summary of a fan-out (`/502 diagnose web`): one message however many hosts, grouped by
 * verdict with counts, worst first. PURE. At 1,000 hosts it still fits Block Kit: one section
 * per group (there are at most a few dozen), each listing as many host names as fit and
 * counting the rest; the per-host reports are in the summary's thread.
 */

export interface FanoutHostView {
  host: string;
  status: DiagnosisStatus;
  cause?: CauseId;
  title?: string;
  /** Severity of the verdict's finding. */
  severity?: Severity;
  /** The diagnosis could not run every check. */
  incomplete?: boolean;
  /** Why the diagnosis could not run (a MedicError code such as SSH_UNREACHABLE). */
  errorCode?: string;
  /** True when this host shared a diagnosis already running. */
  joined?: boolean;
  /** Link to the host's report when it is not in the summary's thread (a shared earlier one). */
  link?: string;
}

export interface FanoutView {
  target: string;
  requestedBy: Requester;
  requestedAt: string;
  hosts: FanoutHostView[];
}

/** Only a plain http(s) URL becomes a link: nothing in it may close or retarget Slack's `<url|text>`. */
const SAFE_LINK = /^https?:\/\/[^\s<>|&]+$/;

const UNREACHABLE = new Set(['SSH_UNREACHABLE', 'SSH_CONNECT_TIMEOUT', 'SSH_CONNECTION_REFUSED']);

export interface VerdictGroup {
  key: string;
  /** Escaped mrkdwn. */
  label: string;
  icon: string;
  /** Lower is worse: critical causes, hosts that could not be diagnosed, warnings, …, healthy. */
  rank: number;
  hosts: FanoutHostView[];
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 2, info: 3 };

function groupOf(h: FanoutHostView): Omit<VerdictGroup, 'hosts'> {
  if (h.status === 'failed') {
    const code = h.errorCode;
    if (code !== undefined && UNREACHABLE.has(code)) return { key: 'unreachable', label: 'unreachable', icon: ':x:', rank: 1 };
    return {
      key: `failed:${code ?? ''}`,
      label: `could not diagnose${code !== undefined ? ` (${inlineCode(code)})` : ''}`,
      icon: ':x:',
      rank: 1,
    };
  }
  if (h.status !== 'done') return { key: 'running', label: 'running', icon: ':hourglass_flowing_sand:', rank: 4 };
  const cause = h.cause ?? 'unknown_502';
  if (cause === 'healthy') {
    return h.incomplete === true
      ? { key: 'healthy:incomplete', label: `${inlineCode('healthy')}, incomplete`, icon: ':warning:', rank: 3 }
      : { key: 'healthy', label: inlineCode('healthy'), icon: ':large_green_circle:', rank: 5 };
  }
  const severity = h.severity ?? 'critical';
  return {
    key: `cause:${cause}`,
    label: `${inlineCode(cause)} ${escapeMrkdwn(CAUSE_LABEL[cause])}`,
    icon: SEVERITY_ICON[severity],
    rank: SEVERITY_RANK[severity],
  };
}

/** Hosts grouped by verdict, worst first; among equals, the larger group first. */
export function groupByVerdict(hosts: readonly FanoutHostView[]): VerdictGroup[] {
  const groups = new Map<string, VerdictGroup>();
  for (const h of hosts) {
    const g = groupOf(h);
    const existing = groups.get(g.key);
    if (existing !== undefined) {
      existing.hosts.push(h);
      if (g.rank < existing.rank) existing.rank = g.rank;
    } else groups.set(g.key, { ...g, hosts: [h] });
  }
  return [...groups.values()].sort((a, b) => a.rank - b.rank || b.hosts.length - a.hosts.length || a.key.localeCompare(b.key));
}

/** Short label for the counts line and notifications ("87 × php_fpm_down"). */
const shortLabel = (g: VerdictGroup): string => (g.key.startsWith('cause:') ? inlineCode(g.key.slice('cause:'.length)) : g.label);

/** Host names of a group, as many as fit in `budget` characters, then how many more. */
function hostList(hosts: readonly FanoutHostView[], budget: number): string {
  const parts: string[] = [];
  let used = 0;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i] as FanoutHostView;
    const name = escapeMrkdwn(h.host);
    const shared = h.joined === true ? ' _(shared)_' : '';
    const item = h.link !== undefined && SAFE_LINK.test(h.link) ? `<${h.link}|${name}>${shared}` : `${name}${shared}`;
    const tail = ` …and ${hosts.length - i} more`;
    if (used + item.length + 2 + tail.length > budget) return `${parts.join(', ')}${tail}`;
    parts.push(item);
    used += item.length + 2;
  }
  return parts.join(', ');
}

export function renderFanout(view: FanoutView): SlackMessage {
  const total = view.hosts.length;
  const finished = view.hosts.filter((h) => h.status === 'done' || h.status === 'failed').length;
  const groups = groupByVerdict(view.hosts);
  const counts = groups.map((g) => `${g.hosts.length} × ${shortLabel(g)}`).join(', ');
  const blocks: Block[] = [{ type: 'header', text: plain(`502 diagnosis: ${view.target} (${total} hosts)`, SLACK_LIMITS.headerText) }];
  blocks.push(section(`*${finished}/${total} finished:* ${counts}`));
  for (const g of groups) {
    const title = `${g.icon} *${g.hosts.length} × ${g.label}*`;
    blocks.push(
      section(capEscaped(`${title}\n${hostList(g.hosts, SLACK_LIMITS.sectionText - title.length - 20)}`, SLACK_LIMITS.sectionText)),
    );
  }
  blocks.push(
    context(
      `Requested by ${describeRequester(view.requestedBy)} ${slackDate(view.requestedAt, '{time}')} · each host's report is in this thread once it has a verdict`,
    ),
  );
  return {
    text: fallbackText(`502 diagnosis of ${escapeMrkdwn(view.target)}: ${finished}/${total} finished: ${counts}`),
    blocks: limitBlocks(blocks),
  };
}
