import { randomBytes } from 'node:crypto';
import type { Json } from './block-kit-rules.ts';

/*
 * What Slack sends a bot when a person uses it: the form of a slash command and the payload of
 * a button click, field for field as Slack does. The stand-in delivers them signed over HTTP
 * or as Socket Mode envelopes.
 */

export interface SlashCommandInput {
  text: string;
  userId: string;
  channelId: string;
  command?: string;
  userName?: string;
  channelName?: string;
}

/** A message as the stand-in keeps it; what a click payload quotes. */
export interface ClickedMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
}

export function slashCommandForm(input: SlashCommandInput, ctx: { teamId: string; responseUrl: string }): Record<string, string> {
  return {
    token: 'deprecated-verification-token',
    team_id: ctx.teamId,
    team_domain: 'standin',
    channel_id: input.channelId,
    channel_name: input.channelName ?? 'ops',
    user_id: input.userId,
    user_name: input.userName ?? input.userId.toLowerCase(),
    command: input.command ?? '/502',
    text: input.text,
    api_app_id: 'A0STANDIN',
    is_enterprise_install: 'false',
    response_url: ctx.responseUrl,
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
  };
}

/** The `block_actions` payload of a click on the button `actionId` of `message`. */
export function blockActionsPayload(
  message: ClickedMessage,
  input: { actionId: string; userId: string; userName?: string },
  ctx: { teamId: string; botUserId: string; responseUrl: string },
): Json {
  let found: { block: Json; element: Json } | undefined;
  for (const block of message.blocks as Json[]) {
    if (block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    for (const element of block.elements as Json[]) if (element.action_id === input.actionId) found = { block, element };
  }
  if (found === undefined) throw new Error(`Slack stand-in: message ${message.ts} has no button ${input.actionId}`);
  return {
    type: 'block_actions',
    user: {
      id: input.userId,
      username: input.userName ?? input.userId.toLowerCase(),
      name: input.userName ?? input.userId.toLowerCase(),
      team_id: ctx.teamId,
    },
    api_app_id: 'A0STANDIN',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: message.ts,
      channel_id: message.channel,
      is_ephemeral: false,
      ...(message.threadTs !== undefined ? { thread_ts: message.threadTs } : {}),
    },
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    team: { id: ctx.teamId, domain: 'standin' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: 'ops' },
    message: {
      type: 'message',
      user: ctx.botUserId,
      ts: message.ts,
      bot_id: 'B0STANDIN',
      text: message.text,
      blocks: message.blocks,
      ...(message.threadTs !== undefined ? { thread_ts: message.threadTs } : {}),
    },
    state: { values: {} },
    response_url: ctx.responseUrl,
    actions: [{ ...found.element, block_id: found.block.block_id, action_ts: `${(Date.now() / 1000).toFixed(6)}` }],
  };
}
