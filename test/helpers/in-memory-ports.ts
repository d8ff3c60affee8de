import { pino } from 'pino';
import type { AuditEntry } from '../../src/core/audit-entry.ts';
import type { DiagnosisRecord, RootNote } from '../../src/core/diagnosis-request.ts';
import type { Diagnosis } from '../../src/core/finding.ts';
import type { Inventory } from '../../src/core/inventory/inventory-schema.ts';
import type { ApprovalRecord } from '../../src/core/remediation/approval-record.ts';
import type { RemediationResultView, RemediationStatus } from '../../src/core/remediation/remediation-result.ts';
import { MedicError, type ErrorCode } from '../../src/errors.ts';
import type {
  ApprovalRecordStore,
  AuditRecorder,
  CommandRunner,
  DiagnosisRecordStore,
  HostConnector,
  RemediationAnnouncement,
  RemediationPublisher,
  ReportPublisher,
  TargetHost,
} from '../../src/jobs/ports.ts';

/*
 * The jobs' ports held in memory, with the guarantees the Redis stores give (a finished
 * diagnosis is finished once; a remediation is started once), so the jobs' own logic (redelivery,
 * retries, once-only) is tested without Redis, Slack or a host. Records are copied in and out,
 * as a store would, so a job cannot change what is stored by holding an object.
 */

const copy = <T>(v: T): T => structuredClone(v);

export class MemoryRecords implements DiagnosisRecordStore {
  readonly records = new Map<string, DiagnosisRecord>();
  add(record: DiagnosisRecord): void {
    this.records.set(record.id, copy(record));
  }
  async get(id: string): Promise<DiagnosisRecord | undefined> {
    const r = this.records.get(id);
    return r === undefined ? undefined : copy(r);
  }
  async markRunning(id: string): Promise<void> {
    const r = this.records.get(id);
    if (r?.status === 'queued') r.status = 'running';
  }
  async complete(record: DiagnosisRecord, diagnosis: Diagnosis): Promise<boolean> {
    const r = this.records.get(record.id);
    if (r === undefined || r.status === 'done' || r.status === 'failed') return false;
    r.status = 'done';
    r.diagnosis = copy(diagnosis);
    return true;
  }
  async fail(record: DiagnosisRecord, error: NonNullable<DiagnosisRecord['error']>): Promise<boolean> {
    const r = this.records.get(record.id);
    if (r === undefined || r.status === 'done' || r.status === 'failed') return false;
    r.status = 'failed';
    r.error = copy(error);
    return true;
  }
  async addNote(id: string, note: RootNote): Promise<void> {
    this.records.get(id)?.notes.push(copy(note));
  }
  async setRemediation(id: string, remediation: NonNullable<DiagnosisRecord['remediation']>): Promise<void> {
    const r = this.records.get(id);
    if (r !== undefined) r.remediation = copy(remediation);
  }
}

export class MemoryApprovals implements ApprovalRecordStore {
  readonly approvals = new Map<string, ApprovalRecord>();
  readonly started = new Set<string>();
  add(record: ApprovalRecord): void {
    this.approvals.set(record.id, copy(record));
  }
  async get(id: string): Promise<ApprovalRecord | undefined> {
    const r = this.approvals.get(id);
    return r === undefined ? undefined : copy(r);
  }
  async markStarted(id: string): Promise<boolean> {
    if (this.started.has(id)) return false;
    this.started.add(id);
    return true;
  }
  async finish(id: string, status: RemediationStatus, result: RemediationResultView): Promise<void> {
    const r = this.approvals.get(id);
    if (r !== undefined) Object.assign(r, { status, result: copy(result) });
  }
}

export class MemoryAudit implements AuditRecorder {
  readonly entries: Omit<AuditEntry, 'at'>[] = [];
  async record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    this.entries.push(copy(entry));
  }
  kinds(): string[] {
    return this.entries.map((e) => e.kind);
  }
}

/** Both publishers; records what the jobs asked to show, in order. */
export class MemoryReporter implements ReportPublisher, RemediationPublisher {
  readonly calls: string[] = [];
  readonly announcements: { diagnosisId: string; announcement: RemediationAnnouncement }[] = [];
  async refreshRoot(diagnosisId: string): Promise<void> {
    this.calls.push(`refreshRoot ${diagnosisId}`);
  }
  async publish(diagnosisId: string): Promise<void> {
    this.calls.push(`publish ${diagnosisId}`);
  }
  async refreshFinding(approvalId: string): Promise<void> {
    this.calls.push(`refreshFinding ${approvalId}`);
  }
  async announceRemediation(diagnosisId: string, announcement: RemediationAnnouncement): Promise<void> {
    this.calls.push(`announceRemediation ${diagnosisId}`);
    this.announcements.push({ diagnosisId, announcement: copy(announcement) });
  }
}

/**
 * A connector that reaches no host: each connection fails as `fail` says (a MedicError code,
 * or a plain error as an unexpected failure is), or, with `hang`, never answers until aborted.
 * It counts the attempts: the number of times a job tried to touch the host.
 */
export class RefusingConnector implements HostConnector {
  readonly attempts: string[] = [];
  /** Connections given up by the job (their signal aborted). */
  readonly aborted: string[] = [];
  constructor(private readonly fail: { code: ErrorCode; message: string } | { plain: string } | 'hang') {}
  connect(host: TargetHost, options?: { signal?: AbortSignal }): Promise<CommandRunner> {
    this.attempts.push(host.name);
    const f = this.fail;
    if (f === 'hang') {
      return new Promise((_, reject) => {
        options?.signal?.addEventListener(
          'abort',
          () => {
            this.aborted.push(host.name);
            reject(new MedicError('SSH_NOT_ANSWERING', `${host.name} did not answer`));
          },
          { once: true },
        );
      });
    }
    return Promise.reject('code' in f ? new MedicError(f.code, f.message) : new Error(f.plain));
  }
}

export const silentLogger = pino({ level: 'silent' });

export const INVENTORY: Inventory = {
  hosts: {
    'web-01': {
      address: '127.0.0.1',
      port: 22,
      user: 'medic',
      privateKeyPath: '/nonexistent/key',
      knownHostsPath: '/nonexistent/known_hosts',
      sudo: false,
      playbook: 'nginx-502',
      facts: {},
    },
  },
  groups: {},
};

export const record = (over: Partial<DiagnosisRecord> = {}): DiagnosisRecord => ({
  id: 'd-1',
  host: 'web-01',
  playbook: 'nginx-502',
  channel: 'C1',
  rootTs: '1.1',
  requestedBy: { kind: 'user', userId: 'U0ASKER' },
  requestedAt: '2026-01-01T00:00:00.000Z',
  status: 'queued',
  joiners: [],
  notes: [],
  ...over,
});
