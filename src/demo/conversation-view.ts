import type { StoredMessage } from '../dev/slack-stand-in.ts';

/** Who a response_url belongs to: the person whose command or click it answers, and where. */
export interface ResponseUrlOwner {
  userId: string;
  channel: string;
  /** The thread of the clicked message, so that the answer shows next to it. */
  threadTs?: string;
}

/** One message as the page shows it, with the very blocks the bot sent. */
export interface ViewMessage {
  ts: string;
  /** The bot, or the user a message is attributed to. */
  from: string;
  text: string;
  blocks: unknown[];
  /** chat.update changed it at least once. */
  edited: boolean;
  /** Only the viewer sees it (ephemeral, or a response_url answer). */
  ephemeral: boolean;
  threadTs?: string;
}

export interface ViewThread {
  root: ViewMessage;
  replies: ViewMessage[];
}

export interface ConversationView {
  /** Root messages in order, each with its thread (empty when none). */
  threads: ViewThread[];
}

/**
 * What one person sees of one channel, from the messages the stand-in stored: public messages,
 * their own ephemerals and response_url answers, threads grouped under their roots. Pure, so
 * that the page shows exactly what the bot sent and nothing the server made up.
 */
export function conversationView(
  messages: readonly StoredMessage[],
  o: { channel: string; viewer: string; botUserId: string; owners: ReadonlyMap<string, ResponseUrlOwner> },
): ConversationView {
  const roots: ViewThread[] = [];
  const byTs = new Map<string, ViewThread>();
  const orphans: ViewMessage[] = [];
  for (const m of messages) {
    let channel = m.channel;
    let threadTs = m.threadTs;
    const ephemeral = m.visibleTo !== undefined;
    if (m.viaResponseUrl === true) {
      const owner = m.responseUrlId !== undefined ? o.owners.get(m.responseUrlId) : undefined;
      // Not known yet (the answer can arrive before the send returns): shown on the next update.
      if (owner === undefined) continue;
      if (ephemeral && owner.userId !== o.viewer) continue;
      channel = owner.channel;
      threadTs = owner.threadTs;
    } else if (ephemeral && m.visibleTo !== o.viewer) continue;
    if (channel !== o.channel) continue;
    const view: ViewMessage = {
      ts: m.ts,
      from: o.botUserId,
      text: m.text,
      blocks: m.blocks,
      edited: m.updates > 0,
      ephemeral,
      ...(threadTs !== undefined ? { threadTs } : {}),
    };
    if (threadTs === undefined) {
      const thread = { root: view, replies: [] };
      roots.push(thread);
      byTs.set(m.ts, thread);
      continue;
    }
    const parent = byTs.get(threadTs);
    if (parent !== undefined) parent.replies.push(view);
    else orphans.push(view);
  }
  // Replies whose root came later in the store than they did (never in practice) stay visible.
  for (const r of orphans) roots.push({ root: r, replies: [] });
  return { threads: roots };
}
