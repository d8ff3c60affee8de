import { describe, expect, it } from 'vitest';
import { parseAlertRoutes, routeAlert } from '../../../src/core/alerts/alert-routes.ts';

describe('parseAlertRoutes', () => {
  it('parses rules in order, channels by name or id, values with colons', () => {
    expect(parseAlertRoutes('team=web:#web-oncall, severity=critical:#incidents,instance=db:5432:C0123ABCD')).toEqual({
      ok: true,
      routes: [
        { label: 'team', value: 'web', channel: '#web-oncall' },
        { label: 'severity', value: 'critical', channel: '#incidents' },
        { label: 'instance', value: 'db:5432', channel: 'C0123ABCD' },
      ],
    });
  });

  it('is empty for an empty variable', () => {
    expect(parseAlertRoutes(' , ')).toEqual({ ok: true, routes: [] });
  });

  it.each([
    ['team:#web', 'not label=value:channel'],
    ['team=web', 'not label=value:channel'],
    ['=web:#web', 'not label=value:channel'],
    ['te am=web:#web', 'not a label name'],
    ['team=:#web', 'value is empty'],
    ['team=web:web oncall', 'is not a channel'],
    ['team=web:#Web', 'is not a channel'],
  ])('refuses %s (%s)', (text, message) => {
    const r = parseAlertRoutes(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });
});

describe('routeAlert', () => {
  const r = parseAlertRoutes('team=web:#web-oncall,severity=critical:#incidents');
  const routes = r.ok ? r.routes : [];
  it('first match wins', () => {
    expect(routeAlert({ team: 'web', severity: 'critical' }, routes, '#alerts')).toBe('#web-oncall');
    expect(routeAlert({ team: 'db', severity: 'critical' }, routes, '#alerts')).toBe('#incidents');
  });
  it('falls back to the default channel; matches are exact', () => {
    expect(routeAlert({ team: 'webshop' }, routes, '#alerts')).toBe('#alerts');
    expect(routeAlert({}, [], 'C999')).toBe('C999');
  });
});
