import { describe, expect, it } from 'vitest';
import type { AlertInstance } from '../../../src/core/alerts/alert-instance.ts';
import { alertUrl } from '../../../src/core/alerts/alert-url.ts';
import { genericAlerts, parseGenericPayload } from '../../../src/core/alerts/generic-payload.ts';

const alert = (labels: Record<string, string>, annotations: Record<string, string> = {}): AlertInstance => ({
  source: 'alertmanager',
  fingerprint: 'f',
  status: 'firing',
  alertName: 'SiteDown',
  labels,
  annotations,
  summary: 'down',
});

describe('the public URL an alert carries', () => {
  it("blackbox's instance with a scheme is the URL; a host:port instance is not", () => {
    expect(alertUrl([alert({ instance: 'https://shop.example/checkout', job: 'blackbox' })])).toEqual({
      url: 'https://shop.example/checkout',
    });
    expect(alertUrl([alert({ instance: 'web-01:9100' })])).toBeUndefined();
  });

  it('a url annotation or label (Alertmanager, Grafana) comes first', () => {
    expect(alertUrl([alert({ instance: 'https://other.example/' }, { url: 'https://shop.example/checkout' })])).toEqual({
      url: 'https://shop.example/checkout',
    });
    expect(alertUrl([alert({ url: 'http://shop.example:8080/health' })])).toEqual({ url: 'http://shop.example:8080/health' });
  });

  it("the generic form's url", () => {
    const parsed = parseGenericPayload({ alertname: 'CheckoutDown', host: 'web-01', url: 'https://shop.example/checkout' });
    if (!parsed.success) throw new Error(parsed.error.message);
    expect(alertUrl(genericAlerts(parsed.data))).toEqual({ url: 'https://shop.example/checkout' });
  });

  it.each(['https://shop.example/$(reboot)', 'https://user:pw@shop.example/', 'https://10.0.0.1/', `https://shop.example/\nid`])(
    'refuses %j and says why, never probes it',
    (url) => {
      const r = alertUrl([alert({ instance: 'web-01:9100' }, { url })]);
      expect(r).toMatchObject({ refused: expect.stringMatching(/^the alert's url ".*" was not probed: it /) as unknown });
    },
  );
});
