import type { Logger } from 'pino';
import type { Inventory } from '../core/inventory/inventory-schema.ts';
import { resolveHosts, unknownHostMessage } from '../core/inventory/resolve-hosts.ts';
import { defuseBroadcasts } from '../core/report/escape-mrkdwn.ts';
import { capEscaped, SLACK_LIMITS } from '../core/report/block-kit.ts';
import { renderRoot } from '../core/report/render-root.ts';
import { asRedisError, errorMessage, isMedicError, MedicError } from '../errors.ts';
import { enqueueDiagnose, type MedicQueues } from '../adapters/queue/medic-queues.ts';
import type { AuditTrail } from '../adapters/store/audit-trail.ts';
import type { DiagnosisRecord, Requester } from '../core/diagnosis-request.ts';
import { PENDING_SLOT_MS, type DiagnosisRecords, type OpenResult } from '../adapters/store/diagnosis-records.ts';
import { newFanoutId, type FanoutRecords } from '../adapters/store/fanout-records.ts';
import type { ChatApi } from '../adapters/slack/chat-api.ts';
import type { SlackReporter } from '../adapters/slack/slack-reporter.ts';

export interface DiagnosisRequest {
  /** An inventory host name. */
  host: string;
  /** Where the report goes (channel id, or a name). */
  channel: string;
  requestedBy: Requester;
  /** Why, shown on the report (untrusted text: escaped when shown). */
  reason?: string;
  /** The public URL that failed (checked by parsePublicUrl), asked of the host's own nginx. */
  url?: string;
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

/** Runs Redis work for a request; an outage becomes REDIS_UNAVAILABLE saying what did not happen. */
async function redisStep<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asRedisError(e, what);
  }
}

const errorOf = (e: unknown): NonNullable<DiagnosisRecord['error']> =>
  isMedicError(e) ? { code: e.code, message: e.message, hint: e.hint } : { message: `could not be queued: ${errorMessage(e)}` };

const actorOf = (r: Requester): string => (r.kind === 'user' ? r.userId : `alert:${r.source}/${r.alertName}`.slice(0, 200));

/**
 * The one way a diagnosis gets requested, by a person (`/502 diagnose`) or by an alert
 * (the alert receivers): dedup, audit, the root message, the queued job. Never runs a diagnosis
 * inline. Also what alert receivers need to talk into a report's thread. The application
 * service: the Slack listeners and the alert receivers are its callers, the stores, the queue
 * and the reporter its tools, so it sits beside the adapters rather than inside one of them.
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
    const open = (): Promise<OpenResult> =>
      redisStep('the diagnosis was not queued', () =>
        this.o.records.open({
          host: request.host,
          playbook: request.playbook ?? inv.playbook,
          channel: request.channel,
          requestedBy: request.requestedBy,
          requestedAt,
          ...(request.reason !== undefined && request.reason !== '' ? { reason: request.reason.slice(0, 500) } : {}),
          ...(request.url !== undefined ? { url: request.url } : {}),
        }),
      );
    let opened = await open();
    // Joined a diagnosis whose job is not confirmed queued yet: wait for it (milliseconds), so a
    // joiner never shares one that a Redis outage cut short; past the grace, take the slot over.
    if (opened.joined && opened.record.pendingSince !== undefined && !(await this.confirmedSoon(opened.record.id))) opened = await open();
    if (opened.joined) {
      const joined = opened.record;
      await redisStep('the request was not recorded', async () => {
        if (request.fanoutId !== undefined) await this.o.records.addFanout(joined.id, request.fanoutId);
        await this.o.audit.record({
          kind: 'joined',
          host: request.host,
          actor,
          diagnosisId: joined.id,
          detail: `shares diagnosis ${joined.id} (${joined.status})`,
        });
      });
      this.announceJoiner(joined.id);
      return this.ticket(joined, true);
    }
    const record = opened.record;
    // The job goes in before anything is posted: a Redis outage here leaves no message behind
    // (the requester is told, and the next request takes the unconfirmed slot over), and a
    // message, once posted, always has a job that brings it to a final state.
    try {
      await redisStep('the diagnosis was not queued', async () => {
        if (request.fanoutId !== undefined) await this.o.records.addFanout(record.id, request.fanoutId);
        await this.o.audit.record({
          kind: 'request',
          host: request.host,
          actor,
          diagnosisId: record.id,
          detail: `diagnose ${request.host}${request.url === undefined ? '' : ` (${request.url})`} in ${request.channel}${request.reason ? `: ${request.reason.slice(0, 200)}` : ''}`,
        });
        await enqueueDiagnose(this.o.queues, { diagnosisId: record.id, host: record.host, playbook: record.playbook });
        await this.o.records.confirmQueued(record);
      });
    } catch (e) {
      // A job that did get in must find the record finished and post nothing; the slot is freed.
      this.settle(record, errorOf(e));
      throw e;
    }
    try {
      await this.o.reporter.postRoot(record);
    } catch (e) {
      const err = asRedisError(e, 'the report could not be started');
      // The queued job must not run a diagnosis nobody will see, nor hold the host's slot.
      this.settle(record, errorOf(err));
      // Posted, but Redis did not keep where: the message is finished from memory, so it
      // does not say "Queued…" for ever.
      if (record.rootTs !== undefined) {
        const failed = renderRoot(this.o.reporter.rootView({ ...record, status: 'failed', error: errorOf(err) }));
        await this.o.client.chat
          .update({ channel: record.channel, ts: record.rootTs, ...failed })
          .catch((u: unknown) => this.o.logger.warn({ err: u, diagnosisId: record.id }, 'could not finish the report message'));
      }
      throw err;
    }
    // The worker may have got further while the root was being posted, and found no message to
    // update: bring the message to where the record is now.
    const now = await this.o.records.get(record.id).catch(() => undefined);
    if (now !== undefined && now.status !== 'queued') {
      await this.o.reporter
        .publish(record.id)
        .catch((e: unknown) => this.o.logger.warn({ err: e, diagnosisId: record.id }, 'could not bring the report up to date'));
    }
    return this.ticket(record, false);
  }

  /**
   * `/502 diagnose <host|group|pattern>`: one host is one report; several get a summary message
   * listing them, and a report (root + thread) each.
   */
  async requestTarget(input: {
    target: string;
    channel: string;
    requestedBy: Requester;
    reason?: string;
    url?: string;
  }): Promise<{ hosts: string[]; tickets: DiagnosisTicket[]; fanoutId?: string }> {
    const hosts = resolveHosts(this.o.inventory(), input.target);
    const base = {
      channel: input.channel,
      requestedBy: input.requestedBy,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.url !== undefined ? { url: input.url } : {}),
    };
    if (hosts.length === 1) return { hosts, tickets: [await this.requestDiagnosis({ ...base, host: hosts[0] as string })] };
    const fanoutId = newFanoutId();
    const fanout = {
      id: fanoutId,
      target: input.target,
      channel: input.channel,
      requestedBy: input.requestedBy,
      requestedAt: this.o.now().toISOString(),
      hosts: hosts.map((host) => ({ host })),
    };
    await redisStep('nothing was queued', () => this.o.fanouts.create(fanout));
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

  /**
   * Marks a request that could not be completed as failed and frees the host's slot, now or,
   * when Redis is away, as soon as it is back (tried for a minute). If its job ran meanwhile
   * and finished, the report it made is shown on the message instead.
   */
  private settle(record: DiagnosisRecord, error: NonNullable<DiagnosisRecord['error']>): void {
    const deadline = Date.now() + 60_000;
    const attempt = async (): Promise<void> => {
      if (!(await this.o.records.fail(record, error, 0))) {
        if (record.rootTs !== undefined) {
          await this.o.records.setRoot(record.id, record.rootTs, record.channel);
          await this.o.reporter.publish(record.id);
        }
      }
      await this.o.records.release(record);
    };
    const retry = (): void => {
      attempt().catch((e: unknown) => {
        if (Date.now() < deadline) setTimeout(retry, 500).unref();
        else this.o.logger.warn({ err: e, diagnosisId: record.id }, 'could not mark the request that Redis interrupted');
      });
    };
    retry();
  }

  /** Waits up to the pending grace for a diagnosis's job to be confirmed queued. */
  private async confirmedSoon(id: string): Promise<boolean> {
    const deadline = Date.now() + PENDING_SLOT_MS + 200;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      const record = await redisStep('the diagnosis was not queued', () => this.o.records.pendingSince(id));
      if (!record.exists) return false;
      if (record.pendingSince === undefined) return true;
    }
    return false;
  }

  private readonly refreshing = new Set<string>();

  /**
   * Names the joiner on the shared report's root ("Also asked"). Coalesced: a burst of requests
   * for one host (an alert storm, a channel all typing at once) costs one chat.update, not one each.
   */
  private announceJoiner(id: string): void {
    if (this.refreshing.has(id)) return;
    this.refreshing.add(id);
    setTimeout(() => {
      this.refreshing.delete(id);
      this.o.reporter
        .refreshRoot(id)
        .catch((e: unknown) => this.o.logger.warn({ err: e, diagnosisId: id }, 'could not name the joiner on the report'));
    }, 300).unref();
  }

  private ticket(record: Pick<DiagnosisRecord, 'id' | 'host' | 'channel' | 'status' | 'rootTs'>, joined: boolean): DiagnosisTicket {
    return {
      diagnosisId: record.id,
      host: record.host,
      joined,
      channel: record.channel,
      status: record.status,
      ...(record.rootTs !== undefined ? { rootTs: record.rootTs } : {}),
    };
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
    await this.o.client.chat.postMessage({
      channel: ref.channel,
      thread_ts: ref.rootTs,
      text: safe,
      unfurl_links: false,
      unfurl_media: false,
    });
  }

  /** Shows an alert's state on the report's root message (the verdict stays); `text` is escaped mrkdwn. */
  async markAlertState(ref: ReportRef, state: 'firing' | 'resolved', text: string): Promise<void> {
    if (ref.diagnosisId === undefined) throw new Error('markAlertState needs a diagnosisId');
    await this.o.records.addNote(ref.diagnosisId, { at: this.o.now().toISOString(), kind: state, text, mrkdwn: true });
    const record = await this.o.records.get(ref.diagnosisId);
    await this.o.audit.record({
      kind: 'alert',
      ...(record !== undefined ? { host: record.host } : {}),
      diagnosisId: ref.diagnosisId,
      detail: `alert ${state}`,
    });
    await this.o.reporter.refreshRoot(ref.diagnosisId);
  }

  /** A message of its own (e.g. an alert for a host not in the inventory); `text` is escaped mrkdwn. */
  async postNotice(channel: string, text: string): Promise<{ channel: string; ts: string }> {
    const res = await this.o.client.chat.postMessage({
      channel,
      text: capEscaped(defuseBroadcasts(text), SLACK_LIMITS.messageText),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (res.ts === undefined) throw new Error('chat.postMessage returned no ts');
    return { channel: res.channel ?? channel, ts: res.ts };
  }

  async updateNotice(channel: string, ts: string, text: string): Promise<void> {
    await this.o.client.chat.update({ channel, ts, text: capEscaped(defuseBroadcasts(text), SLACK_LIMITS.messageText) });
  }
}
