import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../../../src/adapters/files/load-playbooks.ts';
import type { Playbook } from '../../../src/core/playbook/playbook-schema.ts';
import { createDiagnoseJob, type DiagnoseJob, type DiagnoseJobDeps } from '../../../src/jobs/diagnose-job.ts';
import {
  INVENTORY,
  MemoryAudit,
  MemoryRecords,
  MemoryReporter,
  RefusingConnector,
  record,
  silentLogger,
} from '../../helpers/in-memory-ports.ts';

/*
 * The diagnose job over in-memory ports: what it does when BullMQ delivers a job again (after a
 * worker died, after it stalled), when the host cannot be reached, and when it hangs. The
 * successful path, with real SSH checks, is in the *.sshd and *.slack tests.
 */

let playbooks: Map<string, Playbook>;
beforeAll(async () => {
  playbooks = await loadPlaybooks();
});

function harness(connector: RefusingConnector, over: Partial<DiagnoseJobDeps> = {}) {
  const records = new MemoryRecords();
  const audit = new MemoryAudit();
  const reporter = new MemoryReporter();
  const errors: string[] = [];
  const run = createDiagnoseJob({
    records,
    audit,
    reporter,
    inventory: () => INVENTORY,
    playbooks,
    connector,
    logger: silentLogger,
    now: () => new Date('2026-01-01T00:00:10.000Z'),
    dedupWindowMs: 60_000,
    onError: (code) => errors.push(code),
    ...over,
  });
  const job = (finalAttempt = true, data: unknown = { diagnosisId: 'd-1', host: 'web-01', playbook: 'nginx-502' }): DiagnoseJob => ({
    id: 'd-1',
    data,
    finalAttempt,
    progress: async () => {},
  });
  return { records, audit, reporter, errors, run, job };
}

describe('diagnose job', () => {
  it('refuses a payload that is not a diagnose job, before touching anything', async () => {
    const h = harness(new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'no' }));
    await expect(h.run(h.job(true, { diagnosisId: 'd-1', host: 'web-01; reboot', playbook: 'nginx-502' }))).rejects.toThrow();
    expect(h.reporter.calls).toEqual([]);
  });

  it('a job whose record expired fails as HOST_UNKNOWN and connects to nothing', async () => {
    const connector = new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'no' });
    const h = harness(connector);
    await expect(h.run(h.job())).rejects.toMatchObject({ code: 'HOST_UNKNOWN' });
    expect(connector.attempts).toEqual([]);
  });

  it('redelivered after it finished (its worker died before acking): not run again, its report completed', async () => {
    const connector = new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'no' });
    const h = harness(connector);
    h.records.add(record({ status: 'done' }));
    await expect(h.run(h.job())).resolves.toEqual({ diagnosisId: 'd-1', status: 'already-finished' });
    expect(connector.attempts).toEqual([]);
    expect(h.audit.entries).toEqual([]);
    expect(h.reporter.calls).toEqual(['publish d-1']);
    expect(h.records.records.get('d-1')?.status).toBe('done');
  });

  it('redelivered while "running" (its worker died mid-run): runs again and finishes it', async () => {
    const connector = new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'Permission denied (publickey)' });
    const h = harness(connector);
    h.records.add(record({ status: 'running' }));
    await expect(h.run(h.job())).resolves.toEqual({ diagnosisId: 'd-1', status: 'failed' });
    expect(connector.attempts).toEqual(['web-01']);
    expect(h.records.records.get('d-1')).toMatchObject({
      status: 'failed',
      error: { code: 'SSH_AUTH_FAILED', message: 'Permission denied (publickey)' },
    });
    expect(h.audit.entries).toEqual([
      expect.objectContaining({
        kind: 'failed',
        host: 'web-01',
        diagnosisId: 'd-1',
        detail: 'SSH_AUTH_FAILED: Permission denied (publickey)',
      }),
    ]);
    expect(h.reporter.calls).toEqual(['refreshRoot d-1', 'publish d-1']);
    expect(h.errors).toEqual(['SSH_AUTH_FAILED']);
  });

  it('a retryable failure is thrown back for BullMQ to retry, leaving the record running; the last attempt records it', async () => {
    const connector = new RefusingConnector({ code: 'SSH_UNREACHABLE', message: 'EHOSTUNREACH' });
    const h = harness(connector);
    h.records.add(record());
    await expect(h.run(h.job(false))).rejects.toMatchObject({ code: 'SSH_UNREACHABLE' });
    expect(h.records.records.get('d-1')?.status).toBe('running');
    expect(h.audit.entries).toEqual([]);
    await expect(h.run(h.job(true))).resolves.toMatchObject({ status: 'failed' });
    expect(h.records.records.get('d-1')).toMatchObject({ status: 'failed', error: { code: 'SSH_UNREACHABLE' } });
    expect(connector.attempts).toEqual(['web-01', 'web-01']);
  });

  it('an unexpected error (not a MedicError) is retried too, and recorded in words at the end', async () => {
    const h = harness(new RefusingConnector({ plain: 'socket hang up' }));
    h.records.add(record());
    await expect(h.run(h.job(false))).rejects.toThrow('socket hang up');
    await h.run(h.job(true));
    expect(h.records.records.get('d-1')?.error).toEqual({ message: 'socket hang up' });
    expect(h.errors).toEqual(['INTERNAL']);
  });

  it('two deliveries at once (a stalled job handed to a second worker): the outcome is stored and audited once', async () => {
    const connector = new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'no' });
    const h = harness(connector);
    h.records.add(record());
    const outcomes = await Promise.all([h.run(h.job()), h.run(h.job())]);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed']);
    expect(h.audit.kinds()).toEqual(['failed']);
    expect(h.reporter.calls.filter((c) => c.startsWith('publish'))).toEqual(['publish d-1', 'publish d-1']);
  });

  it('a host no longer in the inventory fails at once, without a retry', async () => {
    const connector = new RefusingConnector({ code: 'SSH_AUTH_FAILED', message: 'no' });
    const h = harness(connector);
    h.records.add(record({ host: 'gone-01' }));
    await expect(h.run(h.job(false, { diagnosisId: 'd-1', host: 'gone-01', playbook: 'nginx-502' }))).resolves.toMatchObject({
      status: 'failed',
    });
    expect(connector.attempts).toEqual([]);
    expect(h.records.records.get('d-1')?.error).toMatchObject({ code: 'HOST_UNKNOWN' });
  });

  it('a host that never answers: said on the report while waiting, then DIAGNOSIS_TIMEOUT, and the connection attempt is aborted', async () => {
    const connector = new RefusingConnector('hang');
    const h = harness(connector, { timeoutMs: 300, notAnsweringAfterMs: 50 });
    h.records.add(record());
    await expect(h.run(h.job(false))).resolves.toMatchObject({ status: 'failed' });
    const stored = h.records.records.get('d-1');
    expect(stored?.error).toMatchObject({ code: 'DIAGNOSIS_TIMEOUT' });
    expect(connector.aborted).toEqual(['web-01']);
    expect(stored?.notes).toContainEqual(
      expect.objectContaining({ kind: 'info', text: expect.stringContaining('web-01 is not answering SSH') }),
    );
  });
});
