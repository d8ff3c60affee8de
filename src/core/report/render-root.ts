import type { RemediationId } from '../causes.ts';
import type { DiagnosisStatus, Requester, RootNote } from '../diagnosis-request.ts';
import type { Diagnosis } from '../finding.ts';
import type { RemediationStatus } from '../remediation/remediation-result.ts';
import {
  capEscaped,
  context,
  fallbackText,
  mention,
  plain,
  section,
  seconds,
  slackDate,
  SLACK_LIMITS,
  type Block,
  type SlackMessage,
} from './block-kit.ts';
import { defuseBroadcasts, escapeMrkdwn, inlineCode } from './escape-mrkdwn.ts';
import { CAUSE_LABEL, describeRequester, verdictIcon } from './slack-labels.ts';

/*
 * A diagnosis' root message: queued, running, its verdict or why it could not run, who asked,
 * and the notes and remediation that came after. PURE: every time is passed in.
 */

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
      blocks.push(
        section(
          `:warning: *The diagnosis is incomplete*: ${core.length} check(s) of core evidence could not run, so this verdict may miss a cause.\n${gaps.join('\n')}${more}`,
        ),
      );
    }
    if (supplementary.length > 0) {
      const lines = supplementary
        .slice(0, 8)
        .map((g) => `• ${inlineCode(g.check)}: ${escapeMrkdwn(g.reason)}; could hide ${escapeMrkdwn(g.couldHide ?? 'a cause')}`);
      const more = supplementary.length > 8 ? `\n…and ${supplementary.length - 8} more` : '';
      blocks.push(section(`:information_source: *Not read* (supplementary checks; the verdict stands):\n${lines.join('\n')}${more}`));
    }
    if (d.untrustedMasters !== undefined && d.untrustedMasters.length > 0) {
      const lines = d.untrustedMasters
        .slice(0, 5)
        .map((u) => `• pid ${u.pid} (${escapeMrkdwn(u.user)}) ${inlineCode(u.title)}: ${escapeMrkdwn(u.why)}`);
      blocks.push(
        section(
          `:rotating_light: *Ignored masters* (look-alikes nobody vouches for, and containers' masters; none was run or read through its paths):\n${lines.join('\n')}`,
        ),
      );
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
  if (view.diagnosis !== undefined)
    ctx.push(`playbook ${inlineCode(view.diagnosis.playbook)} · started ${slackDate(view.diagnosis.startedAt, '{time_secs}')}`);
  if (view.joiners.length > 0) {
    const shown = view.joiners.slice(0, 10).map(describeRequester).join(', ');
    ctx.push(`Also asked: ${shown}${view.joiners.length > 10 ? ` and ${view.joiners.length - 10} more` : ''}`);
  }
  blocks.push(context(...ctx));
  if (view.remediation !== undefined) {
    const r = view.remediation;
    const state =
      r.status === 'running'
        ? 'running…'
        : r.status === 'succeeded'
          ? r.recovered === true
            ? 'done, the host recovered'
            : 'done, not recovered yet'
          : 'failed';
    blocks.push(context(`:wrench: ${inlineCode(r.remediation)} approved by ${mention(r.approvedBy)}: ${state}`));
  }
  // The newest notes matter most; an alert storm must not push the message over the block limit.
  const notes = view.notes.slice(-5);
  for (const n of notes) {
    const icon = n.kind === 'resolved' ? ':white_check_mark:' : n.kind === 'firing' ? ':fire:' : ':information_source:';
    blocks.push(
      context(`${icon} ${slackDate(n.at, '{time_secs}')} ${n.mrkdwn === true ? defuseBroadcasts(n.text) : escapeMrkdwn(n.text)}`),
    );
  }
  return { text: fallbackText(text), blocks };
}
