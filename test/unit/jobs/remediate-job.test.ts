import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../../../src/adapters/files/load-playbooks.ts';
import type { Playbook } from '../../../src/core/playbook/playbook-schema.ts';
import type { ApprovalRecord } from '../../../src/core/remediation/approval-record.ts';
import { createRemediateJob, type RemediateJob } from '../../../src/jobs/remediate-job.ts';
import {
  INVENTORY,
  MemoryApprovals,
  MemoryAudit,
  MemoryRecords,
  MemoryReporter,
  RefusingConnector,
  record,
  silentLogger,
} from '../../helpers/in-memory-ports.ts';

/*
 * The remediate job over in-memory ports: above all, that a remediation never runs twice,
 * whatever BullMQ delivers again. "Runs" means "asks to connect to the host": the connector
 * counts every attempt. The commands themselves run against a real host in the *.slack tests.
 */

let playbooks: Map<string, Playbook>;
beforeAll(async () => {
  playbooks = await loadPlaybooks();
});

const approval = (over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: 'd-1.0.reload_php_fpm',
  diagnosisId: 'd-1',
  host: 'web-01',
  remediation: 'reload_php_fpm',
  findingIndex: 0,
  channel: 'C1',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:15:00.000Z',
  approvedBy: 'U0APPROVER',
  approvedAt: '2026-01-01T00:01:00.000Z',
  status: 'running',
  ...over,
});

const DATA = {
  approvalId: 'd-1.0.reload_php_fpm',
  diagnosisId: 'd-1',
  host: 'web-01',
  remediation: 'reload_php_fpm',
  approvedBy: 'U0APPROVER',
};

function harness(connector: RefusingConnector) {
  const records = new MemoryRecords();
  const approvals = new MemoryApprovals();
  const audit = new MemoryAudit();
  const reporter = new MemoryReporter();
  const outcomes: string[] = [];
  records.add(record({ status: 'done' }));
  const run = createRemediateJob({
    approvals,
    records,
    audit,
    reporter,
    inventory: () => INVENTORY,
    playbooks,
    connector,
    logger: silentLogger,
    now: () => new Date('2026-01-01T00:01:01.000Z'),
    onRemediation: (remediation, outcome) => outcomes.push(`${remediation} ${outcome}`),
  });
  const job = (data: unknown = DATA): RemediateJob => ({ id: 'r-d-1.0.reload_php_fpm', data });
  return { records, approvals, audit, reporter, outcomes, run, job };
}

describe('remediate job', () => {
  it('refuses a job whose approval does not exist or was never approved: nothing runs, nothing is shown', async () => {
    const connector = new RefusingConnector({ code: 'SSH_UNREACHABLE', message: 'EHOSTUNREACH' });
    const h = harness(connector);
    await expect(h.run(h.job())).resolves.toEqual({ status: 'refused' });
    // A record never approved has no approver, time or status at all.
    const { approvedBy: _by, approvedAt: _at, status: _status, ...neverApproved } = approval();
    h.approvals.add(neverApproved);
    await expect(h.run(h.job())).resolves.toEqual({ status: 'refused' });
    expect(connector.attempts).toEqual([]);
    expect(h.approvals.started.size).toBe(0);
    expect(h.audit.entries).toEqual([]);
    expect(h.reporter.calls).toEqual([]);
  });

  it('refuses a payload naming an approver that is not a Slack user id', async () => {
    const h = harness(new RefusingConnector({ code: 'SSH_UNREACHABLE', message: 'x' }));
    h.approvals.add(approval());
    await expect(h.run(h.job({ ...DATA, approvedBy: '<!channel>' }))).rejects.toThrow();
    expect(h.approvals.started.size).toBe(0);
  });

  it('runs once; delivered again after it finished, it is not run again and nothing is shown twice', async () => {
    const connector = new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'Permission denied (publickey)' });
    const h = harness(connector);
    h.approvals.add(approval());
    await expect(h.run(h.job())).resolves.toEqual({ status: 'failed' });
    expect(connector.attempts).toEqual(['web-01']);
    const calls = [...h.reporter.calls];
    await expect(h.run(h.job())).resolves.toEqual({ status: 'already-finished' });
    expect(connector.attempts).toEqual(['web-01']);
    expect(h.reporter.calls).toEqual(calls);
    expect(h.audit.kinds()).toEqual(['remediation']);
    expect(h.outcomes).toEqual(['reload_php_fpm failed']);
  });

  it('what it finished with is stored, audited and announced: the error quoted with its code', async () => {
    const h = harness(new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'Permission denied (publickey)' }));
    h.approvals.add(approval());
    await h.run(h.job());
    const result = { ok: false, steps: [], recovered: false, durationMs: 0, error: 'SSH_AUTH_FAILED: Permission denied (publickey)' };
    expect(h.approvals.approvals.get(DATA.approvalId)).toMatchObject({ status: 'failed', result });
    expect(h.records.records.get('d-1')?.remediation).toEqual({
      remediation: 'reload_php_fpm',
      approvedBy: 'U0APPROVER',
      status: 'failed',
      recovered: false,
    });
    expect(h.audit.entries).toEqual([
      expect.objectContaining({
        kind: 'remediation',
        actor: 'U0APPROVER',
        approvalId: DATA.approvalId,
        detail: 'reload_php_fpm failed; no verification; SSH_AUTH_FAILED: Permission denied (publickey)',
      }),
    ]);
    expect(h.reporter.calls).toEqual([`refreshFinding ${DATA.approvalId}`, 'refreshRoot d-1', 'announceRemediation d-1']);
    expect(h.reporter.announcements).toEqual([
      { diagnosisId: 'd-1', announcement: { remediation: 'reload_php_fpm', approvedBy: 'U0APPROVER', result } },
    ]);
  });

  it('delivered again after its worker died mid-run: never run a second time; finished as failed, saying why', async () => {
    const connector = new RefusingConnector({ code: 'SSH_UNREACHABLE', message: 'EHOSTUNREACH' });
    const h = harness(connector);
    h.approvals.add(approval());
    // The first delivery got as far as marking the start, then its worker died.
    expect(await h.approvals.markStarted(DATA.approvalId)).toBe(true);
    await expect(h.run(h.job())).resolves.toEqual({ status: 'interrupted' });
    expect(connector.attempts).toEqual([]);
    expect(h.approvals.approvals.get(DATA.approvalId)).toMatchObject({
      status: 'failed',
      result: { ok: false, error: expect.stringMatching(/stopped before it finished, so it was not run again/) },
    });
    expect(h.audit.kinds()).toEqual(['remediation']);
    expect(h.reporter.announcements).toHaveLength(1);
  });

  it('two deliveries at once: the host is touched once', async () => {
    const connector = new RefusingConnector({ code: 'SSH_UNREACHABLE', message: 'EHOSTUNREACH' });
    const h = harness(connector);
    h.approvals.add(approval());
    const outcomes = await Promise.all([h.run(h.job()), h.run(h.job()), h.run(h.job())]);
    expect(connector.attempts).toEqual(['web-01']);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['failed', 'interrupted', 'interrupted']);
  });

  it('an error that quotes the host is made safe before it is stored or shown', async () => {
    const h = harness(new RefusingConnector({ plain: 'bad \u001b[31mred\u001b[0m <!channel> \u202Eevil' }));
    h.approvals.add(approval());
    await h.run(h.job());
    const error = h.approvals.approvals.get(DATA.approvalId)?.result?.error ?? '';
    expect(error).toMatch(/^bad .*red.*evil/);
    expect([...error].filter((c) => c === '\u001b' || c === '\u202E')).toEqual([]);
  });
});
