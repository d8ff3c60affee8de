import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { defuseBroadcasts } from '../../core/report/escape-mrkdwn.ts';
import {
  capEscaped,
  SLACK_LIMITS,
  renderFanout,
  renderFinding,
  renderRoot,
  type Block,
  type FanoutHostView,
  type RootView,
  type SlackMessage,
} from '../../core/report/render-blocks.ts';
import { ApprovalStore } from '../store/approval-store.ts';
import type { DiagnosisRecord, DiagnosisRecords } from '../store/diagnosis-records.ts';
import type { FanoutRecord, FanoutRecords } from '../store/fanout-records.ts';
import type { RedisKeys } from '../store/redis-keys.ts';
import { withRedisLock } from '../store/redis-lock.ts';

/** The Web API methods the reports need; @slack/web-api's WebClient has them. */
export interface ChatApi {
  chat: {
    postMessage(args: { channel: string; text: string; blocks?: Block[]; thread_ts?: string; unfurl_links?: boolean; unfurl_media?: boolean }): Promise<{ ok?: boolean; ts?: string; channel?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks?: Block[] }): Promise<{ ok?: boolean }>;
    postEphemeral(args: { channel: string; user: string; text: string; blocks?: Block[]; thread_ts?: string }): Promise<{ ok?: boolean }>;
    getPermalink(args: { channel: string; message_ts: string }): Promise<{ ok?: boolean; permalink?: string }>;
  };
}

export interface SlackReporterOptions {
  client: ChatApi;
  redis: Redis;
  keys: RedisKeys;
  records: DiagnosisRecords;
  approvals: ApprovalStore;
  fanouts: FanoutRecords;
  logger: Logger;
  now: () => Date;
  /** How long remediation buttons stay valid (MEDIC_APPROVAL_TTL). */
  approvalTtlMs: number;
}

/**
 * Posts and updates the report messages. Every message is rendered from what Redis holds, under
 * a per-message Redis lock, so processes updating one message cannot overwrite a newer state
 * with an older one; thread replies are posted once (guarded by a Redis hash of what was posted).
 */
export class SlackReporter {
  /** channel/ts → permalink: a message's link never changes, and a summary is refreshed per host. */
  private readonly permalinks = new Map<string, string>();

  constructor(private readonly o: SlackReporterOptions) {}

  rootView(record: DiagnosisRecord): RootView {
    const view: RootView = {
      host: record.host,
      status: record.status,
      requestedBy: record.requestedBy,
      requestedAt: record.requestedAt,
      joiners: record.joiners,
      notes: record.notes,
    };
    if (record.reason !== undefined) view.reason = record.reason;
    if (record.diagnosis !== undefined) view.diagnosis = record.diagnosis;
    if (record.error !== undefined) view.error = record.error;
    if (record.remediation !== undefined) view.remediation = record.remediation;
    return view;
  }

  /** Posts the root message of a new diagnosis; returns where it went. */
  async postRoot(record: DiagnosisRecord): Promise<{ channel: string; ts: string }> {
    const message = renderRoot(this.rootView(record));
    const res = await this.o.client.chat.postMessage({ channel: record.channel, ...message, unfurl_links: false, unfurl_media: false });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    const channel = res.channel ?? record.channel;
    await this.o.records.setRoot(record.id, res.ts, channel);
    return { channel, ts: res.ts };
  }

  /** Re-renders the root message from the record as it is now. */
  async refreshRoot(diagnosisId: string): Promise<void> {
    await withRedisLock(this.o.redis, this.o.keys.lock(`root:${diagnosisId}`), async () => {
      const record = await this.o.records.get(diagnosisId);
      if (record?.rootTs === undefined) return;
      await this.update(record.channel, record.rootTs, renderRoot(this.rootView(record)));
    });
  }

  /**
   * Everything a finished diagnosis shows: the root with the verdict, one thread reply per
   * finding (each posted once, whoever runs this and however often), fan-out summaries.
   */
  async publish(diagnosisId: string): Promise<void> {
    await this.refreshRoot(diagnosisId);
    await withRedisLock(this.o.redis, this.o.keys.lock(`replies:${diagnosisId}`), async () => {
      const record = await this.o.records.get(diagnosisId);
      if (record?.rootTs === undefined || record.diagnosis === undefined) return;
      const posted = await this.o.records.postedReplies(diagnosisId);
      const findings = record.diagnosis.findings;
      for (let i = 0; i < findings.length; i++) {
        if (posted.has(i)) continue;
        const ts = await this.postFinding(record, i);
        await this.o.records.markReplyPosted(diagnosisId, i, ts);
      }
    });
    await this.refreshFanoutsOf(diagnosisId);
  }

  private async postFinding(record: DiagnosisRecord, index: number): Promise<string> {
    const diagnosis = record.diagnosis;
    const finding = diagnosis?.findings[index];
    if (diagnosis === undefined || finding === undefined || record.rootTs === undefined) throw new Error(`no finding ${index} in ${record.id}`);
    const now = this.o.now();
    const expiresAt = new Date(now.getTime() + this.o.approvalTtlMs).toISOString();
    const buttons = [];
    for (const remediation of finding.remediations) {
      const created = await this.o.approvals.create({
        id: ApprovalStore.idFor(record.id, index, remediation),
        diagnosisId: record.id,
        host: record.host,
        remediation,
        findingIndex: index,
        channel: record.channel,
        ...(record.requestedBy.kind === 'user' ? { requestedBy: record.requestedBy.userId } : {}),
        createdAt: now.toISOString(),
        expiresAt,
      });
      buttons.push({ remediation, approvalId: created.id, expiresAt: created.expiresAt });
    }
    const message = renderFinding({
      host: record.host,
      index,
      total: diagnosis.findings.length,
      finding,
      buttons,
      ...(buttons[0] !== undefined ? { approvalExpiresAt: buttons[0].expiresAt } : {}),
    });
    const res = await this.o.client.chat.postMessage({ channel: record.channel, thread_ts: record.rootTs, ...message, unfurl_links: false, unfurl_media: false });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    for (const b of buttons) await this.o.approvals.setMessageTs(b.approvalId, res.ts);
    return res.ts;
  }

  /** Re-renders the thread reply holding an approval's button: approved by whom, running, result. */
  async refreshFinding(approvalId: string): Promise<void> {
    const approval = await this.o.approvals.get(approvalId);
    if (approval?.messageTs === undefined) return;
    await withRedisLock(this.o.redis, this.o.keys.lock(`finding:${approval.diagnosisId}:${approval.findingIndex}`), async () => {
      const [record, fresh] = await Promise.all([this.o.records.get(approval.diagnosisId), this.o.approvals.get(approvalId)]);
      const finding = record?.diagnosis?.findings[approval.findingIndex];
      if (record?.diagnosis === undefined || finding === undefined || fresh === undefined) return;
      const message = renderFinding({
        host: record.host,
        index: approval.findingIndex,
        total: record.diagnosis.findings.length,
        finding,
        buttons: [],
        ...(fresh.approvedBy !== undefined
          ? {
              remediation: {
                remediation: fresh.remediation,
                approvedBy: fresh.approvedBy,
                approvedAt: fresh.approvedAt ?? this.o.now().toISOString(),
                status: fresh.status ?? 'running',
                ...(fresh.result !== undefined ? { result: fresh.result } : {}),
              },
            }
          : {}),
      });
      await this.update(record.channel, fresh.messageTs as string, message);
    });
  }

  /** A reply in a diagnosis' thread; `mrkdwn` must already be escaped (broadcasts are defused again). */
  async postInThread(diagnosisId: string, mrkdwn: string): Promise<string | undefined> {
    const record = await this.o.records.get(diagnosisId);
    if (record?.rootTs === undefined) return undefined;
    const text = capEscaped(defuseBroadcasts(mrkdwn), SLACK_LIMITS.sectionText);
    const res = await this.o.client.chat.postMessage({
      channel: record.channel,
      thread_ts: record.rootTs,
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
      unfurl_links: false,
      unfurl_media: false,
    });
    return res.ts;
  }

  // ---------------------------------------------------------------- fan-out

  async postFanout(fanout: FanoutRecord): Promise<string> {
    const res = await this.o.client.chat.postMessage({ channel: fanout.channel, ...(await this.fanoutMessage(fanout)), unfurl_links: false, unfurl_media: false });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    await this.o.fanouts.setTs(fanout.id, res.ts);
    return res.ts;
  }

  async refreshFanout(fanoutId: string): Promise<void> {
    await withRedisLock(this.o.redis, this.o.keys.lock(`fanout:${fanoutId}`), async () => {
      const fanout = await this.o.fanouts.get(fanoutId);
      if (fanout?.ts === undefined) return;
      await this.update(fanout.channel, fanout.ts, await this.fanoutMessage(fanout));
    });
  }

  private async refreshFanoutsOf(diagnosisId: string): Promise<void> {
    for (const id of await this.o.records.fanoutsOf(diagnosisId)) await this.refreshFanout(id);
  }

  private async fanoutMessage(fanout: FanoutRecord): Promise<SlackMessage> {
    const hosts: FanoutHostView[] = [];
    for (const h of fanout.hosts) {
      const record = h.diagnosisId === undefined ? undefined : await this.o.records.get(h.diagnosisId);
      const view: FanoutHostView = { host: h.host, status: record?.status ?? 'queued' };
      if (h.joined === true) view.joined = true;
      if (record?.rootTs !== undefined) {
        const link = await this.permalink(record.channel, record.rootTs);
        if (link !== undefined) view.link = link;
      }
      if (record?.diagnosis !== undefined) {
        view.cause = record.diagnosis.verdict.cause;
        view.title = record.diagnosis.verdict.title;
      }
      hosts.push(view);
    }
    return renderFanout({ target: fanout.target, requestedBy: fanout.requestedBy, requestedAt: fanout.requestedAt, hosts });
  }

  /** The message's permalink (chat.getPermalink), or undefined when Slack will not say: the summary then goes without. */
  private async permalink(channel: string, ts: string): Promise<string | undefined> {
    const key = `${channel}/${ts}`;
    const known = this.permalinks.get(key);
    if (known !== undefined) return known;
    try {
      const res = await this.o.client.chat.getPermalink({ channel, message_ts: ts });
      if (res.permalink === undefined) return undefined;
      if (this.permalinks.size >= 1000) this.permalinks.clear();
      this.permalinks.set(key, res.permalink);
      return res.permalink;
    } catch (e) {
      this.o.logger.warn({ err: e, channel, ts }, 'chat.getPermalink failed; the summary links to no report');
      return undefined;
    }
  }

  private async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.o.client.chat.update({ channel, ts, ...message });
  }
}
