import { describe, expect, it } from 'vitest';
import type { Diagnosis, Finding } from '../../../src/core/finding.ts';
import { defuseBroadcasts, escapeCode, escapeMrkdwn, fenceCode, fitEscaped } from '../../../src/core/report/escape-mrkdwn.ts';
import { SLACK_LIMITS, type SlackMessage } from '../../../src/core/report/block-kit.ts';
import { evidenceBlocks, renderFinding } from '../../../src/core/report/render-finding.ts';
import { renderHistory } from '../../../src/core/report/render-replies.ts';
import { renderRoot } from '../../../src/core/report/render-root.ts';
import { validateBlocks } from '../../../src/dev/block-kit-rules.ts';

const HOSTILE = [
  '<!channel> <!here> <!everyone> @channel @here',
  '<@U0123ABCD> <#C0123|general> <!subteam^S0123|oncall>',
  '<http://evil.example/|click here> <https://evil.example>',
  'a & b > c < d',
  '``` closing the fence ``` and *bold* _it_',
].join('\n');

const finding = (over: Partial<Finding> = {}): Finding => ({
  cause: 'php_fpm_down',
  severity: 'critical',
  title: 'PHP-FPM is not running',
  evidence: ['2026/01/01 10:00:00 [crit] 1#1: *1 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory)'],
  explanation: 'nginx cannot reach php-fpm because no php-fpm master runs.',
  nextSteps: ['Start php-fpm', 'Read why it stopped: journalctl -u php8.2-fpm'],
  remediations: ['start_php_fpm'],
  current: true,
  ...over,
});

const diagnosis = (findings: Finding[], over: Partial<Diagnosis> = {}): Diagnosis => ({
  host: 'web-01',
  playbook: 'nginx-502',
  startedAt: '2026-01-01T10:00:00.000Z',
  durationMs: 812,
  verdict: { cause: findings[0]?.cause ?? 'unknown_502', title: findings[0]?.title ?? 'No finding' },
  findings,
  incomplete: false,
  gaps: [],
  facts: {},
  checks: [],
  ...over,
});

/** Everything Slack renders as mrkdwn in a message. */
function allText(m: SlackMessage): string {
  return JSON.stringify(m);
}

/** No raw `<…>` token may come from host text: the only ones allowed are ours (user mentions, dates). */
function rawTokens(m: SlackMessage): string[] {
  const tokens: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') tokens.push(...(v.match(/<[^>]*>/g) ?? []));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
  };
  walk(m);
  return tokens.filter((t) => !/^<@U0ALICE>$|^<!date\^\d+\^[^|]*\|[^>]*>$/.test(t));
}

function expectValid(m: SlackMessage): void {
  expect(validateBlocks(m.blocks)).toEqual([]);
  expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
  expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.messageText);
}

describe('escaping', () => {
  it('turns & < > into entities so nothing pings, mentions or links', () => {
    expect(escapeMrkdwn('<!channel> & <http://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    expect(escapeMrkdwn('@here and @channel')).toBe('@\u2060here and @\u2060channel');
  });

  it('keeps a code block closed whatever the host printed', () => {
    const out = escapeCode('a ``` b');
    expect(out).not.toContain('```');
  });

  it.each([2, 3, 4, 5, 8, 13])('breaks a run of %i backticks so that no two stay adjacent', (n) => {
    const out = escapeCode(`log ${'`'.repeat(n)} line ${'`'.repeat(n)}`);
    expect(out).not.toMatch(/``/);
    expect(out.replaceAll('\u200b', '')).toBe(`log ${'`'.repeat(n)} line ${'`'.repeat(n)}`);
  });

  it('a backtick at either edge of a code block does not merge with its fence', () => {
    const block = fenceCode(escapeCode('`````x`````'));
    expect(block).toMatch(/^```\u200b`[\s\S]*`\u200b```$/);
    expect(block.match(/```/g)).toHaveLength(2);
  });

  it('never cuts inside an entity', () => {
    const { text, cut } = fitEscaped('&&&&&&&&&&', 12);
    expect(cut).toBe(true);
    expect(text).toBe('&amp;&amp;');
  });

  it('defuses broadcasts in text another module escaped', () => {
    expect(defuseBroadcasts('hi <!here> <!subteam^S1|x> <@U1>')).toBe('hi &lt;!here&gt; &lt;!subteam^S1|x&gt; <@U1>');
  });
});

describe('renderFinding', () => {
  it('shows hostile host output as text: no mention, broadcast or link survives', () => {
    const m = renderFinding({
      host: 'web-01',
      index: 0,
      total: 1,
      finding: finding({ evidence: HOSTILE.split('\n'), title: `title ${HOSTILE}`, explanation: HOSTILE, nextSteps: [HOSTILE] }),
      buttons: [],
    });
    expectValid(m);
    expect(rawTokens(m)).toEqual([]);
    expect(allText(m)).toContain('&lt;!channel&gt;');
    expect(allText(m)).toContain('&lt;http://evil.example/|click here&gt;');
    // The evidence code block is not closed early by the host's backticks.
    const code = (m.blocks as { text?: { text: string } }[]).map((b) => b.text?.text ?? '').find((t) => t.startsWith('```'));
    expect(code?.match(/```/g)?.length).toBe(2);
  });

  it('fits 1 MB of evidence into marked excerpts within every limit', () => {
    const mb = 'x'.repeat(1024 * 1024);
    const lines = [mb, ...Array.from({ length: 5000 }, (_, i) => `line ${i} <!channel> ${'y'.repeat(200)}`)];
    const m = renderFinding({
      host: 'web-01',
      index: 0,
      total: 1,
      finding: finding({ evidence: lines }),
      buttons: [{ remediation: 'start_php_fpm', approvalId: 'd-1.0.start_php_fpm' }],
    });
    expectValid(m);
    expect(rawTokens(m)).toEqual([]);
    expect(JSON.stringify(m).length).toBeLessThan(20_000);
    expect(allText(m)).toContain('[line cut: 1048576 characters]');
    expect(allText(m)).toMatch(/Showing \d+ of 5001 evidence line\(s\)/);
  });

  it('renders remediation buttons with confirm dialogs within Block Kit limits', () => {
    const m = renderFinding({
      host: 'web-01',
      index: 2,
      total: 3,
      finding: finding({ title: 'x'.repeat(5000), remediations: ['reload_php_fpm', 'start_php_fpm', 'reload_nginx'] }),
      buttons: [
        { remediation: 'reload_php_fpm', approvalId: 'a' },
        { remediation: 'start_php_fpm', approvalId: 'b' },
        { remediation: 'reload_nginx', approvalId: 'c' },
      ],
      approvalExpiresAt: '2026-01-01T10:15:00.000Z',
    });
    expectValid(m);
    const actions = m.blocks.find((b) => b.type === 'actions');
    expect(actions?.type === 'actions' && actions.elements.map((e) => [e.action_id, e.value, e.confirm?.title.text.length])).toEqual([
      ['remediate:reload_php_fpm', 'a', expect.any(Number)],
      ['remediate:start_php_fpm', 'b', expect.any(Number)],
      ['remediate:reload_nginx', 'c', expect.any(Number)],
    ]);
  });

  it('labels restart_php_fpm "Restart PHP-FPM", and its confirm dialog says in-flight requests are dropped, even after a long title', () => {
    const m = renderFinding({
      host: 'web-01',
      index: 0,
      total: 1,
      finding: finding({ cause: 'socket_permission', title: 'y'.repeat(5000), remediations: ['restart_php_fpm'] }),
      buttons: [{ remediation: 'restart_php_fpm', approvalId: 'd-1.0.restart_php_fpm' }],
      approvalExpiresAt: '2026-01-01T10:15:00.000Z',
    });
    expectValid(m);
    const actions = m.blocks.find((b) => b.type === 'actions');
    const button = actions?.type === 'actions' ? actions.elements[0] : undefined;
    expect(button?.action_id).toBe('remediate:restart_php_fpm');
    expect(button?.text.text).toBe('Restart PHP-FPM');
    expect(button?.confirm?.title.text).toBe('Restart PHP-FPM on web-01?');
    expect(button?.confirm?.text.text).toMatch(
      /^This restarts PHP-FPM \(systemctl restart, else stop and start\): requests in flight are dropped on \*web-01\*/,
    );
  });

  it('shows who approved, the result and the verification in place of the buttons', () => {
    const m = renderFinding({
      host: 'web-01',
      index: 0,
      total: 1,
      finding: finding(),
      buttons: [{ remediation: 'start_php_fpm', approvalId: 'a' }],
      remediation: {
        remediation: 'start_php_fpm',
        approvedBy: 'U0BOB',
        approvedAt: '2026-01-01T10:01:00.000Z',
        status: 'succeeded',
        result: {
          ok: true,
          steps: [
            { command: 'sudo -n -- /usr/sbin/php-fpm8.2 --fpm-config /x', exitCode: 0, stdout: '', stderr: '<!channel> '.repeat(2000) },
          ],
          recovered: true,
          durationMs: 1500,
          verification: diagnosis([finding({ cause: 'healthy', severity: 'info', title: 'The site answers 200', remediations: [] })]),
        },
      },
    });
    expectValid(m);
    expect(m.blocks).not.toContainEqual(expect.objectContaining({ type: 'actions' }));
    const text = allText(m);
    expect(text).toContain('<@U0BOB>');
    expect(text).toContain('done, and the host recovered');
    expect(text).toContain('*Verification:* The site answers 200');
    expect(rawTokens(m).filter((t) => t !== '<@U0BOB>')).toEqual([]);
  });

  it('sanitizes what a remediation step printed and its error as evidence is: no escapes, no secrets, no fence break', () => {
    const m = renderFinding({
      host: 'web-01',
      index: 0,
      total: 1,
      finding: finding(),
      buttons: [],
      remediation: {
        remediation: 'reload_nginx',
        approvedBy: 'U0BOB',
        approvedAt: '2026-01-01T10:01:00.000Z',
        status: 'failed',
        result: {
          ok: false,
          steps: [
            {
              command: 'sudo -n -- /usr/sbin/nginx -t',
              exitCode: 1,
              stdout: '\u001b]0;pwned\u0007\u001b[2Jok',
              stderr: 'nginx: [emerg] password=hunter2 in /etc/nginx/x.conf `````',
            },
          ],
          recovered: false,
          durationMs: 300,
          error: 'test config: exit 1\nAuthorization: Bearer abc.def \u001b[31mred\u001b[0m ghp_abcdefghijklmnopqrstuvwxyz0123456789',
        },
      },
    });
    expectValid(m);
    const text = allText(m);
    expect(text).not.toContain('\u001b');
    expect(text).not.toContain('\u0007');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('abc.def');
    expect(text).not.toContain('ghp_abc');
    expect(text).toContain('password=[REDACTED]');
    expect(text).toContain('Bearer [REDACTED]');
    const code = (m.blocks as { text?: { text: string } }[]).map((b) => b.text?.text ?? '').find((t) => t.startsWith('```'));
    expect(code?.match(/```/g)).toHaveLength(2);
  });
});

describe('renderRoot', () => {
  it('states the verdict, host, duration and requester', () => {
    const m = renderRoot({
      host: 'web-01',
      status: 'done',
      requestedBy: { kind: 'user', userId: 'U0ALICE' },
      requestedAt: '2026-01-01T10:00:00.000Z',
      diagnosis: diagnosis([finding()]),
      joiners: [],
      notes: [],
    });
    expectValid(m);
    const text = allText(m);
    expect(text).toContain('web-01: PHP-FPM is down');
    expect(text).toContain('`php_fpm_down`');
    expect(text).toContain('0.8 s');
    expect(text).toContain('<@U0ALICE>');
  });

  it('lists unread supplementary checks with what they could hide, and ignored look-alike masters, escaped', () => {
    const d = diagnosis([finding({ cause: 'healthy', severity: 'info', title: 'The site answers 200', remediations: [] })], {
      gaps: [
        {
          check: 'kernel_log',
          reason: 'could not read the kernel log: Operation not permitted <!here>',
          supplementary: true,
          couldHide: 'an OOM kill of php-fpm',
        },
      ],
      untrustedMasters: [
        {
          pid: 4242,
          user: 'mallory',
          status: 'suspicious',
          title: 'nginx: master process /tmp/x/nginx <!channel>',
          why: 'looks like an nginx master but is owned by mallory',
        },
      ],
    });
    const m = renderRoot({
      host: 'web-01',
      status: 'done',
      requestedBy: { kind: 'user', userId: 'U0ALICE' },
      requestedAt: '2026-01-01T10:00:00.000Z',
      diagnosis: d,
      joiners: [],
      notes: [],
    });
    expectValid(m);
    expect(rawTokens(m)).toEqual([]);
    const text = allText(m);
    expect(text).not.toContain('Incomplete diagnosis');
    expect(text).toContain('*Not read* (supplementary checks; the verdict stands)');
    expect(text).toContain('could hide an OOM kill of php-fpm');
    expect(text).toContain('*Ignored masters*');
    expect(text).toContain('pid 4242 (mallory)');
  });

  it('says which alert asked, escaping its labels, and never calls an incomplete diagnosis healthy', () => {
    const d = diagnosis([finding({ cause: 'healthy', severity: 'info', title: 'No 502 evidence', remediations: [] })], {
      incomplete: true,
      gaps: [{ check: 'nginx_error_log', reason: 'Permission denied <!here>' }],
    });
    const m = renderRoot({
      host: 'web-01',
      status: 'done',
      requestedBy: {
        kind: 'alert',
        source: 'alertmanager',
        alertName: 'Nginx502 <!channel>',
        labels: { instance: '<http://evil|x>' },
        summary: '5xx > 5% <@U0123ABCD>',
      },
      requestedAt: '2026-01-01T10:00:00.000Z',
      diagnosis: d,
      joiners: [{ kind: 'user', userId: 'U0ALICE' }],
      notes: Array.from({ length: 100 }, (_, i) => ({
        at: '2026-01-01T10:05:00.000Z',
        kind: 'firing' as const,
        text: `still firing ${i} <!channel>`,
      })),
    });
    expectValid(m);
    expect(rawTokens(m)).toEqual([]);
    const text = allText(m);
    expect(text).toContain('Incomplete diagnosis');
    expect(text).not.toContain(': Healthy');
    expect(text).toContain('alertmanager');
    expect(text).toContain('still firing 99');
  });

  it('explains a diagnosis that could not run', () => {
    const m = renderRoot({
      host: 'web-01',
      status: 'failed',
      requestedBy: { kind: 'user', userId: 'U0ALICE' },
      requestedAt: '2026-01-01T10:00:00.000Z',
      error: { code: 'SSH_CONNECTION_REFUSED', message: 'connect ECONNREFUSED <!channel>', hint: 'check sshd' },
      joiners: [],
      notes: [],
    });
    expectValid(m);
    expect(rawTokens(m)).toEqual([]);
    expect(allText(m)).toContain('SSH_CONNECTION_REFUSED');
  });
});

describe('lists', () => {
  it('history escapes details and stays within limits', () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({
      at: '2026-01-01T10:00:00.000Z',
      kind: 'refused',
      actor: 'U0ALICE',
      detail: `click ${i} <!channel> ${'z'.repeat(400)}`,
    }));
    const m = renderHistory('web-01', entries);
    expectValid(m);
    expect(rawTokens(m)).toEqual([]);
  });

  it('evidence packing counts what it leaves out', () => {
    const r = evidenceBlocks(
      Array.from({ length: 100 }, () => 'a'.repeat(100)),
      1,
    );
    expect(r.blocks).toHaveLength(1);
    expect(r.shownLines + r.cutLines).toBe(100);
    expect(r.cutLines).toBeGreaterThan(0);
  });
});
