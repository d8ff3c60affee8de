import { describe, expect, it } from 'vitest';
import type { AlertInstance } from '../../../src/core/alerts/alert-instance.ts';
import { firedUnderKey, groupAlerts } from '../../../src/core/alerts/group-alerts.ts';
import { DEFAULT_HOST_LABELS } from '../../../src/core/alerts/map-alert-host.ts';
import { Inventory } from '../../../src/core/inventory/inventory-schema.ts';

const entry = (address: string) => ({ address, user: 'oncall', privateKeyPath: '/k', knownHostsPath: '/kh' });
const inventory = Inventory.parse({ hosts: { 'web-01': entry('10.0.0.11'), 'web-02': entry('10.0.0.12') } });

let n = 0;
const alert = (alertName: string, instance: string, status: 'firing' | 'resolved' = 'firing'): AlertInstance => ({
  source: 'alertmanager',
  fingerprint: `fp-${instance}-${alertName}-${++n}`,
  status,
  alertName,
  labels: { alertname: alertName, instance },
  annotations: {},
  summary: `${alertName} on ${instance}`,
});
const group = (alerts: AlertInstance[], firedUnder = new Map<string, string>()) =>
  groupAlerts(alerts, { inventory, hostLabels: DEFAULT_HOST_LABELS, firedUnder });
const shape = (gs: ReturnType<typeof group>) =>
  Object.fromEntries(gs.map((g) => [g.key, { alerts: g.alerts.length, ...(g.fleet !== undefined ? { fleet: g.fleet } : {}) }]));

describe('groupAlerts', () => {
  it('groups per inventory host, by name or address, ports removed', () => {
    expect(shape(group([alert('A', 'web-01:9113'), alert('B', 'web-01:9100'), alert('A', '10.0.0.12:9113')]))).toEqual({
      'web-01': { alerts: 2 },
      'web-02': { alerts: 1 },
    });
  });

  it('up to five unknown hosts: one group each', () => {
    const gs = group(Array.from({ length: 5 }, (_, i) => alert('DiskFull', `db-${i}:9100`)));
    expect(gs.map((g) => g.key).sort()).toEqual(['?db-0', '?db-1', '?db-2', '?db-3', '?db-4']);
  });

  it('more than five unknown hosts: one group per alert name listing them; inventory hosts untouched', () => {
    const pods = Array.from({ length: 7 }, (_, i) => alert('CrashLoop', `pod-${6 - i}:8080`));
    const gs = group([...pods, alert('CrashLoop', 'web-01:9113'), alert('OOM', 'pod-9:8080')]);
    expect(shape(gs)).toEqual({
      '?*CrashLoop': { alerts: 7, fleet: ['pod-0', 'pod-1', 'pod-2', 'pod-3', 'pod-4', 'pod-5', 'pod-6'] },
      '?*OOM': { alerts: 1, fleet: ['pod-9'] },
      'web-01': { alerts: 1 },
    });
    expect(gs.find((g) => g.key === '?*CrashLoop')?.match).toMatchObject({ kind: 'unknown', label: 'instance' });
  });

  it('a resolution goes to the incident it fired into, also inside a flood', () => {
    const old = alert('CrashLoop', 'pod-1:8080', 'resolved');
    const firedUnder = new Map([[firedUnderKey(old.source, old.fingerprint), '?*CrashLoop']]);
    const flood = Array.from({ length: 6 }, (_, i) => alert('CrashLoop', `pod-${i + 2}:8080`));
    expect(shape(group([old, ...flood], firedUnder))).toEqual({
      '?*CrashLoop': { alerts: 7, fleet: ['pod-2', 'pod-3', 'pod-4', 'pod-5', 'pod-6', 'pod-7'] },
    });
    // A resolution of an alert never seen goes where its labels point.
    expect(shape(group([alert('X', 'web-02:1', 'resolved')]))).toEqual({ 'web-02': { alerts: 1 } });
  });

  it('an alert naming no host is grouped by its name', () => {
    const a = { ...alert('NoHost', 'x'), labels: { alertname: 'NoHost' } };
    expect(group([a]).map((g) => g.key)).toEqual(['?alert:NoHost']);
  });
});
