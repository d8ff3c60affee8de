import type { Logger } from 'pino';
import type { Inventory } from '../../core/inventory/inventory-schema.ts';
import { resolveHosts, unknownHostMessage } from '../../core/inventory/resolve-hosts.ts';
import { defuseBroadcasts } from '../../core/report/escape-mrkdwn.ts';
import { capEscaped, SLACK_LIMITS, type Requester } from '../../core/report/render-blocks.ts';
import { MedicError } from '../../errors.ts';
import { enqueueDiagnose, type MedicQueues } from '../queue/medic-queues.ts';
import type { AuditTrail } from '../store/audit-trail.ts';
import type { DiagnosisRecord, DiagnosisRecords } from '../store/diagnosis-records.ts';
import { newFanoutId, type FanoutRecords } from '../store/fanout-records.ts';
import type { ChatApi, SlackReporter } from './slack-reporter.ts';

export interface DiagnosisRequest {
  /** An inventory host name. */
  host: string;
  /** Where the report goes (channel id, or a name). */
  channel: string;
  requestedBy: Requester;
  /** Why, shown on the report (untrusted text: escaped when shown). */
  reason?: string;
  /** @defaultValue the host's playbook from the inventory */
  playbook?: string;
  /** The fan-out summary this host belongs to. */
  fanoutId?: string;
}

export interface DiagnosisTicket {
  diagnosisId: string;
  host: string;
  /** True when the host had a diagnosis running or just finished and this request shares it. */
  joined: boolean;
  /** Where the report is (for a joined request: where the shared report is). */
  channel: string;
  rootTs?: string;
  status: DiagnosisRecord['status'];
}

/** Points at a report: by diagnosis, or directly at a message (alert notices). */
export interface ReportRef {
  channel: string;
  diagnosisId?: string;
  rootTs?: string;
}

export interface DiagnosisServiceOptions {
  records: DiagnosisRecords;
  fanouts: FanoutRecords;
  audit: AuditTrail;
  reporter: SlackReporter;
  client: ChatApi;
  queues: MedicQueues;
  inventory: () => Inventory;
  logger: Logger;
  now: () => Date;
}

const actorOf = (r: Requester): string => (r.kind === 'user' ? r.userId : `alert:${r.source}/${r.alertName}`.slice(0, 200));

/**
 * The one way a diagnosis gets requested, by a person (`/502 diagnose`) or by an alert
 * (issue 5's receivers): dedup, audit, the root message, the queued job. Never runs a diagnosis
 * inline. Also what alert receivers need to talk into a report's thread.
 */
export class DiagnosisService {
  constructor(private readonly o: DiagnosisServiceOptions) {}

  /**
   * Queues a diagnosis of one inventory host, or joins the one running (or finished within the
   * dedup window) for it; the joiner is named on the report. Throws MedicError HOST_UNKNOWN for
   * a host the inventory does not have (with the list of hosts).
   */
  async requestDiagnosis(request: DiagnosisRequest): Promise<DiagnosisTicket> {
    const inventory = this.o.inventory();
    const inv = Object.hasOwn(inventory.hosts, request.host) ? inventory.hosts[request.host] : undefined;
    const actor = actorOf(request.requestedBy);
    if (inv === undefined) {
      await this.o.audit.record({ kind: 'refused', actor, detail: `diagnose ${request.host.slice(0, 100)}: not in the inventory` });
      throw new MedicError('HOST_UNKNOWN', unknownHostMessage(inventory, request.host));
    }
    const requestedAt = this.o.now().toISOString();
    const { record, joined } = await this.o.records.open({
      host: request.host,
      playbook: request.playbook ?? inv.playbook,
      channel: request.channel,
      requestedBy: request.requestedBy,
      requestedAt,
      ...(request.reason !== undefined && request.reason !== '' ? { reason: request.reason.slice(0, 500) } : {}),
    });
    if (request.fanoutId !== undefined) await this.o.records.addFanout(record.id, request.fanoutId);
    if (joined) {
      await this.o.audit.record({ kind: 'joined', host: request.host, actor, diagnosisId: record.id, detail: `shares diagnosis ${record.id} (${record.status})` });
      await this.announceJoiner(record);
      return this.ticket(record, true);
    }
    await this.o.audit.record({ kind: 'request', host: request.host, actor, diagnosisId: record.id, detail: `diagnose ${request.host} in ${request.channel}${request.reason ? `: ${request.reason.slice(0, 200)}` : ''}` });
    try {
      const root = await this.o.reporter.postRoot(record);
      record.rootTs = root.ts;
      record.channel = root.channel;
      await enqueueDiagnose(this.o.queues, { diagnosisId: record.id, host: record.host, playbook: record.playbook });
    } catch (e) {
      // Free the host's slot, or every request for it would join a diagnosis that never runs.
      await this.o.records.release(record);
      await this.o.records.fail(record, { message: `could not be queued: ${(e as Error).message}` }, 0).catch(() => undefined);
      if (record.rootTs !== undefined) await this.o.reporter.refreshRoot(record.id).catch(() => undefined);
      throw e;
    }
    return this.ticket(record, false);
  }

  /**
   * `/502 diagnose <host|group|pattern>`: one host is one report; several get a summary message
   * listing them, and a report (root + thread) each.
   */
  async requestTarget(input: { target: string; channel: string; requestedBy: Requester; reason?: string }): Promise<{ hosts: string[]; tickets: DiagnosisTicket[]; fanoutId?: string }> {
    const hosts = resolveHosts(this.o.inventory(), input.target);
    const base = { channel: input.channel, requestedBy: input.requestedBy, ...(input.reason !== undefined ? { reason: input.reason } : {}) };
    if (hosts.length === 1) return { hosts, tickets: [await this.requestDiagnosis({ ...base, host: hosts[0] as string })] };
    const fanoutId = newFanoutId();
    const fanout = { id: fanoutId, target: input.target, channel: input.channel, requestedBy: input.requestedBy, requestedAt: this.o.now().toISOString(), hosts: hosts.map((host) => ({ host })) };
    await this.o.fanouts.create(fanout);
    await this.o.reporter.postFanout(fanout);
    const tickets: DiagnosisTicket[] = [];
    for (const host of hosts) {
      const t = await this.requestDiagnosis({ ...base, host, fanoutId });
      await this.o.fanouts.setHost(fanoutId, host, t.diagnosisId, t.joined);
      tickets.push(t);
    }
    await this.o.reporter.refreshFanout(fanoutId);
    return { hosts, tickets, fanoutId };
  }

  private readonly refreshing = new Set<string>();

  /**
   * Names the joiner on the shared report's root ("Also asked"). Coalesced: a burst of requests
   * for one host (an alert storm, a channel all typing at once) costs one chat.update, not one each.
   */
  private async announceJoiner(record: DiagnosisRecord): Promise<void> {
    if (this.refreshing.has(record.id)) return;
    this.refreshing.add(record.id);
    setTimeout(() => {
      this.refreshing.delete(record.id);
      this.o.reporter.refreshRoot(record.id).catch((e: unknown) => this.o.logger.warn({ err: e, diagnosisId: record.id }, 'could not name the joiner on the report'));
    }, 300).unref();
  }

  private ticket(record: DiagnosisRecord, joined: boolean): DiagnosisTicket {
    return { diagnosisId: record.id, host: record.host, joined, channel: record.channel, status: record.status, ...(record.rootTs !== undefined ? { rootTs: record.rootTs } : {}) };
  }

  /** The diagnosis holding a host's dedup slot (running, or finished within the window). */
  async findActive(host: string): Promise<DiagnosisTicket | undefined> {
    const record = await this.o.records.active(host);
    return record === undefined ? undefined : this.ticket(record, false);
  }

  // ---------------------------------------------------------------- for alert receivers

  /** A short reply in a report's thread; `text` is escaped mrkdwn (broadcasts are defused again). */
  async postInThread(ref: ReportRef, text: string): Promise<void> {
    if (ref.diagnosisId !== undefined) {
      await this.o.reporter.postInThread(ref.diagnosisId, text);
      return;
    }
    if (ref.rootTs === undefined) throw new Error('postInThread needs a diagnosisId or a rootTs');
    const safe = capEscaped(defuseBroadcasts(text), SLACK_LIMITS.sectionText);
    await this.o.client.chat.postMessage({ channel: ref.channel, thread_ts: ref.rootTs, text: safe, unfurl_links: false, unfurl_media: false });
  }

  /** Shows an alert's state on the report's root message (the verdict stays); `text` is escaped mrkdwn. */
  async markAlertState(ref: ReportRef, state: 'firing' | 'resolved', text: string): Promise<void> {
    if (ref.diagnosisId === undefined) throw new Error('markAlertState needs a diagnosisId');
    await this.o.records.addNote(ref.diagnosisId, { at: this.o.now().toISOString(), kind: state, text, mrkdwn: true });
    const record = await this.o.records.get(ref.diagnosisId);
    await this.o.audit.record({ kind: 'alert', ...(record !== undefined ? { host: record.host } : {}), diagnosisId: ref.diagnosisId, detail: `alert ${state}` });
    await this.o.reporter.refreshRoot(ref.diagnosisId);
  }

  /** A message of its own (e.g. an alert for a host not in the inventory); `text` is escaped mrkdwn. */
  async postNotice(channel: string, text: string): Promise<{ channel: string; ts: string }> {
    const res = await this.o.client.chat.postMessage({ channel, text: capEscaped(defuseBroadcasts(text), SLACK_LIMITS.messageText), unfurl_links: false, unfurl_media: false });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    return { channel: res.channel ?? channel, ts: res.ts };
  }

  async updateNotice(channel: string, ts: string, text: string): Promise<void> {
    await this.o.client.chat.update({ channel, ts, text: capEscaped(defuseBroadcasts(text), SLACK_LIMITS.messageText) });
  }
}
