/** The two Web API methods notices need; @slack/web-api's WebClient has them. */
export interface ChatClient {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      thread_ts?: string;
      unfurl_links?: boolean;
      unfurl_media?: boolean;
    }): Promise<{ ok?: boolean; channel?: string; ts?: string }>;
    update(args: { channel: string; ts: string; text: string }): Promise<{ ok?: boolean }>;
  };
}

/**
 * Alert messages the bot writes itself, not diagnosis reports: notices for hosts the
 * inventory does not have, and replies in their threads. The text is already escaped
 * mrkdwn (core/alerts/alert-messages); links are not unfurled, labels may hold URLs.
 */
export class SlackAlertNotices {
  constructor(private readonly client: ChatClient) {}

  async post(channel: string, text: string, threadTs?: string): Promise<{ channel: string; ts: string }> {
    const res = await this.client.chat.postMessage({
      channel,
      text,
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (res.ts === undefined) throw new Error(`chat.postMessage to ${channel} returned no ts`);
    // Slack answers with the channel id even when given a #name; chat.update needs the id.
    return { channel: res.channel ?? channel, ts: res.ts };
  }

  async update(channel: string, ts: string, text: string): Promise<void> {
    await this.client.chat.update({ channel, ts, text });
  }
}
