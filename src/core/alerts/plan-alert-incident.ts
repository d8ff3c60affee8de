import type { AlertInstance } from './alert-instance.ts';

/**
 * What the bot remembers about the alerts of one host: the report it posted, and which alerts
 * are firing. Stored in Redis between webhook calls and restarts.
 */
export interface AlertIncident {
  /** Inventory host name, or `?<candidate>` for a host the inventory does not have. */
  key: string;
  /** The inventory host; absent for an unknown host. */
  host?: string;
  channel: string;
  /** The queued diagnosis (inventory hosts), once requested. */
  diagnosisId?: string;
  /** The report's root message, once known: updates go into its thread. */
  rootTs?: string;
  /** For an unknown host, the notice we posted, so that its resolution can be appended. */
  noticeText?: string;
  /** When the report was requested, ms since the epoch. */
  reportedAt: number;
  /** When the thread last got an update (or the report was requested). */
  lastUpdateAt: number;
  /** Notifications held back by the rate limit since the last update; told in the next one. */
  heldBack: number;
  /** Fingerprints of the alerts firing now. */
  firing: string[];
  /** Distinct alert names seen in this incident, for the texts (bounded). */
  alertNames: string[];
  /** Set when every alert resolved. */
  resolvedAt?: number;
}

export interface PlanInput {
  key: string;
  host?: string;
  /** Where a new report would go. */
  channel: string;
  /** The incident stored for this key, if any. */
  incident: AlertIncident | undefined;
  /** This webhook call's alerts for this key. */
  alerts: readonly AlertInstance[];
  now: number;
  /** A host reported within this long is not diagnosed again (MEDIC_ALERT_WINDOW). */
  windowMs: number;
  /** At most one "still firing" update per thread this often (MEDIC_ALERT_UPDATE_INTERVAL). */
  updateIntervalMs: number;
}

export type AlertPlan =
  /** Diagnose (or, for an unknown host, post the alert). `previous` is a still-open incident it supersedes. */
  | { action: 'report'; incident: AlertIncident; previous?: AlertIncident }
  /** Post a short update into the existing thread. */
  | { action: 'update'; incident: AlertIncident; update: IncidentUpdate }
  /** Every alert resolved: update the root message and say so in the thread. */
  | { action: 'resolve'; incident: AlertIncident }
  /** Rate-limited: remember, tell in the next update. */
  | { action: 'hold'; incident: AlertIncident }
  /** Nothing to do (a resolution of something never reported, a repeat of a resolution). */
  | { action: 'none' };

export interface IncidentUpdate {
  /** Alerts firing after this call. */
  firing: number;
  /** Fingerprints that were not firing before this call. */
  newlyFiring: number;
  resolved: number;
  /** Notifications this update stands for (held-back ones plus this one). */
  notifications: number;
  /** The incident had resolved and fires again. */
  refired: boolean;
}

const MAX_ALERT_NAMES = 20;

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

function mergeNames(names: readonly string[], alerts: readonly AlertInstance[]): string[] {
  return unique([...names, ...alerts.filter((a) => a.status === 'firing').map((a) => a.alertName)]).slice(0, MAX_ALERT_NAMES);
}

/**
 * Decides what one webhook call means for one host, given what is stored for it. Pure: the
 * adapter reads the incident, calls this, acts, and stores the returned incident, all under
 * a per-host lock so that concurrent deliveries see each other.
 *
 * - no open incident and something fires → report (one diagnosis per host per storm);
 * - reported within the window → "still firing" update, at most one per update interval;
 * - after the window and still firing → a fresh report supersedes the old one;
 * - everything resolved → resolve; a resolution of what was never reported → none.
 */
export function planAlertIncident(input: PlanInput): AlertPlan {
  const { incident, alerts, now } = input;
  const firingNow = unique(alerts.filter((a) => a.status === 'firing').map((a) => a.fingerprint));
  const firingSet = new Set(firingNow);
  // Alertmanager never sends both for one fingerprint in one call; if a sender does, firing wins.
  const resolvedNow = unique(alerts.filter((a) => a.status === 'resolved' && !firingSet.has(a.fingerprint)).map((a) => a.fingerprint));
  const resolvedSet = new Set(resolvedNow);

  const fresh = (carried: readonly string[]): AlertIncident => ({
    key: input.key,
    ...(input.host !== undefined ? { host: input.host } : {}),
    channel: input.channel,
    reportedAt: now,
    lastUpdateAt: now,
    heldBack: 0,
    firing: unique([...carried, ...firingNow]).filter((f) => !resolvedSet.has(f)),
    alertNames: mergeNames([], alerts),
  });

  if (incident === undefined) {
    return firingNow.length > 0 ? { action: 'report', incident: fresh([]) } : { action: 'none' };
  }

  const isResolved = incident.resolvedAt !== undefined;
  const withinWindow = now - incident.reportedAt < input.windowMs;
  const before = new Set(incident.firing);

  if (firingNow.length > 0) {
    if (!withinWindow) {
      return isResolved
        ? { action: 'report', incident: fresh([]) }
        : { action: 'report', incident: fresh(incident.firing), previous: incident };
    }
    if (isResolved) {
      const { resolvedAt: _resolvedAt, ...open } = incident;
      // What fires now, not what fired before the resolution.
      const next: AlertIncident = { ...open, firing: firingNow, lastUpdateAt: now, heldBack: 0, alertNames: mergeNames([], alerts) };
      const update: IncidentUpdate = {
        firing: firingNow.length,
        newlyFiring: firingNow.length,
        resolved: 0,
        notifications: incident.heldBack + 1,
        refired: true,
      };
      return { action: 'update', incident: next, update };
    }
    const firing = unique([...incident.firing, ...firingNow]).filter((f) => !resolvedSet.has(f));
    return rateLimited(
      input,
      { ...incident, firing, alertNames: mergeNames(incident.alertNames, alerts) },
      {
        firing: firing.length,
        newlyFiring: firingNow.filter((f) => !before.has(f)).length,
        resolved: resolvedNow.filter((f) => before.has(f)).length,
        refired: false,
      },
    );
  }

  if (isResolved) return { action: 'none' };
  const ended = resolvedNow.filter((f) => before.has(f));
  if (ended.length === 0) return { action: 'none' };
  const firing = incident.firing.filter((f) => !resolvedSet.has(f));
  if (firing.length === 0) {
    return { action: 'resolve', incident: { ...incident, firing: [], resolvedAt: now, lastUpdateAt: now, heldBack: 0 } };
  }
  return rateLimited(input, { ...incident, firing }, { firing: firing.length, newlyFiring: 0, resolved: ended.length, refired: false });
}

function rateLimited(input: PlanInput, incident: AlertIncident, update: Omit<IncidentUpdate, 'notifications'>): AlertPlan {
  if (input.now - incident.lastUpdateAt >= input.updateIntervalMs) {
    return {
      action: 'update',
      incident: { ...incident, lastUpdateAt: input.now, heldBack: 0 },
      update: { ...update, notifications: incident.heldBack + 1 },
    };
  }
  return { action: 'hold', incident: { ...incident, heldBack: incident.heldBack + 1 } };
}
