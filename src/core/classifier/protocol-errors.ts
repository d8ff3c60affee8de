import { clean, commands, endpointsOf, listenCheck } from './advice.ts';
import type { ClassifierContext } from './context.ts';
import type { NginxErrorEntry } from './parse/nginx-error-log.ts';

/** What a known malformed-answer line means, and where to look: no cause id covers these, but the line says a lot. */
export interface ProtocolHint {
  explanation: string;
  nextSteps: string[];
}

const where = (e: NginxErrorEntry): string => endpointsOf([e])[0] ?? 'the upstream';
/** The `ss` command that shows what listens where the line says nginx connected. */
const listenCommand = (e: NginxErrorEntry): string => listenCheck(e.endpoint, clean(where(e), 200));

/**
 * nginx read the backend's answer and could not make sense of it. Each message below is one
 * nginx writes while reading a response header (ngx_http_proxy_module, ngx_http_fastcgi_module),
 * as real reports quote them (test/fixtures/field/nginx-error.lines).
 */
const HINTS: { pattern: RegExp; hint: (e: NginxErrorEntry, ctx: ClassifierContext) => ProtocolHint }[] = [
  {
    pattern: /^upstream sent no valid HTTP\/1\.0 header/,
    hint: (e) => ({
      explanation:
        `The answer from ${where(e)} does not begin with an HTTP status line, so nginx cannot read it as HTTP and answers 502. ` +
        'What listens there does not speak HTTP/1.x to nginx (a FastCGI or uWSGI server behind proxy_pass, an HTTP/2-only or gRPC server, a TLS port behind http://), or the application writes bytes before its status line.',
      nextSteps: [
        `See what listens there: ${listenCommand(e)}`,
        'Match the directive to what the backend speaks: fastcgi_pass for php-fpm, uwsgi_pass for a uWSGI socket, grpc_pass for gRPC, proxy_pass https:// for a TLS port',
        "Read the backend's own log at the times of these lines",
      ],
    }),
  },
  {
    pattern: /^upstream sent invalid header/,
    hint: () => ({
      explanation:
        'The backend sent a response header that nginx refuses, and nginx answers 502 instead of passing it on. ' +
        "Usual culprits: a status line without its slash (PHP's header('HTTP 1.1 500 …') instead of 'HTTP/1.1 500 …'), a header name with a space or a control character in it, or a header line broken in two. The bytes nginx quotes are where the bad header starts.",
      nextSteps: [
        'Find the code that sends that header (the quoted start of it is in the evidence) and fix it; in PHP, http_response_code(500) sets a status without writing the line by hand',
        "Read the backend's own log at the times of these lines",
      ],
    }),
  },
  {
    pattern: /^upstream sent unexpected FastCGI record/,
    hint: (e, ctx) => {
      const type = /record: (\d+)/.exec(e.message)?.[1];
      return {
        explanation:
          'The FastCGI answer broke the protocol: nginx got a record it does not expect before the response headers' +
          (type === '3'
            ? ' (type 3 ends the request: the script ended without sending any header)'
            : type === undefined
              ? ''
              : ` (type ${type})`) +
          '. It has been seen after PHP fatal errors with some extensions, and when fastcgi_pass points at something that is not php-fpm.',
        nextSteps: [
          `Read php-fpm's log and PHP's error log at these times for fatal errors: ${commands.fpmLogs(ctx)}`,
          'If an extension was added or updated lately, disable it and try again',
          `Check that fastcgi_pass reaches php-fpm: ${listenCommand(e)}`,
        ],
      };
    },
  },
];

/** The hint for the newest line that has one, if any. */
export function protocolHint(ctx: ClassifierContext, newestFirst: readonly NginxErrorEntry[]): ProtocolHint | undefined {
  for (const e of newestFirst) {
    const known = HINTS.find((h) => h.pattern.test(e.message));
    if (known !== undefined) return known.hint(e, ctx);
  }
  return undefined;
}
