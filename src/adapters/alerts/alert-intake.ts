import type { Logger } from 'pino';
import type { AlertInstance } from '../../core/alerts/alert-instance.ts';
import { alertUrl } from '../../core/alerts/alert-url.ts';
import {
  alertStateNote,
  escapeMrkdwn,
  resolvedText,
  stillFiringText,
  supersededText,
  unknownHostResolvedText,
  unknownHostsText,
  unknownHostText,
} from '../../core/alerts/alert-messages.ts';
import { routeAlert, type AlertRoute } from '../../core/alerts/alert-routes.ts';
import { firedUnderKey, groupAlerts, type AlertGroup } from '../../core/alerts/group-alerts.ts';
import { DEFAULT_HOST_LABELS } from '../../core/alerts/map-alert-host.ts';
import { planAlertIncident, type AlertIncident, type AlertPlan } from '../../core/alerts/plan-alert-incident.ts';
import type { Inventory } from '../../core/inventory/inventory-schema.ts';
import type { AlertIncidentStore } from './alert-incident-store.ts';
import type { AlertMetrics } from './alert-metrics.ts';
import type { AlertReporter, ReportRef } from './alert-reporter.ts';

export interface AlertIntakeOptions {
  store: AlertIncidentStore;
  reporter: AlertReporter;
  /** The inventory as it is now (called per webhook call, so a reload is seen). */
  inventory: () => Inventory;
  /** The channel when no route matches (MEDIC_ALERT_CHANNEL). */
  defaultChannel: string;
  /** MEDIC_ALERT_ROUTES, parsed; first match wins. @defaultValue [] */
  routes?: readonly AlertRoute[];
  /** MEDIC_ALERT_HOST_LABELS: labels naming the host, tried in order. @defaultValue host, instance, hostname, nodename */
  hostLabels?: readonly string[];
  /** MEDIC_ALERT_WINDOW: a host reported this recently is not diagnosed again. @defaultValue 10 min */
  windowMs?: number;
  /** MEDIC_ALERT_UPDATE_INTERVAL: at most one "still firing" reply per thread this often. @defaultValue 5 min */
  updateIntervalMs?: number;
  /** Hosts handled at once for one webhook call. @defaultValue 8 */
  concurrency?: number;
  logger: Logger;
  metrics?: AlertMetrics;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** What one webhook call led to; returned to the sender as the response body. */
export interface IntakeSummary {
  alerts: number;
  /** Hosts (inventory names, or `?name` for unknown ones) newly reported. */
  reported: string[];
  /** Hosts whose thread got an update. */
  updated: string[];
  /** Hosts whose update was held back by the rate limit. */
  held: string[];
  resolved: string[];
  /** Alerts naming no inventory host: posted as such, not diagnosed. */
  unknownHosts: string[];
}

/**
 * Turns validated alerts into reports: maps each to a host, groups them per host, and for
 * each host decides (under its lock, from what Redis remembers) to diagnose, update the
 * thread, hold back, or resolve. Everything is done before the webhook is answered, so a
 * failure is a 5xx and Alertmanager or Grafana delivers again.
 */
export class AlertIntake {
  readonly #o: Required<Omit<AlertIntakeOptions, 'metrics'>> & { metrics?: AlertMetrics };

  constructor(options: AlertIntakeOptions) {
    this.#o = {
      routes: [],
      hostLabels: DEFAULT_HOST_LABELS,
      windowMs: 600_000,
      updateIntervalMs: 300_000,
      concurrency: 8,
      now: Date.now,
      ...options,
    };
  }

  async ingest(alerts: readonly AlertInstance[]): Promise<IntakeSummary> {
    const summary: IntakeSummary = { alerts: alerts.length, reported: [], updated: [], held: [], resolved: [], unknownHosts: [] };
    const groups = await this.#group(alerts);
    const queue = [...groups];
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      for (let g = queue.shift(); g !== undefined; g = queue.shift()) {
        // One host failing (Slack down, a lock timeout) must not stop the others of this call.
        await this.#handle(g, summary).catch((e: unknown) => void failures.push(e));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, groups.length) }, worker));
    // The sender delivers again; hosts already handled then see their incident and only update.
    if (failures.length > 0) throw failures[0];
    for (const list of Object.values(summary)) if (Array.isArray(list)) list.sort();
    return summary;
  }

  async #group(alerts: readonly AlertInstance[]): Promise<AlertGroup[]> {
    // A resolution follows the alert to the incident it fired into, even if labels or the inventory changed since.
    const resolved = alerts.filter((a) => a.status === 'resolved');
    const firedUnder = new Map<string, string>();
    for (const source of new Set(resolved.map((a) => a.source))) {
      const fps = resolved.filter((a) => a.source === source).map((a) => a.fingerprint);
      const keys = await this.#o.store.keysForFingerprints(source, fps);
      fps.forEach((f, i) => {
        const k = keys[i];
        if (k !== undefined) firedUnder.set(firedUnderKey(source, f), k);
      });
    }
    return groupAlerts(alerts, { inventory: this.#o.inventory(), hostLabels: this.#o.hostLabels, firedUnder });
  }

  async #handle(group: AlertGroup, summary: IntakeSummary): Promise<void> {
    const { store, logger } = this.#o;
    const first = group.alerts.find((a) => a.status === 'firing') ?? group.alerts[0];
    if (first === undefined) return; // groupAlerts makes no empty group
    const channel = routeAlert(first.labels, this.#o.routes, this.#o.defaultChannel);
    await store.withLock(group.key, async () => {
      const incident = await store.get(group.key);
      const plan = planAlertIncident({
        key: group.key,
        ...(group.host !== undefined ? { host: group.host } : {}),
        channel,
        incident,
        alerts: group.alerts,
        now: this.#o.now(),
        windowMs: this.#o.windowMs,
        updateIntervalMs: this.#o.updateIntervalMs,
      });
      this.#o.metrics?.action(plan.action);
      logger.info({ key: group.key, action: plan.action, alerts: group.alerts.length }, 'alert decision');
      const next = await this.#act(plan, group, first);
      if (next !== undefined) await store.save(next);
      for (const source of new Set(group.alerts.map((a) => a.source))) {
        await store.rememberFingerprints(
          source,
          group.alerts.filter((a) => a.source === source).map((a) => a.fingerprint),
          group.key,
        );
      }
      const bucket = { report: summary.reported, update: summary.updated, hold: summary.held, resolve: summary.resolved, none: undefined }[
        plan.action
      ];
      bucket?.push(group.key);
      if (plan.action === 'report' && group.host === undefined) summary.unknownHosts.push(group.key);
    });
  }

  async #act(plan: AlertPlan, group: AlertGroup, first: AlertInstance): Promise<AlertIncident | undefined> {
    const { reporter } = this.#o;
    const now = this.#o.now();
    switch (plan.action) {
      case 'none':
        return undefined;
      case 'hold':
        return plan.incident;
      case 'report': {
        if (plan.previous !== undefined && (plan.previous.rootTs !== undefined || plan.previous.diagnosisId !== undefined)) {
          await reporter.postInThread(refOf(plan.previous), supersededText(this.#o.windowMs));
        }
        if (group.match.kind === 'unknown') {
          this.#o.metrics?.action('unknown_host');
          const text =
            group.fleet !== undefined ? unknownHostsText(first, group.fleet, group.match.label) : unknownHostText(first, group.match);
          const posted = await reporter.postNotice(plan.incident.channel, text);
          return { ...plan.incident, channel: posted.channel, rootTs: posted.ts, noticeText: text };
        }
        // The public URL the alert names, if any: checked like one typed in Slack.
        const url = alertUrl(group.alerts.filter((a) => a.status === 'firing'));
        if (url !== undefined && 'refused' in url) this.#o.logger.warn({ key: group.key }, url.refused);
        const res = await reporter.requestDiagnosis({
          host: group.host as string,
          channel: plan.incident.channel,
          requestedBy: { kind: 'alert', source: first.source, alertName: first.alertName, labels: first.labels },
          reason: url !== undefined && 'refused' in url ? `${first.summary} (${url.refused})` : first.summary,
          ...(url !== undefined && 'url' in url ? { url: url.url } : {}),
        });
        return {
          ...plan.incident,
          diagnosisId: res.diagnosisId,
          ...(res.channel !== undefined ? { channel: res.channel } : {}),
          ...(res.rootTs !== undefined ? { rootTs: res.rootTs } : {}),
        };
      }
      case 'update': {
        const ref = refOf(plan.incident);
        await reporter.postInThread(ref, stillFiringText(plan.incident, plan.update, this.#o.windowMs, now));
        if (plan.update.refired) await this.#markState(plan.incident, 'firing', now);
        return plan.incident;
      }
      case 'resolve': {
        await this.#markState(plan.incident, 'resolved', now);
        await reporter.postInThread(refOf(plan.incident), resolvedText(plan.incident, now));
        return plan.incident;
      }
    }
  }

  async #markState(incident: AlertIncident, state: 'firing' | 'resolved', now: number): Promise<void> {
    const { reporter } = this.#o;
    if (incident.diagnosisId === undefined && incident.rootTs !== undefined && incident.noticeText !== undefined) {
      const text = state === 'resolved' ? unknownHostResolvedText(incident.noticeText, now, incident) : incident.noticeText;
      await reporter.updateNotice(incident.channel, incident.rootTs, text);
      return;
    }
    await reporter.markAlertState(refOf(incident), state, escapeMrkdwn(alertStateNote(incident, state, now)));
  }
}

function refOf(incident: AlertIncident): ReportRef {
  return {
    channel: incident.channel,
    ...(incident.diagnosisId !== undefined ? { diagnosisId: incident.diagnosisId } : {}),
    ...(incident.rootTs !== undefined ? { rootTs: incident.rootTs } : {}),
  };
}
