import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths pino replaces with "[redacted]". Redaction is configuration, not string hacks: any
 * object logged under one of these names loses its value, however deep the caller nested it
 * (up to three levels, which covers `{ config: { slack: { token } } }`).
 */
const SECRET_NAMES = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'secret',
  'password',
  'privateKey',
  'passphrase',
  'authorization',
  'cookie',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'MEDIC_ALERT_TOKEN',
  'MEDIC_ALERT_HMAC_SECRET',
  'hmacSecret',
  'REDIS_URL',
  'x-slack-signature',
  'x-medic-signature',
  'x-grafana-alerting-signature',
];

/** `a.b` for plain names, `a["b-c"]` for names that are not identifiers (HTTP headers). */
const step = (name: string): string => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`);

export const REDACT_PATHS: string[] = SECRET_NAMES.flatMap((name) => {
  const s = step(name);
  return [s.startsWith('.') ? name : s, `*${s}`, `*.*${s}`, `*.*.*${s}`];
});

export interface CreateLoggerOptions {
  /** @defaultValue 'info' */
  level?: LoggerOptions['level'];
  /** `pretty` for people at a terminal (pino-pretty), `json` for log pipelines. @defaultValue 'json' */
  format?: 'json' | 'pretty';
  /** Where lines go; tests pass a stream to assert on the real JSON lines. @defaultValue stdout */
  destination?: DestinationStream;
  /** Fields on every line, e.g. `{ role: 'worker' }`. */
  base?: Record<string, unknown>;
}

/** The one root logger of a process. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.format === 'pretty' && options.destination === undefined) {
    return pino({ ...config, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}
