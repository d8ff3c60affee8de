import { slackSignature } from '../adapters/slack/slack-signature.ts';

/** The headers Slack sends with a signed request (the signature as the bot checks it: slack-signature.ts). */
export function signSlackRequest(signingSecret: string, body: string, timestampSec: number): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestampSec),
    'x-slack-signature': slackSignature(signingSecret, String(timestampSec), body),
  };
}
