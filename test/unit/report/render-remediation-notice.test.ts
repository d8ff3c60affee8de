import { describe, expect, it } from 'vitest';
import type { Diagnosis } from '../../../src/core/finding.ts';
import { renderRemediationNotice } from '../../../src/core/report/render-remediation-notice.ts';

const verification = (title: string): Diagnosis => ({
  host: 'web-01',
  playbook: 'nginx-502',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1,
  verdict: { cause: 'php_fpm_down', title },
  findings: [],
  incomplete: false,
  gaps: [],
  facts: {},
  checks: [],
});

describe('renderRemediationNotice', () => {
  it('says how it went, with an icon, the approver as a mention and the verification', () => {
    const base = { remediation: 'reload_php_fpm' as const, approvedBy: 'U0APPROVER' };
    expect(renderRemediationNotice({ ...base, result: { ok: false, steps: [], recovered: false, durationMs: 0, error: 'x' } })).toBe(
      ':x: `reload_php_fpm` approved by <@U0APPROVER>: failed.',
    );
    expect(
      renderRemediationNotice({
        ...base,
        result: { ok: true, steps: [], recovered: true, durationMs: 5, verification: verification('Healthy') },
      }),
    ).toBe(
      ':white_check_mark: `reload_php_fpm` approved by <@U0APPROVER>: done; the host recovered. Verification: Healthy (`php_fpm_down`).',
    );
    expect(renderRemediationNotice({ ...base, result: { ok: true, steps: [], recovered: false, durationMs: 5 } })).toBe(
      ':warning: `reload_php_fpm` approved by <@U0APPROVER>: done, but the verification still finds a problem.',
    );
  });

  it('names the vhosts of the stack that still fail, escaped (their names came from a host)', () => {
    const text = renderRemediationNotice({
      remediation: 'start_php_fpm',
      approvedBy: 'U0APPROVER',
      result: {
        ok: true,
        steps: [],
        recovered: false,
        durationMs: 5,
        stillFailing: ['shop.example.com (HTTP 502)', '<!here> (no answer)'],
      },
    });
    expect(text).toBe(
      ':warning: `start_php_fpm` approved by <@U0APPROVER>: done, but the verification still finds a problem. Still failing: shop.example.com (HTTP 502), &lt;!here&gt; (no answer).',
    );
  });

  it('escapes the verification title (it came from a host) and never mentions a non-id', () => {
    const text = renderRemediationNotice({
      remediation: 'reload_nginx',
      approvedBy: '<!channel>',
      result: { ok: true, steps: [], recovered: false, durationMs: 5, verification: verification('<!here> *bold* <http://x|y>') },
    });
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<http');
    expect(text).toContain('&lt;!here&gt;');
  });
});
