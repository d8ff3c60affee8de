import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { slackFetch } from './slack-fetch.ts';
import { isSignedBySlack } from './slack-signature.ts';
import type { SlashCommandArgs, SlashCommandHandler } from './slash-command-listener.ts';

export interface SlashCommandFastPathOptions {
  /** Bolt's listener for POST /slack/events: everything the fast path does not answer goes there. */
  bolt: RequestListener;
  signingSecret: string;
  /** The slash command answered here, e.g. `/502`. */
  command: string;
  handle: SlashCommandHandler;
  logger: Logger;
  /** Larger bodies are refused with 413 (Slack's own are a few KiB). @defaultValue 1 MiB */
  maxBodyBytes?: number;
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * POST /slack/events in HTTP mode. A burst of slash commands is acked one request after another
 * on one event loop, so every request's cost before its ack adds to the wait of the ones behind
 * it. Bolt's way to a listener (its receiver's per-request setup, then processEvent's context,
 * say/respond factories and middleware chain) costs about 0.2 ms per request here, and a slash
 * command needs none of it: a request of ours whose signature checks out (slack-signature.ts)
 * goes straight to the command's handler, with the HTTP response as its ack and
 * response_url (as Bolt's respond() does it) for later answers; one that is not signed is
 * refused with 401, as Bolt would. Everything else (interactivity, events, ssl_check, any other
 * command) is handed to Bolt with the body already read, and Bolt answers it as before.
 */
export function slashCommandFastPath(o: SlashCommandFastPathOptions): RequestListener {
  const max = o.maxBodyBytes ?? 1024 * 1024;
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > max) {
        refused = true;
        // The rest is read and dropped: closing mid-upload would reset the sender before it read the 413.
        res.writeHead(413, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ ok: false, error: 'body_too_large' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const body = Buffer.concat(chunks);
      const reading = read(req, body, o);
      if (reading.kind === 'bolt') {
        // Bolt reads a body that was already read from `rawBody` (HTTPModuleFunctions.bufferIncomingMessage).
        (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
        o.bolt(req, res);
      } else if (reading.kind === 'refused') {
        o.logger.warn({ command: o.command, status: reading.status }, `refused a slash command: ${reading.why}`);
        res.writeHead(reading.status);
        res.end();
      } else void answer(reading.fields, res, o);
    });
    req.on('error', () => res.destroy());
  };
}

type Reading = { kind: 'bolt' } | { kind: 'refused'; status: 400 | 401; why: string } | { kind: 'ours'; fields: Record<string, string> };

/** A slash command of ours (to answer here, or refuse: never handed on), or anything else (Bolt's). */
function read(req: IncomingMessage, body: Buffer, o: SlashCommandFastPathOptions): Reading {
  if (req.headers['content-type'] !== FORM) return { kind: 'bolt' };
  const text = body.toString();
  const params = new URLSearchParams(text);
  if (params.get('command') !== o.command) return { kind: 'bolt' };
  const fields: Record<string, string> = {};
  for (const [key, value] of params) {
    // One value per name, as Slack sends them.
    if (Object.hasOwn(fields, key)) return { kind: 'refused', status: 400, why: `the field ${key.slice(0, 40)} is repeated` };
    fields[key] = value;
  }
  const signature = req.headers['x-slack-signature'];
  const timestamp = req.headers['x-slack-request-timestamp'];
  const signed = isSignedBySlack(o.signingSecret, {
    body: text,
    signature: typeof signature === 'string' ? signature : undefined,
    timestamp: typeof timestamp === 'string' ? timestamp : undefined,
  });
  if (!signed) return { kind: 'refused', status: 401, why: 'no valid Slack signature (or one older than 5 minutes)' };
  if (fields['response_url'] === undefined || fields['user_id'] === undefined || fields['payload'] !== undefined)
    return { kind: 'refused', status: 400, why: 'not a slash command as Slack sends one' };
  return { kind: 'ours', fields };
}

async function answer(fields: Record<string, string>, res: ServerResponse, o: SlashCommandFastPathOptions): Promise<void> {
  let acked = false;
  const ack: SlashCommandArgs['ack'] = async (reply) => {
    if (acked) return;
    acked = true;
    if (reply === undefined) {
      res.writeHead(200);
      res.end();
      return;
    }
    const payload = JSON.stringify(reply);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };
  const responseUrl = fields['response_url'] as string;
  const respond: SlashCommandArgs['respond'] = async (reply) => {
    const r = await slackFetch(responseUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(reply),
    });
    if (!r.ok) throw new Error(`Slack's response_url answered ${r.status}`);
    return r;
  };
  const command = { text: fields['text'] ?? '', user_id: fields['user_id'] as string, channel_id: fields['channel_id'] ?? '' };
  try {
    await o.handle({ command, ack, respond });
    if (!acked) throw new Error('the command was not acked');
  } catch (e) {
    o.logger.error({ err: e, command: o.command }, 'Slack listener failed');
    if (!acked) {
      acked = true;
      res.writeHead(500);
      res.end();
    }
  }
}
