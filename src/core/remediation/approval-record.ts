import type { RemediationId } from '../causes.ts';
import type { RemediationResultView, RemediationStatus } from './remediation-result.ts';

/** One remediation button: what it would run, for which diagnosis, until when. */
export interface ApprovalRecord {
  id: string;
  diagnosisId: string;
  host: string;
  remediation: RemediationId;
  findingIndex: number;
  channel: string;
  /** ts of the thread reply holding the button, once posted. */
  messageTs?: string;
  /** The Slack user who asked for the diagnosis (absent for alerts): the two-person rule's "requester". */
  requestedBy?: string;
  createdAt: string;
  expiresAt: string;
  approvedBy?: string;
  approvedAt?: string;
  status?: RemediationStatus;
  result?: RemediationResultView;
}
