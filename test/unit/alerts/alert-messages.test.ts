import { describe, expect, it } from 'vitest';
import {
  codeBlock,
  escapeMrkdwn,
  formatSpan,
  resolvedText,
  stillFiringText,
  unknownHostsText,
  unknownHostText,
} from '../../../src/core/alerts/alert-messages.ts';
import type { AlertIncident } from '../../../src/core/alerts/plan-alert-incident.ts';

const incident: AlertIncident = {
  key: 'web-01',
  host: 'web-01',
  channel: '#alerts',
  reportedAt: 0,
  lastUpdateAt: 0,
  heldBack: 0,
  firing: ['a', 'b'],
  alertNames: ['NginxHigh502Rate', '<!channel>'],
};

describe('escaping', () => {
  it('disarms mentions, links and special mentions', () => {
    const text = escapeMrkdwn('<!channel> <@U123> <https://evil.example|click> @here a&b');
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('a&amp;b');
    expect(text).not.toMatch(/@here/);
  });

  it('keeps a code block closed whatever the content', () => {
    const block = codeBlock('x```<!here>```y');
    expect(block).toMatch(/^```[\s\S]*```$/);
    expect(block.slice(3, -3)).not.toContain('```');
    expect(block).not.toContain('<!here>');
  });

  it('cuts long content and says how much', () => {
    expect(codeBlock('x'.repeat(3000), 100)).toContain('2900 more characters');
  });
});

describe('texts', () => {
  it('still firing: counts, names escaped, when the next diagnosis may start', () => {
    const text = stillFiringText(incident, { firing: 2, newlyFiring: 1, resolved: 0, notifications: 40, refired: false }, 600_000, 120_000);
    expect(text).toContain('Still firing');
    expect(text).toContain('2 alerts');
    expect(text).toContain('1 new');
    expect(text).toContain('40 notifications');
    expect(text).toContain('8m');
    expect(text).toContain('&lt;!channel&gt;');
  });

  it('resolved: says how long after the report', () => {
    expect(resolvedText(incident, 125_000)).toMatch(/Resolved.*2m after the report/);
  });

  it('unknown host: names the candidate and label, shows labels escaped', () => {
    const text = unknownHostText(
      {
        source: 'alertmanager',
        fingerprint: 'f',
        status: 'firing',
        alertName: 'X',
        labels: { instance: 'cache-9:6379', note: '<!here> <http://x|y>' },
        annotations: {},
        summary: 'cache down',
      },
      { kind: 'unknown', candidate: 'cache-9', label: 'instance' },
    );
    expect(text).toContain('`cache-9`');
    expect(text).toContain('not in the inventory');
    expect(text).toContain('instance="cache-9:6379"');
    expect(text).not.toMatch(/<!here>|<http/);
  });

  it('many unknown hosts: lists 20 of them escaped, counts the rest; the resolution speaks of these hosts', () => {
    const candidates = ['<!channel>', 'pod-`x`', ...Array.from({ length: 23 }, (_, i) => `pod-${i}`)];
    const text = unknownHostsText(
      {
        source: 'grafana',
        fingerprint: 'f',
        status: 'firing',
        alertName: '<@U123>',
        labels: { job: 'k8s' },
        annotations: {},
        summary: 'crash <!here>',
      },
      candidates,
      'instance',
    );
    expect(text).toContain('Grafana alert');
    expect(text).toContain('fires for 25 hosts that are not in the inventory (label `instance`)');
    expect(text).toContain('`pod-17` and 5 more');
    expect(text).not.toContain('pod-18');
    expect(text).not.toMatch(/<!channel>|<!here>|<@U123>/);
    const { host: _host, ...unknown } = incident;
    expect(resolvedText({ ...unknown, key: '?*PodCrashLooping' }, 60_000)).toContain('every alert for these hosts stopped firing');
    expect(resolvedText(incident, 60_000)).toContain('every alert for this host stopped firing');
  });

  it.each([
    [0, '0s'],
    [59_000, '59s'],
    [600_000, '10m'],
    [3_900_000, '1h 5m'],
  ])('formatSpan(%i) = %s', (ms, want) => {
    expect(formatSpan(ms)).toBe(want);
  });
});
