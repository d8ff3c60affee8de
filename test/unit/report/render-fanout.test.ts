import { describe, expect, it } from 'vitest';
import { SLACK_LIMITS, type SlackMessage } from '../../../src/core/report/block-kit.ts';
import { groupByVerdict, renderFanout, type FanoutHostView } from '../../../src/core/report/render-fanout.ts';
import { validateBlocks } from '../../../src/dev/block-kit-rules.ts';

const base = { target: 'web', requestedBy: { kind: 'user' as const, userId: 'U0ALICE' }, requestedAt: '2026-01-01T10:00:00.000Z' };

const down = (host: string): FanoutHostView => ({
  host,
  status: 'done',
  cause: 'php_fpm_down',
  title: 'PHP-FPM is not running',
  severity: 'critical',
});
const healthy = (host: string): FanoutHostView => ({ host, status: 'done', cause: 'healthy', title: 'No problem found', severity: 'info' });
const unreachable = (host: string): FanoutHostView => ({ host, status: 'failed', errorCode: 'SSH_UNREACHABLE' });
const overcommit = (host: string): FanoutHostView => ({
  host,
  status: 'done',
  cause: 'memory_overcommit',
  title: 'Memory overcommitted',
  severity: 'warning',
});

const name = (i: number): string => `web-${String(i).padStart(4, '0')}`;

/** A fleet: `n` hosts, 87 % php-fpm down, 10 % healthy, the rest unreachable or warned about. */
function fleet(n: number): FanoutHostView[] {
  return Array.from({ length: n }, (_, i) => {
    const r = i % 100;
    return r < 87 ? down(name(i)) : r < 97 ? healthy(name(i)) : r < 99 ? unreachable(name(i)) : overcommit(name(i));
  });
}

function expectValid(m: SlackMessage): void {
  expect(validateBlocks(m.blocks)).toEqual([]);
  expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
  expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.messageText);
  expect(JSON.stringify(m.blocks).length).toBeLessThan(50_000);
}

const sections = (m: SlackMessage): string[] =>
  m.blocks.flatMap((b) => (b.type === 'section' && b.text !== undefined ? [b.text.text] : []));

describe('the fan-out summary', () => {
  it('groups 100 hosts by verdict with counts, worst first', () => {
    const m = renderFanout({ ...base, hosts: fleet(100) });
    expectValid(m);
    expect(m.text).toBe(
      '502 diagnosis of web: 100/100 finished: 87 × `php_fpm_down`, 2 × unreachable, 1 × `memory_overcommit`, 10 × `healthy`',
    );
    const [counts, ...groups] = sections(m);
    expect(counts).toBe('*100/100 finished:* 87 × `php_fpm_down`, 2 × unreachable, 1 × `memory_overcommit`, 10 × `healthy`');
    expect(groups.map((g) => g.split('\n')[0])).toEqual([
      ':red_circle: *87 × `php_fpm_down` PHP-FPM is down*',
      ':x: *2 × unreachable*',
      ':large_orange_circle: *1 × `memory_overcommit` Memory overcommitted*',
      ':large_green_circle: *10 × `healthy`*',
    ]);
    // Every host is named once, in its group.
    const named = groups.flatMap((g) => (g.split('\n')[1] ?? '').split(', '));
    expect(named).toHaveLength(100);
    expect(groups[1]).toContain('web-0097, web-0098');
  });

  it('stays within Block Kit limits at 1,000 hosts, naming what fits and counting the rest', () => {
    const m = renderFanout({ ...base, hosts: fleet(1000) });
    expectValid(m);
    const [counts, first] = sections(m);
    expect(counts).toContain('870 × `php_fpm_down`');
    expect(first?.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    const more = Number(first?.match(/…and (\d+) more$/)?.[1]);
    const shown = (first?.split('\n')[1] ?? '').replace(/ …and \d+ more$/, '').split(', ').length;
    expect(shown + more).toBe(870);
    expect(shown).toBeGreaterThan(100);
  });

  it('shows running hosts, and counts them as not finished', () => {
    const hosts: FanoutHostView[] = [down('web-01'), { host: 'web-02', status: 'running' }, { host: 'web-03', status: 'queued' }];
    const m = renderFanout({ ...base, hosts });
    expectValid(m);
    expect(sections(m)[0]).toBe('*1/3 finished:* 1 × `php_fpm_down`, 2 × running');
  });

  it('names the code of a host that could not be diagnosed for another reason', () => {
    const groups = groupByVerdict([
      { host: 'web-01', status: 'failed', errorCode: 'SSH_AUTH_FAILED' },
      unreachable('web-02'),
      { host: 'web-03', status: 'failed' },
    ]);
    expect(groups.map((g) => `${g.hosts.length} × ${g.label}`).sort()).toEqual([
      '1 × could not diagnose',
      '1 × could not diagnose (`SSH_AUTH_FAILED`)',
      '1 × unreachable',
    ]);
  });

  it('escapes host text and links only a plain http(s) message link', () => {
    const m = renderFanout({
      ...base,
      target: 'web <!channel>',
      hosts: [
        { ...down('web-01'), link: 'https://acme.slack.com/archives/C0OPS/p1700000000000100', joined: true },
        { ...down('web-<!here>'), link: 'https://evil.example/x|<!channel>' },
        { ...down('web-03'), link: 'javascript:alert(1)' },
        { ...down('web-04'), link: 'https://acme.slack.com/archives/C0OPS/p1?x=1&y=<!here>' },
      ],
    });
    expectValid(m);
    // The header is plain_text, which Slack never reads as mrkdwn; everything else must be clean.
    const mrkdwn = JSON.stringify([m.text, m.blocks.filter((b) => b.type !== 'header')]);
    const tokens = mrkdwn.match(/<[^>]*>/g) ?? [];
    expect(tokens.filter((t) => !/^<@U0ALICE>$|^<!date\^\d+\^[^|]*\|[^>]*>$/.test(t))).toEqual([
      '<https://acme.slack.com/archives/C0OPS/p1700000000000100|web-01>',
    ]);
    const text = JSON.stringify(m);
    expect(text).toContain('web-01> _(shared)_');
    expect(text).not.toContain('evil.example');
    expect(text).not.toContain('javascript:');
    expect(text).toContain('web-&lt;!here&gt;');
  });
});
