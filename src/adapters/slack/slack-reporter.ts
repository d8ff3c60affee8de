import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { defuseBroadcasts } from '../../core/report/escape-mrkdwn.ts';
import { capEscaped, SLACK_LIMITS, type SlackMessage } from '../../core/report/block-kit.ts';
import { renderFinding } from '../../core/report/render-finding.ts';
import { renderRoot, type RootView } from '../../core/report/render-root.ts';
import { renderFanout, type FanoutHostView } from '../../core/report/render-fanout.ts';
import { renderRemediationNotice } from '../../core/report/render-remediation-notice.ts';
import type { RemediationAnnouncement } from '../../jobs/ports.ts';
import { ApprovalStore } from '../store/approval-store.ts';
import type { DiagnosisRecord } from '../../core/diagnosis-request.ts';
import type { DiagnosisRecords } from '../store/diagnosis-records.ts';
import type { FanoutRecord, FanoutRecords } from '../store/fanout-records.ts';
import type { RedisKeys } from '../store/redis-keys.ts';
import { withRedisLock } from '../store/redis-lock.ts';
import { LatestRun } from './latest-run.ts';
import type { ChatApi, SlackPriority } from './chat-api.ts';

export interface SlackReporterOptions {
  /** The Web API at a priority (the budget's views): what a person waits for goes first. */
  slack: (priority: SlackPriority) => ChatApi;
  /** The workspace's URL (auth.test's `url`), to build message links without chat.getPermalink; undefined when unknown. */
  workspaceUrl: () => Promise<string | undefined>;
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
 *
 * A fan-out (`/502 diagnose web`) posts one summary into the channel. Its hosts get no message
 * of their own while they run: each host's report (root and findings) goes into the summary's
 * thread once it has a verdict, posted in the background at the pace Slack allows, so that
 * neither 100 root messages land in the channel nor the diagnoses wait for Slack.
 */
export class SlackReporter {
  private readonly summaries = new LatestRun();
  private readonly threadPosts = new LatestRun();
  /** Work started in the background (summaries, fan-out reports), awaited by `idle()`. */
  private readonly background = new Set<Promise<void>>();
  private readonly urgent: ChatApi;
  private readonly normal: ChatApi;
  private readonly bulk: ChatApi;

  constructor(private readonly o: SlackReporterOptions) {
    this.urgent = o.slack('urgent');
    this.normal = o.slack('normal');
    this.bulk = o.slack('bulk');
  }

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

  /**
   * Posts the root message of a new diagnosis; returns where it went. A host of a fan-out gets
   * none yet: its report will be in the summary's thread, which is what this returns.
   */
  async postRoot(record: DiagnosisRecord): Promise<{ channel: string; ts: string }> {
    const home = await this.fanoutHome(record);
    if (home !== undefined) return { channel: home.channel, ts: home.ts };
    const message = renderRoot(this.rootView(record));
    const res = await this.urgent.chat.postMessage({ channel: record.channel, ...message, unfurl_links: false, unfurl_media: false });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    const channel = res.channel ?? record.channel;
    // Known before Redis is asked to keep it: if that fails, the caller can still finish the message.
    record.rootTs = res.ts;
    record.channel = channel;
    await this.o.records.setRoot(record.id, res.ts, channel);
    return { channel, ts: res.ts };
  }

  /** Re-renders the root message from the record as it is now. */
  async refreshRoot(diagnosisId: string): Promise<void> {
    await withRedisLock(this.o.redis, this.o.keys.lock(`root:${diagnosisId}`), async () => {
      const record = await this.o.records.get(diagnosisId);
      if (record?.rootTs === undefined) return;
      await this.update(record.channel, record.rootTs, renderRoot(this.rootView(record)), this.urgent);
    });
  }

  /**
   * Everything a finished diagnosis shows: the root with the verdict, one thread reply per
   * finding (each posted once, whoever runs this and however often), fan-out summaries.
   */
  async publish(diagnosisId: string): Promise<void> {
    const first = await this.o.records.get(diagnosisId);
    const home = first?.rootTs === undefined && first !== undefined ? await this.fanoutHome(first) : undefined;
    if (home !== undefined) {
      // The verdict shows in the summary first; the host's own report follows in its thread.
      this.inBackground(this.refreshFanoutsOf(diagnosisId), 'could not refresh the fan-out summary');
      // This host first, by its id: the fan-out may not list its diagnosis yet (the job can
      // finish before the request that queued it has recorded it there).
      this.inBackground(
        this.postHostReport(diagnosisId, home.channel, home.ts).then(() => this.postFanoutReports(home.id)),
        'could not post the reports of a fan-out',
      );
      return;
    }
    await this.refreshRoot(diagnosisId);
    await withRedisLock(this.o.redis, this.o.keys.lock(`replies:${diagnosisId}`), async () => {
      const record = await this.o.records.get(diagnosisId);
      if (record?.rootTs === undefined || record.diagnosis === undefined) return;
      const posted = await this.o.records.postedReplies(diagnosisId);
      const findings = record.diagnosis.findings;
      for (let i = 0; i < findings.length; i++) {
        if (posted.has(i)) continue;
        const ts = await this.postFinding(record, i, this.urgent);
        await this.o.records.markReplyPosted(diagnosisId, i, ts);
      }
    });
    await this.refreshFanoutsOf(diagnosisId);
  }

  private async postFinding(record: DiagnosisRecord, index: number, slack: ChatApi): Promise<string> {
    const diagnosis = record.diagnosis;
    const finding = diagnosis?.findings[index];
    if (diagnosis === undefined || finding === undefined || record.rootTs === undefined)
      throw new Error(`no finding ${index} in ${record.id}`);
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
    const res = await slack.chat.postMessage({
      channel: record.channel,
      thread_ts: record.threadTs ?? record.rootTs,
      ...message,
      unfurl_links: false,
      unfurl_media: false,
    });
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
      await this.update(record.channel, fresh.messageTs as string, message, this.urgent);
    });
  }

  /** A reply in a diagnosis' thread; `mrkdwn` must already be escaped (broadcasts are defused again). */
  async postInThread(diagnosisId: string, mrkdwn: string): Promise<string | undefined> {
    const record = await this.o.records.get(diagnosisId);
    if (record?.rootTs === undefined) return undefined;
    const text = capEscaped(defuseBroadcasts(mrkdwn), SLACK_LIMITS.sectionText);
    const res = await this.normal.chat.postMessage({
      channel: record.channel,
      thread_ts: record.threadTs ?? record.rootTs,
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
      unfurl_links: false,
      unfurl_media: false,
    });
    return res.ts;
  }

  /** Says in the diagnosis' thread how an approved remediation went. */
  async announceRemediation(diagnosisId: string, announcement: RemediationAnnouncement): Promise<void> {
    await this.postInThread(diagnosisId, renderRemediationNotice(announcement));
  }

  // ---------------------------------------------------------------- fan-out

  async postFanout(fanout: FanoutRecord): Promise<string> {
    const res = await this.urgent.chat.postMessage({
      channel: fanout.channel,
      ...(await this.fanoutMessage(fanout)),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    await this.o.fanouts.setTs(fanout.id, res.ts);
    return res.ts;
  }

  /**
   * Re-renders a summary from Redis. Requests that come while one runs are folded into one more
   * run (LatestRun), and the budget sends only the newest of waiting updates: the summary of
   * 100 hosts costs a chat.update per Slack's pace, not per host.
   */
  refreshFanout(fanoutId: string): Promise<void> {
    return this.summaries.run(fanoutId, () =>
      withRedisLock(this.o.redis, this.o.keys.lock(`fanout:${fanoutId}`), async () => {
        const fanout = await this.o.fanouts.get(fanoutId);
        if (fanout?.ts === undefined) return;
        await this.update(fanout.channel, fanout.ts, await this.fanoutMessage(fanout), this.normal);
      }),
    );
  }

  private async refreshFanoutsOf(diagnosisId: string): Promise<void> {
    for (const id of await this.o.records.fanoutsOf(diagnosisId)) await this.refreshFanout(id);
  }

  /** The summary a diagnosis' report goes under: a fan-out of the same channel whose message is posted. */
  private async fanoutHome(record: DiagnosisRecord): Promise<{ id: string; channel: string; ts: string } | undefined> {
    for (const id of await this.o.records.fanoutsOf(record.id)) {
      const fanout = await this.o.fanouts.get(id);
      if (fanout?.ts !== undefined && fanout.channel === record.channel) return { id, channel: fanout.channel, ts: fanout.ts };
    }
    return undefined;
  }

  /**
   * Posts, into the summary's thread, the report of every host of the fan-out that has a verdict
   * and no report yet. Any process finishing a host runs it, so reports a stopped process left
   * unposted are posted by the next; the per-report lock and the posted-replies guard keep each
   * message single.
   */
  private postFanoutReports(fanoutId: string): Promise<void> {
    return this.threadPosts.run(fanoutId, async () => {
      const fanout = await this.o.fanouts.get(fanoutId);
      if (fanout?.ts === undefined) return;
      for (const h of fanout.hosts) {
        if (h.diagnosisId === undefined || h.joined === true) continue;
        await this.postHostReport(h.diagnosisId, fanout.channel, fanout.ts);
      }
    });
  }

  private async postHostReport(diagnosisId: string, channel: string, threadTs: string): Promise<void> {
    // Held while the report's messages wait their turn at Slack's pace (a second each, more
    // after a 429): a longer lease than the default, or another process could post it twice.
    const lease = { ttlMs: 60_000, waitMs: 90_000 };
    await withRedisLock(
      this.o.redis,
      this.o.keys.lock(`replies:${diagnosisId}`),
      async () => {
        const record = await this.o.records.get(diagnosisId);
        if (record === undefined || (record.status !== 'done' && record.status !== 'failed')) return;
        if (record.rootTs === undefined) {
          const res = await this.bulk.chat.postMessage({
            channel,
            thread_ts: threadTs,
            ...renderRoot(this.rootView(record)),
            unfurl_links: false,
            unfurl_media: false,
          });
          if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
          await this.o.records.setRoot(record.id, res.ts, res.channel ?? channel, threadTs);
          record.rootTs = res.ts;
          record.threadTs = threadTs;
        } else if (record.threadTs !== threadTs) return;
        const findings = record.diagnosis?.findings ?? [];
        const posted = await this.o.records.postedReplies(diagnosisId);
        for (let i = 0; i < findings.length; i++) {
          if (posted.has(i)) continue;
          const ts = await this.postFinding(record, i, this.bulk);
          await this.o.records.markReplyPosted(diagnosisId, i, ts);
        }
      },
      lease,
    );
  }

  private async fanoutMessage(fanout: FanoutRecord): Promise<SlackMessage> {
    const workspace = await this.o.workspaceUrl();
    const hosts: FanoutHostView[] = [];
    for (const h of fanout.hosts) {
      const record = h.diagnosisId === undefined ? undefined : await this.o.records.get(h.diagnosisId);
      const view: FanoutHostView = { host: h.host, status: record?.status ?? 'queued' };
      if (h.joined === true) view.joined = true;
      // Reports in this summary's thread are found there; a shared report elsewhere is linked.
      if (record?.rootTs !== undefined && record.threadTs === undefined && workspace !== undefined)
        view.link = messageLink(workspace, record.channel, record.rootTs);
      if (record?.diagnosis !== undefined) {
        view.cause = record.diagnosis.verdict.cause;
        view.title = record.diagnosis.verdict.title;
        const severity = record.diagnosis.findings[0]?.severity;
        if (severity !== undefined) view.severity = severity;
        if (record.diagnosis.incomplete) view.incomplete = true;
      }
      if (record?.error?.code !== undefined) view.errorCode = record.error.code;
      hosts.push(view);
    }
    return renderFanout({ target: fanout.target, requestedBy: fanout.requestedBy, requestedAt: fanout.requestedAt, hosts });
  }

  private inBackground(work: Promise<void>, failure: string): void {
    const tracked = work.catch((e: unknown) => this.o.logger.warn({ err: e }, failure)).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /** Resolves once the work started in the background has finished (on stop, and in tests). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private async update(channel: string, ts: string, message: SlackMessage, slack: ChatApi): Promise<void> {
    await slack.chat.update({ channel, ts, ...message });
  }
}

/**
 * A message's link, as chat.getPermalink gives it for a message outside a thread:
 * `<workspace URL>archives/<channel>/p<ts without the dot>`. Built, not asked for: a link per
 * host per summary update was most of the Web API calls a fan-out made.
 */
export function messageLink(workspaceUrl: string, channel: string, ts: string): string {
  const base = workspaceUrl.endsWith('/') ? workspaceUrl : `${workspaceUrl}/`;
  return `${base}archives/${encodeURIComponent(channel)}/p${ts.replace('.', '')}`;
}
