import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelFingerprint } from '../../../src/core/alerts/label-fingerprint.ts';
import { parseAlertPayload } from '../../../src/core/alerts/parse-alert-payload.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

describe('Alertmanager v4 payloads (captured from prometheus-alertmanager 0.25)', () => {
  it('turns a firing group into one alert per instance', () => {
    const r = parseAlertPayload('alertmanager', fixture('alertmanager-v4-firing.json'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.alerts).toHaveLength(2);
    expect(r.alerts[0]).toMatchObject({
      source: 'alertmanager',
      fingerprint: 'ee99be59657942d8',
      status: 'firing',
      alertName: 'NginxHigh502Rate',
      summary: '5xx rate above 5% on web-01',
      labels: { instance: 'web-01:9113', team: 'web', severity: 'critical' },
    });
    expect(r.alerts[0]?.generatorURL).toMatch(/^http:\/\/prometheus\.example/);
    // An empty generatorURL is absent, not "".
    expect(r.alerts[1]).not.toHaveProperty('generatorURL');
  });

  it('keeps per-alert status when a group mixes resolved and firing', () => {
    const r = parseAlertPayload('alertmanager', fixture('alertmanager-v4-one-resolved.json'));
    expect(r.ok && r.alerts.map((a) => [a.fingerprint, a.status])).toEqual([
      ['ee99be59657942d8', 'resolved'],
      ['afab66879b268177', 'firing'],
    ]);
  });

  it('accepts fields a newer Alertmanager might add', () => {
    const body = fixture('alertmanager-v4-firing.json') as Record<string, unknown>;
    const r = parseAlertPayload('alertmanager', { ...body, somethingNew: { x: 1 } });
    expect(r.ok).toBe(true);
  });

  it.each([
    ['another version', { version: '3' }, 'version'],
    ['no alerts array', { alerts: undefined }, 'alerts'],
    ['a status that is not firing/resolved', { status: 'pending' }, 'status'],
  ])('refuses %s and names the field', (_name, patch, field) => {
    const body = { ...(fixture('alertmanager-v4-firing.json') as Record<string, unknown>), ...patch };
    const r = parseAlertPayload('alertmanager', body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(field);
  });

  it('refuses an alert without a fingerprint (resolution could not find it)', () => {
    const body = fixture('alertmanager-v4-firing.json') as { alerts: Record<string, unknown>[] };
    delete body.alerts[1]?.['fingerprint'];
    const r = parseAlertPayload('alertmanager', body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('alerts.1.fingerprint');
  });

  it('refuses label names Prometheus would not allow', () => {
    const body = fixture('alertmanager-v4-firing.json') as { alerts: { labels: Record<string, string> }[] };
    (body.alerts[0] as { labels: Record<string, string> }).labels['bad-name'] = 'x';
    expect(parseAlertPayload('alertmanager', body).ok).toBe(false);
  });

  it('matches the fingerprint Alertmanager computed for the label set', () => {
    const r = parseAlertPayload('alertmanager', fixture('alertmanager-v4-firing.json'));
    if (!r.ok) throw new Error(r.error);
    for (const a of r.alerts) expect(labelFingerprint(a.labels)).toBe(a.fingerprint);
  });
});

describe('Grafana payloads (the documented unified alerting webhook body)', () => {
  it('reads alerts with their value string and status', () => {
    const r = parseAlertPayload('grafana', fixture('grafana-firing.json'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.alerts.map((a) => [a.fingerprint, a.status, a.alertName])).toEqual([
      ['c6eadffa33fcdf37', 'firing', 'Nginx 502 rate'],
      ['bc97ff14869b13e3', 'resolved', 'Nginx 502 rate'],
    ]);
    expect(r.alerts[0]?.value).toContain("var='B'");
    expect(r.alerts[0]?.summary).toBe('502s on web-02');
  });

  it('refuses a body without orgId (an Alertmanager body sent to the Grafana route)', () => {
    const r = parseAlertPayload('grafana', fixture('alertmanager-v4-firing.json'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('orgId');
  });
});

describe('the generic form', () => {
  it('takes one alert, with host as a label and a fingerprint from the labels', () => {
    const r = parseAlertPayload('generic', fixture('generic-single.json'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [a] = r.alerts;
    expect(a).toMatchObject({
      source: 'generic',
      status: 'firing',
      alertName: 'SyntheticCheckout502',
      summary: 'checkout returned 502 three times in a row',
    });
    expect(a?.labels).toEqual({ alertname: 'SyntheticCheckout502', host: 'web-01', team: 'shop', severity: 'critical' });
    expect(a?.fingerprint).toBe(labelFingerprint(a?.labels ?? {}));
  });

  it('takes a batch, and status defaults to firing', () => {
    const r = parseAlertPayload('generic', {
      alerts: [
        { host: 'a', alertname: 'X' },
        { host: 'b', alertname: 'X', status: 'resolved', fingerprint: 'f1' },
      ],
    });
    expect(r.ok && r.alerts.map((a) => [a.status, a.fingerprint.length > 0])).toEqual([
      ['firing', true],
      ['resolved', true],
    ]);
    expect(r.ok && r.alerts[1]?.fingerprint).toBe('f1');
  });

  it.each([
    ['a misspelt field', { host: 'web-01', alertname: 'X', sumary: 'typo' }, 'sumary'],
    ['no alertname', { host: 'web-01' }, 'alertname'],
    ['neither host nor labels', { alertname: 'X' }, 'host'],
    ['a bad status', { host: 'web-01', alertname: 'X', status: 'ok' }, 'status'],
    ['an empty batch', { alerts: [] }, 'alerts'],
    ['a misspelt field inside a batch', { alerts: [{ host: 'a', alertname: 'X', hots: 1 }] }, 'alerts.0'],
  ])('refuses %s, naming it', (_name, body, needle) => {
    const r = parseAlertPayload('generic', body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(needle);
  });

  it.each([null, [], 'text', 42])('refuses a body that is not an object: %j', (body) => {
    expect(parseAlertPayload('generic', body).ok).toBe(false);
  });
});
