import type { RemediationId } from '../causes.ts';
import type { Finding } from '../finding.ts';
import type { RemediationView } from '../remediation/remediation-result.ts';
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
  type ConfirmDialog,
  type SlackMessage,
} from './block-kit.ts';
import { escapeCode, escapeMrkdwn, fenceCode, fitEscaped, inlineCode } from './escape-mrkdwn.ts';
import { sanitizeText } from './sanitize.ts';
import { REMEDIATION_EFFECT, REMEDIATION_LABEL, SEVERITY_ICON, verdictIcon } from './slack-labels.ts';

/*
 * One finding as a thread reply: its evidence within Block Kit's limits, its next steps, and
 * its remediation buttons, or, once one was approved, how that remediation went. PURE.
 */

/** The button value (an approval id) and action id of one remediation button. */
export const REMEDIATE_ACTION_PREFIX = 'remediate:';

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
export function evidenceBlocks(
  lines: readonly string[],
  sections = EVIDENCE_SECTIONS,
): { blocks: Block[]; shownLines: number; cutLines: number } {
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
  blocks.push(
    section(
      `${SEVERITY_ICON[f.severity]} *${view.index + 1}/${view.total} · ${escapeMrkdwn(f.title)}*\n${inlineCode(f.cause)} · ${f.severity}${tag}`,
    ),
  );
  if (f.explanation !== '') blocks.push(section(escapeMrkdwn(f.explanation)));
  if (f.evidence.length > 0) {
    const ev = evidenceBlocks(f.evidence);
    blocks.push(...ev.blocks);
    if (ev.cutLines > 0) {
      const bytes = f.evidence.reduce((n, l) => n + l.length + 1, 0);
      blocks.push(
        context(
          `:scissors: Showing ${ev.shownLines} of ${f.evidence.length} evidence line(s); ${ev.cutLines} cut or shortened (${formatBytes(bytes)} in all). The audit trail keeps the diagnosis.`,
        ),
      );
    }
  }
  if (f.nextSteps.length > 0) {
    blocks.push(
      section(
        `*Next steps*\n${f.nextSteps
          .slice(0, 10)
          .map((s) => `• ${escapeMrkdwn(s)}`)
          .join('\n')}`,
      ),
    );
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
  return {
    text: fallbackText(`${view.host} finding ${view.index + 1}/${view.total}: ${escapeMrkdwn(f.title)}`),
    blocks: blocks.slice(0, SLACK_LIMITS.blocksPerMessage),
  };
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
  const out: Block[] = [
    section(
      `${icon} ${who}: ${state} (${seconds(res.durationMs)}).${res.error !== undefined ? `\n${escapeMrkdwn(sanitizeText(res.error))}` : ''}`,
    ),
  ];
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
