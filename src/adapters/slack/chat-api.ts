import type { Block } from '../../core/report/block-kit.ts';

/** The Web API methods the reports need; @slack/web-api's WebClient has them. */
export interface ChatApi {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks?: Block[];
      thread_ts?: string;
      unfurl_links?: boolean;
      unfurl_media?: boolean;
    }): Promise<{ ok?: boolean; ts?: string; channel?: string }>;
    update(args: { channel: string; ts: string; text: string; blocks?: Block[] }): Promise<{ ok?: boolean }>;
    postEphemeral(args: { channel: string; user: string; text: string; blocks?: Block[]; thread_ts?: string }): Promise<{ ok?: boolean }>;
    getPermalink(args: { channel: string; message_ts: string }): Promise<{ ok?: boolean; permalink?: string }>;
  };
}

/**
 * Who waits for a call: `urgent` a person (a report they asked for, the answer to their click),
 * `normal` the fan-out summary and other shared state, `bulk` what can trail (per-host reports
 * of a fan-out, alert notes).
 */
export type SlackPriority = 'urgent' | 'normal' | 'bulk';
