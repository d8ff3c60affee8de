import { describe, expect, it } from 'vitest';
import type { AlertInstance } from '../../../src/core/alerts/alert-instance.ts';
import { planAlertIncident, type AlertIncident, type AlertPlan, type PlanInput } from '../../../src/core/alerts/plan-alert-incident.ts';

const MIN = 60_000;
const alert = (fingerprint: string, status: 'firing' | 'resolved' = 'firing', alertName = 'NginxHigh502Rate'): AlertInstance => ({
  source: 'alertmanager',
  fingerprint,
  status,
  alertName,
  labels: { alertname: alertName, instance: 'web-01:9113' },
  annotations: {},
  summary: alertName,
});

const base = (over: Partial<PlanInput>): PlanInput => ({
  key: 'web-01',
  host: 'web-01',
  channel: '#alerts',
  incident: undefined,
  alerts: [],
  now: 1_000_000,
  windowMs: 10 * MIN,
  updateIntervalMs: 5 * MIN,
  ...over,
});

/** Feeds calls through the planner the way the intake does, keeping the stored incident. */
function run(calls: { at: number; alerts: AlertInstance[] }[]): AlertPlan[] {
  let incident: AlertIncident | undefined;
  return calls.map(({ at, alerts }) => {
    const plan = planAlertIncident(base({ incident, alerts, now: at }));
    if (plan.action !== 'none') incident = plan.incident;
    return plan;
  });
}

describe('planAlertIncident', () => {
  it('reports the first firing alert of a host, and only once', () => {
    const plan = planAlertIncident(base({ alerts: [alert('a'), alert('b'), alert('a')] }));
    expect(plan.action).toBe('report');
    if (plan.action !== 'report') return;
    expect(plan.incident).toMatchObject({
      key: 'web-01',
      host: 'web-01',
      channel: '#alerts',
      firing: ['a', 'b'],
      reportedAt: 1_000_000,
      heldBack: 0,
      alertNames: ['NginxHigh502Rate'],
    });
    expect(plan.previous).toBeUndefined();
  });

  it('ignores a resolution of something never reported', () => {
    expect(planAlertIncident(base({ alerts: [alert('a', 'resolved')] })).action).toBe('none');
  });

  it('a storm within the window: one report, then at most one update per interval, holding the rest', () => {
    const t0 = 1_000_000;
    const plans = run([
      { at: t0, alerts: [alert('a')] },
      { at: t0 + 1_000, alerts: [alert('b')] },
      { at: t0 + 2_000, alerts: [alert('c')] },
      { at: t0 + 5 * MIN, alerts: [alert('a')] },
      { at: t0 + 5 * MIN + 1, alerts: [alert('d')] },
    ]);
    expect(plans.map((p) => p.action)).toEqual(['report', 'hold', 'hold', 'update', 'hold']);
    const update = plans[3];
    expect(update?.action === 'update' && update.update).toEqual({
      firing: 3,
      newlyFiring: 0,
      resolved: 0,
      notifications: 3,
      refired: false,
    });
    const last = plans[4];
    expect(last?.action === 'hold' && last.incident.firing).toEqual(['a', 'b', 'c', 'd']);
  });

  it('counts alerts that are new to the incident in an update', () => {
    const plans = run([
      { at: 0, alerts: [alert('a')] },
      { at: 6 * MIN, alerts: [alert('a'), alert('b')] },
    ]);
    expect(plans[1]?.action === 'update' && plans[1].update.newlyFiring).toBe(1);
  });

  it('resolves when every firing alert has resolved, not before', () => {
    const plans = run([
      { at: 0, alerts: [alert('a'), alert('b')] },
      { at: 1_000, alerts: [alert('a', 'resolved'), alert('b')] },
      { at: 2_000, alerts: [alert('b', 'resolved')] },
      { at: 3_000, alerts: [alert('b', 'resolved')] },
    ]);
    expect(plans.map((p) => p.action)).toEqual(['report', 'hold', 'resolve', 'none']);
    expect(plans[2]?.action === 'resolve' && plans[2].incident).toMatchObject({ firing: [], resolvedAt: 2_000 });
  });

  it('a partial resolution after the interval is an update that says how many resolved', () => {
    const plans = run([
      { at: 0, alerts: [alert('a'), alert('b')] },
      { at: 6 * MIN, alerts: [alert('a', 'resolved')] },
    ]);
    expect(plans[1]?.action === 'update' && plans[1].update).toMatchObject({ firing: 1, resolved: 1 });
  });

  it('firing again within the window after a resolution is an update in the same thread, not a report', () => {
    const plans = run([
      { at: 0, alerts: [alert('a')] },
      { at: 1 * MIN, alerts: [alert('a', 'resolved')] },
      { at: 2 * MIN, alerts: [alert('a')] },
    ]);
    expect(plans.map((p) => p.action)).toEqual(['report', 'resolve', 'update']);
    const p = plans[2];
    expect(p?.action === 'update' && p.update.refired).toBe(true);
    expect(p?.action === 'update' && p.incident.resolvedAt).toBeUndefined();
  });

  it('firing again names only what fires now', () => {
    const plans = run([
      { at: 0, alerts: [alert('a', 'firing', 'Old')] },
      { at: MIN, alerts: [alert('a', 'resolved', 'Old')] },
      { at: 2 * MIN, alerts: [alert('b', 'firing', 'New')] },
    ]);
    expect(plans[2]?.action === 'update' && plans[2].incident.alertNames).toEqual(['New']);
  });

  it('after the window a still-firing host is diagnosed again, superseding the old incident', () => {
    const plans = run([
      { at: 0, alerts: [alert('a')] },
      { at: 10 * MIN, alerts: [alert('b')] },
    ]);
    const p = plans[1];
    expect(p?.action).toBe('report');
    if (p?.action !== 'report') return;
    expect(p.previous?.reportedAt).toBe(0);
    expect(p.incident.firing).toEqual(['a', 'b']);
    expect(p.incident.reportedAt).toBe(10 * MIN);
  });

  it('after the window a resolved host that fires again gets a fresh report', () => {
    const plans = run([
      { at: 0, alerts: [alert('a')] },
      { at: MIN, alerts: [alert('a', 'resolved')] },
      { at: 11 * MIN, alerts: [alert('a')] },
    ]);
    const p = plans[2];
    expect(p?.action === 'report' && p.previous).toBeUndefined();
  });

  it('firing wins when one call carries both states for one fingerprint', () => {
    const plan = planAlertIncident(base({ alerts: [alert('a', 'resolved'), alert('a')] }));
    expect(plan.action === 'report' && plan.incident.firing).toEqual(['a']);
  });

  it('bounds the alert names it remembers', () => {
    const many = Array.from({ length: 50 }, (_, i) => alert(`f${i}`, 'firing', `Alert${i}`));
    const plan = planAlertIncident(base({ alerts: many }));
    expect(plan.action === 'report' && plan.incident.alertNames.length).toBe(20);
  });
});
