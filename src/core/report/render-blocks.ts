import type { CauseId, RemediationId, Severity } from '../causes.ts';
import type { DiagnosisStatus, Requester, RootNote } from '../diagnosis-request.ts';
import type { Diagnosis, Finding } from '../finding.ts';
import type { RemediationStatus, RemediationView } from '../remediation/remediation-result.ts';
import { isSlackUserId } from '../slack-ids.ts';
import { defuseBroadcasts, escapeCode, escapeMrkdwn, fenceCode, fitEscaped, inlineCode, truncatePlain } from './escape-mrkdwn.ts';
import { sanitizeText } from './sanitize.ts';

/*
 * Diagnosis → Block Kit. PURE: no clock, no I/O; every time is passed in. Everything that came
 * from a host or an alert is escaped (escape-mrkdwn.ts) and every Block Kit limit is respected:
 * what does not fit is cut with a visible marker, never sent for Slack to reject.
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

/** The button value (an approval id) and action id of one remediation button. */
export const REMEDIATE_ACTION_PREFIX = 'remediate:';

export const CAUSE_LABEL: Record<CauseId, string> = {
  php_fpm_down: 'PHP-FPM is down',
  socket_mismatch: 'Socket mismatch',
  socket_permission: 'Socket permission denied',
  upstream_timeout: 'Upstream timeout',
  upstream_reset: 'Upstream reset',
  max_children_exhausted: 'pm.max_children exhausted',
  oom_killed: 'OOM-killed',
  memory_overcommit: 'Memory overcommitted',
  script_filename_wrong: 'SCRIPT_FILENAME wrong',
  upstream_header_too_big: 'Upstream header too big',
  proxy_upstream_down: 'Proxy upstream down',
  selinux_denied: 'Denied by SELinux/AppArmor',
  upstream_tls: 'TLS to the upstream failed',
  upstream_dns: 'Upstream name not resolved',
  resource_limits: 'Connection limits reached',
  keepalive_mismatch: 'Keep-alive mismatch',
  unknown_502: 'Unexplained 502/504',
  healthy: 'Healthy',
};

export const SEVERITY_ICON: Record<Severity, string> = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' };

const REMEDIATION_LABEL: Record<RemediationId, string> = {
  reload_php_fpm: 'Reload PHP-FPM',
  start_php_fpm: 'Start PHP-FPM',
  reload_nginx: 'Reload nginx',
  restart_php_fpm: 'Restart PHP-FPM',
};

const REMEDIATION_EFFECT: Record<RemediationId, string> = {
  reload_php_fpm: 'gracefully reloads PHP-FPM (systemctl reload, else SIGUSR2 to the master)',
  start_php_fpm: 'starts PHP-FPM (systemctl start, else the configured start command)',
  reload_nginx: 'checks the config with nginx -t and only then reloads nginx',
  restart_php_fpm: 'restarts PHP-FPM (systemctl restart, else stop and start): requests in flight are dropped',
};

// ---------- small builders that enforce the limits ----------

export const plain = (text: string, max: number): PlainText => ({ type: 'plain_text', text: truncatePlain(text, max), emoji: true });

/** A section of already-escaped mrkdwn, cut to the section limit with a marker. */
export function section(mrkdwn: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: capEscaped(mrkdwn, SLACK_LIMITS.sectionText) } };
}

export function context(...mrkdwn: string[]): Block {
  return {
    type: 'context',
    elements: mrkdwn.slice(0, SLACK_LIMITS.contextElements).map((t) => ({ type: 'mrkdwn' as const, text: capEscaped(t, SLACK_LIMITS.contextText) })),
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

const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** A mention of a Slack user; anything that is not a user id is shown as code, never as a mention. */
export const mention = (userId: string): string => (isSlackUserId(userId) ? `<@${userId}>` : inlineCode(userId));

export function describeRequester(r: Requester): string {
  if (r.kind === 'user') return mention(r.userId);
  const labels = Object.entries(r.labels)
    .slice(0, 8)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `alert ${inlineCode(truncatePlain(r.alertName, 120))} from ${escapeMrkdwn(truncatePlain(r.source, 40))}${labels !== '' ? ` (${escapeMrkdwn(truncatePlain(labels, 300))})` : ''}`;
}

// ---------- the root message ----------

export interface RootView {
  host: string;
  status: DiagnosisStatus;
  requestedBy: Requester;
  /** ISO time of the request. */
  requestedAt: string;
  /** Why (an alert's summary, a user's words); untrusted. */
  reason?: string;
  diagnosis?: Diagnosis;
  /** Why the diagnosis could not run (host unreachable, …); untrusted. */
  error?: { code?: string; message: string; hint?: string };
  /** Others who asked for this host while it ran (deduplicated requests). */
  joiners: Requester[];
  notes: RootNote[];
  /** The last remediation run from this diagnosis, shown on the root too. */
  remediation?: { remediation: RemediationId; approvedBy: string; status: RemediationStatus; recovered?: boolean };
}

function verdictIcon(d: Diagnosis): string {
  if (d.incomplete) return ':warning:';
  if (d.verdict.cause === 'healthy') return ':large_green_circle:';
  return SEVERITY_ICON[d.findings[0]?.severity ?? 'critical'];
}

export function renderRoot(view: RootView): SlackMessage {
  const blocks: Block[] = [];
  const host = escapeMrkdwn(view.host);
  const who = describeRequester(view.requestedBy);
  const asked = `Requested by ${who} ${slackDate(view.requestedAt, '{time}')}`;
  let text: string;
  if (view.status === 'done' && view.diagnosis !== undefined) {
    const d = view.diagnosis;
    const label = d.incomplete && d.verdict.cause === 'healthy' ? 'Incomplete diagnosis' : CAUSE_LABEL[d.verdict.cause];
    blocks.push({ type: 'header', text: plain(`${view.host}: ${label}`, SLACK_LIMITS.headerText) });
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: capEscaped(`${verdictIcon(d)} *${escapeMrkdwn(d.verdict.title)}*`, SLACK_LIMITS.sectionText) },
      fields: [
        { type: 'mrkdwn', text: `*Host*\n${host}` },
        { type: 'mrkdwn', text: `*Cause*\n${inlineCode(d.verdict.cause)}` },
        { type: 'mrkdwn', text: `*Took*\n${seconds(d.durationMs)}` },
        { type: 'mrkdwn', text: `*Findings*\n${d.findings.length} (in the thread)` },
      ],
    });
    const core = d.gaps.filter((g) => g.supplementary !== true);
    const supplementary = d.gaps.filter((g) => g.supplementary === true);
    if (d.incomplete || core.length > 0) {
      const gaps = core.slice(0, 8).map((g) => `• ${inlineCode(g.check)}: ${escapeMrkdwn(g.reason)}`);
      const more = core.length > 8 ? `\n…and ${core.length - 8} more` : '';
      blocks.push(section(`:warning: *The diagnosis is incomplete*: ${core.length} check(s) of core evidence could not run, so this verdict may miss a cause.\n${gaps.join('\n')}${more}`));
    }
    if (supplementary.length > 0) {
      const lines = supplementary.slice(0, 8).map((g) => `• ${inlineCode(g.check)}: ${escapeMrkdwn(g.reason)}; could hide ${escapeMrkdwn(g.couldHide ?? 'a cause')}`);
      const more = supplementary.length > 8 ? `\n…and ${supplementary.length - 8} more` : '';
      blocks.push(section(`:information_source: *Not read* (supplementary checks; the verdict stands):\n${lines.join('\n')}${more}`));
    }
    if (d.untrustedMasters !== undefined && d.untrustedMasters.length > 0) {
      const lines = d.untrustedMasters.slice(0, 5).map((u) => `• pid ${u.pid} (${escapeMrkdwn(u.user)}) ${inlineCode(u.title)}: ${escapeMrkdwn(u.why)}`);
      blocks.push(section(`:rotating_light: *Ignored look-alike masters* (nothing of them was run or read):\n${lines.join('\n')}`));
    }
    text = `${view.host}: ${escapeMrkdwn(d.verdict.title)} (${d.verdict.cause})`;
  } else if (view.status === 'failed') {
    blocks.push({ type: 'header', text: plain(`${view.host}: could not diagnose`, SLACK_LIMITS.headerText) });
    const e = view.error ?? { message: 'unknown error' };
    const code = e.code !== undefined ? `${inlineCode(e.code)} ` : '';
    const hint = e.hint !== undefined ? `\n${escapeMrkdwn(e.hint)}` : '';
    blocks.push(section(`:x: ${code}${escapeMrkdwn(e.message)}${hint}`));
    text = `${view.host}: could not diagnose: ${escapeMrkdwn(e.message)}`;
  } else {
    const verb = view.status === 'queued' ? 'Queued' : 'Diagnosing';
    blocks.push({ type: 'header', text: plain(`${view.host}: ${verb.toLowerCase()}…`, SLACK_LIMITS.headerText) });
    blocks.push(section(`:mag: ${verb} *${host}* with read-only checks over SSH; the findings will follow in this thread.`));
    text = `${verb} ${view.host}…`;
  }
  const why = view.reason ?? (view.requestedBy.kind === 'alert' ? view.requestedBy.summary : undefined);
  if (why !== undefined && why !== '') blocks.push(section(`*Why:* ${escapeMrkdwn(why)}`));
  const ctx = [asked];
  if (view.diagnosis !== undefined) ctx.push(`playbook ${inlineCode(view.diagnosis.playbook)} · started ${slackDate(view.diagnosis.startedAt, '{time_secs}')}`);
  if (view.joiners.length > 0) {
    const shown = view.joiners.slice(0, 10).map(describeRequester).join(', ');
    ctx.push(`Also asked: ${shown}${view.joiners.length > 10 ? ` and ${view.joiners.length - 10} more` : ''}`);
  }
  blocks.push(context(...ctx));
  if (view.remediation !== undefined) {
    const r = view.remediation;
    const state = r.status === 'running' ? 'running…' : r.status === 'succeeded' ? (r.recovered === true ? 'done, the host recovered' : 'done, not recovered yet') : 'failed';
    blocks.push(context(`:wrench: ${inlineCode(r.remediation)} approved by ${mention(r.approvedBy)}: ${state}`));
  }
  // The newest notes matter most; an alert storm must not push the message over the block limit.
  const notes = view.notes.slice(-5);
  for (const n of notes) {
    const icon = n.kind === 'resolved' ? ':white_check_mark:' : n.kind === 'firing' ? ':fire:' : ':information_source:';
    blocks.push(context(`${icon} ${slackDate(n.at, '{time_secs}')} ${n.mrkdwn === true ? defuseBroadcasts(n.text) : escapeMrkdwn(n.text)}`));
  }
  return { text: fallbackText(text), blocks };
}

// ---------- one finding, a thread reply ----------

export interface ApprovalButton {
  remediation: RemediationId;
  /** Opaque id of the approval record; the button's value. */
  approvalId: string;
}

export interface FindingView {
  host: string;
  /** 0-based position in the diagnosis. */
  index: number;
  total: number;
  finding: Finding;
  buttons: ApprovalButton[];
  /** ISO time after which the buttons are refused. */
  approvalExpiresAt?: string;
  /** Set once a remediation was approved from this message. */
  remediation?: RemediationView;
}

/** How much of the evidence is shown: two code blocks, each within a section's 3000 characters. */
const EVIDENCE_SECTIONS = 2;
const CODE_BUDGET = SLACK_LIMITS.sectionText - 8; // room for the fences and newlines

/** Packs evidence lines into at most `sections` code blocks; whatever does not fit is counted. */
export function evidenceBlocks(lines: readonly string[], sections = EVIDENCE_SECTIONS): { blocks: Block[]; shownLines: number; cutLines: number } {
  const out: string[] = [];
  let cur = '';
  let shown = 0;
  let shortened = 0;
  let i = 0;
  while (i < lines.length) {
    const raw = (lines[i] as string).replace(/\r/g, '');
    const sep = cur === '' ? 0 : 1;
    const room = CODE_BUDGET - cur.length - sep;
    const escaped = escapeCode(raw);
    if (escaped.length <= room) {
      cur = sep === 0 ? escaped : `${cur}\n${escaped}`;
      shown++;
      i++;
      continue;
    }
    if (cur !== '' && out.length + 1 < sections) {
      out.push(cur);
      cur = '';
      continue;
    }
    // The line does not fit in what is left: show its head, marked, if that is worth it.
    if (room <= 200) break;
    const marker = ` … [line cut: ${raw.length} characters]`;
    const head = fitEscaped(raw, room - marker.length, escapeCode).text;
    cur = sep === 0 ? `${head}${marker}` : `${cur}\n${head}${marker}`;
    shown++;
    shortened++;
    i++;
  }
  if (cur !== '') out.push(cur);
  return { blocks: out.map(codeSection), shownLines: shown, cutLines: shortened + (lines.length - i) };
}

const codeSection = (escapedCode: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: fenceCode(escapedCode) } });

function confirmFor(host: string, remediation: RemediationId, title: string): ConfirmDialog {
  return {
    title: plain(`${REMEDIATION_LABEL[remediation]} on ${host}?`, SLACK_LIMITS.confirmTitle),
    text: {
      type: 'mrkdwn',
      text: capEscaped(
        `This ${REMEDIATION_EFFECT[remediation]} on *${escapeMrkdwn(host)}*, then checks again. Finding: ${escapeMrkdwn(title)}`,
        SLACK_LIMITS.confirmText,
      ),
    },
    confirm: plain('Run it', SLACK_LIMITS.confirmButton),
    deny: plain('Cancel', SLACK_LIMITS.confirmButton),
    style: 'danger',
  };
}

export function renderFinding(view: FindingView): SlackMessage {
  const f = view.finding;
  const blocks: Block[] = [];
  const tag = f.current ? '' : ' · _older evidence, not the current window_';
  blocks.push(section(`${SEVERITY_ICON[f.severity]} *${view.index + 1}/${view.total} · ${escapeMrkdwn(f.title)}*\n${inlineCode(f.cause)} · ${f.severity}${tag}`));
  if (f.explanation !== '') blocks.push(section(escapeMrkdwn(f.explanation)));
  if (f.evidence.length > 0) {
    const ev = evidenceBlocks(f.evidence);
    blocks.push(...ev.blocks);
    if (ev.cutLines > 0) {
      const bytes = f.evidence.reduce((n, l) => n + l.length + 1, 0);
      blocks.push(context(`:scissors: Showing ${ev.shownLines} of ${f.evidence.length} evidence line(s); ${ev.cutLines} cut or shortened (${formatBytes(bytes)} in all). The audit trail keeps the diagnosis.`));
    }
  }
  if (f.nextSteps.length > 0) {
    blocks.push(section(`*Next steps*\n${f.nextSteps.slice(0, 10).map((s) => `• ${escapeMrkdwn(s)}`).join('\n')}`));
  }
  if (view.remediation !== undefined) {
    blocks.push(...remediationBlocks(view.host, view.remediation));
  } else if (view.buttons.length > 0) {
    blocks.push({
      type: 'actions',
      block_id: `remediations:${view.index}`,
      elements: view.buttons.slice(0, 5).map((b) => ({
        type: 'button' as const,
        text: plain(REMEDIATION_LABEL[b.remediation], SLACK_LIMITS.buttonText),
        action_id: `${REMEDIATE_ACTION_PREFIX}${b.remediation}`,
        value: b.approvalId.slice(0, SLACK_LIMITS.buttonValue),
        style: 'danger' as const,
        confirm: confirmFor(view.host, b.remediation, f.title),
      })),
    });
    const until = view.approvalExpiresAt !== undefined ? ` until ${slackDate(view.approvalExpiresAt, '{time}')}` : '';
    blocks.push(context(`:lock: Needs an approver; valid${until} and only while this is the host's latest diagnosis. Runs once.`));
  }
  return { text: fallbackText(`${view.host} finding ${view.index + 1}/${view.total}: ${escapeMrkdwn(f.title)}`), blocks: blocks.slice(0, SLACK_LIMITS.blocksPerMessage) };
}

function remediationBlocks(host: string, r: RemediationView): Block[] {
  const who = `${inlineCode(r.remediation)} approved by ${mention(r.approvedBy)} ${slackDate(r.approvedAt, '{time_secs}')}`;
  if (r.status === 'running' || r.result === undefined) {
    return [section(`:hourglass_flowing_sand: ${who}: running on *${escapeMrkdwn(host)}*…`)];
  }
  const res = r.result;
  const icon = res.ok ? (res.recovered ? ':white_check_mark:' : ':warning:') : ':x:';
  const state = res.ok ? (res.recovered ? 'done, and the host recovered' : 'done, but the verification still finds a problem') : 'failed';
  // Sanitized again here (it is idempotent): results stored before the job sanitized them are shown too.
  const out: Block[] = [section(`${icon} ${who}: ${state} (${seconds(res.durationMs)}).${res.error !== undefined ? `\n${escapeMrkdwn(sanitizeText(res.error))}` : ''}`)];
  const stepLines = res.steps.slice(0, 6).flatMap((s) => {
    const output = `${s.stdout}${s.stderr}`.trim();
    return [`$ ${s.command}  # exit ${s.exitCode ?? 'none'}`, ...(output === '' ? [] : sanitizeText(output).split('\n').slice(0, 15))];
  });
  if (stepLines.length > 0) out.push(...evidenceBlocks(stepLines, 1).blocks);
  const v = res.verification;
  if (v !== undefined) {
    const verdict = `${verdictIcon(v)} *Verification:* ${escapeMrkdwn(v.verdict.title)} (${inlineCode(v.verdict.cause)}${v.incomplete ? ', incomplete' : ''})`;
    const others = v.findings.slice(1, 4).map((f) => `• ${escapeMrkdwn(f.title)} (${inlineCode(f.cause)})`);
    out.push(section([verdict, ...others].join('\n')));
  }
  return out;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------- lists, help (the fan-out summary is render-fanout.ts) ----------

/** Groups lines into chunks of at most `max` characters (a longer single line is cut). */
function chunkLines(lines: string[], max: number): string[] {
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
    return { text: `No history for ${escapeMrkdwn(host)} yet.`, blocks: [section(`No history for *${escapeMrkdwn(host)}* yet. Run \`/502 diagnose ${escapeMrkdwn(host)}\`.`)] };
  }
  const lines = entries.map((e) => {
    const actor = e.actor === undefined ? '' : isSlackUserId(e.actor) ? ` ${mention(e.actor)}` : ` ${escapeMrkdwn(truncatePlain(e.actor, 80))}`;
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
  if (groupLines.length > 0) for (const chunk of chunkLines([`*Groups*`, ...groupLines], SLACK_LIMITS.sectionText - 50)) blocks.push(section(chunk));
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
