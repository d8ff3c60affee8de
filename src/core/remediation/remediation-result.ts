import type { RemediationId } from '../causes.ts';
import type { Diagnosis } from '../finding.ts';

/** Where an approved remediation stands. */
export type RemediationStatus = 'running' | 'succeeded' | 'failed';

export interface RemediationStepView {
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** What a finished remediation produced, as stored with its approval and shown in its thread reply. */
export interface RemediationResultView {
  ok: boolean;
  steps: RemediationStepView[];
  verification?: Diagnosis;
  recovered: boolean;
  durationMs: number;
  error?: string;
  /** The stack's virtual hosts that still did not answer at the verification: "shop.example.com (HTTP 502)". */
  stillFailing?: string[];
}

/** A remediation approved from a finding: who, when, and how it went. */
export interface RemediationView {
  remediation: RemediationId;
  approvedBy: string;
  /** ISO time of the approval. */
  approvedAt: string;
  status: RemediationStatus;
  result?: RemediationResultView;
}
