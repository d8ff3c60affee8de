import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';
import { slackFetch } from './slack-fetch.ts';

export interface SlackWebClientOptions {
  token: string;
  /** SLACK_API_URL: Slack, GovSlack, a proxy, or the local stand-in. */
  apiUrl: string;
  logger: Logger;
  /** Retries of a failed call (network errors, 5xx; rate limits are the budget's). @defaultValue 3 */
  retries?: number;
}

/** Slack's client logs through our pino logger, so its lines are redacted and structured too. */
export function slackLoggerFrom(logger: Logger): SlackLogger {
  const log = logger.child({ component: 'slack' });
  let level = LogLevel.INFO;
  // Bolt logs at debug on every request: build the line only when someone will read it.
  const at =
    (lvl: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]): void => {
      if (log.isLevelEnabled(lvl)) log[lvl](msg.map(String).join(' '));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel: (l: LogLevel) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** The Web API client of a worker (the bot uses Bolt's, built with the same options). */
export function createSlackWebClient(options: SlackWebClientOptions): WebClient {
  return new WebClient(options.token, {
    slackApiUrl: options.apiUrl,
    logger: slackLoggerFrom(options.logger),
    retryConfig: { retries: options.retries ?? 3, factor: 2, minTimeout: 200, maxTimeout: 5000 },
    // 429s go to the budget (slack-budget.ts), which waits Retry-After without counting a failure.
    rejectRateLimitedCalls: true,
    // Never follow an absolute URL given as a method name: only SLACK_API_URL is called.
    allowAbsoluteUrls: false,
    // On node:http keep-alive, not undici: a third of the CPU per call (slack-fetch.ts).
    fetch: slackFetch,
  });
}
