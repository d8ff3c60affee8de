import { Counter, Registry } from 'prom-client';

/** Why a webhook call ended the way it did; the `outcome` label of medic_alert_requests_total. */
export type AlertRequestOutcome =
  | 'accepted'
  | 'unauthorized'
  | 'not_configured'
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'aborted'
  | 'failed';

export interface AlertMetrics {
  readonly registry: Registry;
  request(source: string, outcome: AlertRequestOutcome): void;
  /** What the storm logic decided per host: report, update, hold, resolve, none; `unknown_host` too. */
  action(action: string, n?: number): void;
}

function counter<T extends string>(registry: Registry, name: string, help: string, labelNames: readonly T[]): Counter<T> {
  // Several handlers (tests, bot + worker in one process) may share one registry.
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<T>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * Counters of the alert webhooks, registered in `registry` (the one /metrics serves) or in a
 * registry of their own that the caller can merge.
 */
export function createAlertMetrics(registry: Registry = new Registry()): AlertMetrics {
  const requests = counter(registry, 'medic_alert_requests_total', 'Alert webhook calls by source and outcome (refused ones included).', [
    'source',
    'outcome',
  ] as const);
  const actions = counter(
    registry,
    'medic_alert_actions_total',
    'What alerts led to per host: report, update, hold, resolve, none, unknown_host.',
    ['action'] as const,
  );
  return {
    registry,
    request: (source, outcome) => requests.inc({ source, outcome }),
    action: (action, n = 1) => actions.inc({ action }, n),
  };
}
