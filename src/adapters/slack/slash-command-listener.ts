import type { SlashCommand } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Inventory } from '../../core/inventory/inventory-schema.ts';
import { resolveHosts, unknownHostMessage } from '../../core/inventory/resolve-hosts.ts';
import { escapeMrkdwn } from '../../core/report/escape-mrkdwn.ts';
import type { SlackMessage } from '../../core/report/block-kit.ts';
import { renderHelp, renderHistory, renderHosts, renderNotice } from '../../core/report/render-replies.ts';
import { errorMessage, isMedicError } from '../../errors.ts';
import type { AuditTrail } from '../store/audit-trail.ts';
import { AfterAcks } from './after-acks.ts';
import type { BoltApp } from './create-bolt-app.ts';
import type { DiagnosisService, DiagnosisTicket } from '../../app-service/diagnosis-service.ts';
import { parseSlashCommand } from './parse-slash-command.ts';

export interface SlashCommandDeps {
  service: DiagnosisService;
  audit: AuditTrail;
  inventory: () => Inventory;
  logger: Logger;
  /** @defaultValue SLASH_COMMAND */
  command?: string;
  onCommand?: (subcommand: string) => void;
  /** Where work waits until a burst of commands has been acked. @defaultValue a fresh AfterAcks */
  afterAcks?: AfterAcks;
}

/** The slash command the Slack app declares (slack-app-manifest.yaml). */
export const SLASH_COMMAND = '/502';

type Reply = SlackMessage & { response_type: 'ephemeral' };

/** What answering one slash command needs, from Bolt's listener or from the HTTP fast path. */
export interface SlashCommandArgs {
  command: Pick<SlashCommand, 'text' | 'user_id' | 'channel_id'>;
  /** Slack's ack: the HTTP response (or Socket Mode envelope), with the ephemeral answer when there is one. */
  ack: (reply?: Reply) => Promise<void>;
  /** A later answer through the command's response_url. */
  respond: (reply: Reply) => Promise<unknown>;
}

export type SlashCommandHandler = (args: SlashCommandArgs) => Promise<void>;

const ephemeral = (m: SlackMessage): Reply => ({ ...m, response_type: 'ephemeral' });

/** What the requester is told once the work is queued (ephemeral, via response_url). */
function queuedAnswer(tickets: DiagnosisTicket[], channel: string): string {
  const lines = tickets.map((t) => {
    const where = t.channel === channel ? 'the thread below' : `the report in <#${t.channel}>`;
    if (!t.joined) return `:mag: *${escapeMrkdwn(t.host)}*: diagnosis queued; the findings will be in ${where}.`;
    const state = t.status === 'queued' || t.status === 'running' ? 'is already being diagnosed' : 'was diagnosed moments ago';
    return `:link: *${escapeMrkdwn(t.host)}* ${state}: you share that diagnosis, see ${where}.`;
  });
  return lines.join('\n');
}

/** Slack's answer when the bot cannot post in the channel, turned into what to do about it. */
function slackProblem(e: unknown): string | undefined {
  const code = (e as { data?: { error?: string } }).data?.error;
  if (code === 'not_in_channel' || code === 'channel_not_found')
    return 'I cannot post in this channel: invite me first (`/invite @medic`), or run the command where I am.';
  return undefined;
}

/**
 * `/502 …`, registered with Bolt (Socket Mode, and HTTP requests the fast path leaves to Bolt);
 * returns the handler, which the HTTP fast path (slash-command-fast-path.ts) calls itself.
 * Always acks at once (Slack allows 3 s): answers that need nothing but memory (help,
 * hosts, unknown hosts) are the ack itself; anything touching Redis or Slack happens after the
 * ack and answers through response_url. The text only ever selects an inventory host.
 */
export function registerSlashCommand(app: BoltApp, deps: SlashCommandDeps): SlashCommandHandler {
  const handle = slashCommandHandler(deps);
  app.command(deps.command ?? SLASH_COMMAND, ({ command, ack, respond }) => handle({ command, ack, respond }));
  return handle;
}

/** The answer to `/502 …`, whichever way the command arrived (see registerSlashCommand). */
function slashCommandHandler(deps: SlashCommandDeps): SlashCommandHandler {
  const afterAcks = deps.afterAcks ?? new AfterAcks();
  return async ({ command, ack, respond }) => {
    const parsed = parseSlashCommand(command.text ?? '');
    deps.onCommand?.(parsed.kind);
    const user = { kind: 'user' as const, userId: command.user_id };
    const inventory = deps.inventory();
    switch (parsed.kind) {
      case 'help':
        return ack(ephemeral(renderHelp()));
      case 'invalid':
        await ack(ephemeral(renderHelp(parsed.message)));
        return afterAcks.run(() =>
          deps.audit.record({ kind: 'refused', actor: command.user_id, detail: `invalid command: ${command.text.slice(0, 200)}` }),
        );
      case 'hosts':
        return ack(ephemeral(renderHosts(Object.keys(inventory.hosts).sort(), inventory.groups)));
      case 'history': {
        if (!Object.hasOwn(inventory.hosts, parsed.host))
          return ack(ephemeral(renderNotice(escapeMrkdwn(unknownHostMessage(inventory, parsed.host)))));
        await ack();
        return afterAcks.run(async () => {
          const entries = await deps.audit.history(parsed.host, 25, ['check']);
          await respond(ephemeral(renderHistory(parsed.host, entries)));
        });
      }
      case 'diagnose': {
        try {
          // Resolved here too (in memory) so that an unknown host is answered in the ack.
          resolveHosts(inventory, parsed.target);
        } catch (e) {
          if (!isMedicError(e) || (e.code !== 'HOST_UNKNOWN' && e.code !== 'HOST_PATTERN_REFUSED')) throw e;
          await ack(ephemeral(renderNotice(`:grey_question: ${escapeMrkdwn(e.message)}\nTry \`/502 hosts\`.`)));
          const detail = `diagnose ${parsed.target}: ${e.code === 'HOST_UNKNOWN' ? 'not in the inventory' : 'pattern refused'}`;
          return afterAcks.run(() => deps.audit.record({ kind: 'refused', actor: command.user_id, detail }));
        }
        await ack();
        return afterAcks.run(async () => {
          try {
            const { tickets } = await deps.service.requestTarget({
              target: parsed.target,
              channel: command.channel_id,
              requestedBy: user,
              ...(parsed.reason !== undefined ? { reason: parsed.reason } : {}),
              ...(parsed.url !== undefined ? { url: parsed.url } : {}),
            });
            await respond(ephemeral(renderNotice(queuedAnswer(tickets, command.channel_id))));
          } catch (e) {
            deps.logger.error({ err: e, target: parsed.target }, 'could not queue the diagnosis');
            const hint =
              slackProblem(e) ??
              (isMedicError(e)
                ? `\`${e.code}\` ${escapeMrkdwn(e.message)}`
                : `Could not queue the diagnosis: ${escapeMrkdwn(errorMessage(e))}`);
            await respond(ephemeral(renderNotice(`:x: ${hint}`)));
          }
        });
      }
    }
  };
}
