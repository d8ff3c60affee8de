import type { RemediationId } from '../causes.ts';
import type { RemediationResultView } from '../remediation/remediation-result.ts';
import { escapeMrkdwn } from './escape-mrkdwn.ts';
import { mention } from './block-kit.ts';

/**
 * The thread reply saying how an approved remediation went: escaped mrkdwn, one line. PURE.
 * The verification's title came from a host, so it is escaped; the remediation id and the
 * approver are ours (a contract id, a Slack user id), and a non-id is never made a mention.
 */
export function renderRemediationNotice(a: { remediation: RemediationId; approvedBy: string; result: RemediationResultView }): string {
  const { result } = a;
  const icon = !result.ok ? ':x:' : result.recovered ? ':white_check_mark:' : ':warning:';
  const what = !result.ok ? 'failed' : result.recovered ? 'done; the host recovered' : 'done, but the verification still finds a problem';
  const verdict =
    result.verification === undefined
      ? ''
      : ` Verification: ${escapeMrkdwn(result.verification.verdict.title)} (\`${result.verification.verdict.cause}\`).`;
  // The probes of the stack acted on that still fail, by vhost: their names came from a host too.
  const failing =
    result.stillFailing === undefined || result.stillFailing.length === 0
      ? ''
      : ` Still failing: ${escapeMrkdwn(result.stillFailing.join(', '))}.`;
  return `${icon} \`${a.remediation}\` approved by ${mention(a.approvedBy)}: ${what}.${verdict}${failing}`;
}
