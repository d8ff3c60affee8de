import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { slackFetch } from './slack-fetch.ts';
import { slackLoggerFrom } from './slack-web-client.ts';

export type BoltApp = App;

export type BoltAppOptions =
  | {
      mode: 'http';
      botToken: string;
      signingSecret: string;
      apiUrl: string;
      logger: Logger;
    }
  | {
      mode: 'socket';
      botToken: string;
      appToken: string;
      apiUrl: string;
      logger: Logger;
    };

export interface BoltHandle {
  app: BoltApp;
  mode: 'http' | 'socket';
  /** HTTP mode: Bolt's listener for POST /slack/events, mounted on our own server. */
  requestListener?: RequestListener;
  /** Checks the token (auth.test) and, in Socket Mode, opens the WebSocket. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Bolt app in either transport. Receivers only move bytes (HTTP with the signing secret,
 * or Socket Mode with the app token); the listeners registered on `app` are the same for both.
 * Bolt's Web API client goes to SLACK_API_URL. No conversation store: the bot keeps its state
 * in Redis, and the store's per-request middleware would only slow the ack.
 */
export function createBoltApp(o: BoltAppOptions): BoltHandle {
  const slackLogger = slackLoggerFrom(o.logger);
  // A 429 is handed to the budget (slack-budget.ts), which shuts that method or channel for
  // Retry-After and sends again: the client's own wait-and-retry would count it as a failed try.
  const clientOptions = {
    slackApiUrl: o.apiUrl,
    retryConfig: { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 5000 },
    rejectRateLimitedCalls: true,
    // Web API calls and respond() (response_url) on node:http keep-alive, not undici: see slack-fetch.ts.
    fetch: slackFetch,
  };
  if (o.mode === 'http') {
    const receiver = new HTTPReceiver({
      signingSecret: o.signingSecret,
      endpoints: '/slack/events',
      logger: slackLogger,
      // Ack first, work after: listeners call ack() before queueing anything.
      processBeforeResponse: false,
    });
    const app = new App({ receiver, token: o.botToken, logger: slackLogger, clientOptions, deferInitialization: true, convoStore: false });
    return {
      app,
      mode: 'http',
      requestListener: receiver.requestListener,
      start: async () => {
        await app.init();
      },
      stop: async () => undefined,
    };
  }
  const receiver = new SocketModeReceiver({ appToken: o.appToken, logger: slackLogger, installerOptions: { clientOptions } });
  const app = new App({ receiver, token: o.botToken, logger: slackLogger, clientOptions, deferInitialization: true, convoStore: false });
  return {
    app,
    mode: 'socket',
    start: async () => {
      await app.init();
      await app.start();
    },
    stop: async () => {
      await app.stop();
    },
  };
}
