import { shellQuote } from './shell-quote.ts';

/**
 * Several read-only commands in one remote shell: one SSH session, one process tree on a host
 * that may be struggling, instead of one session per command. Each command is an argv that was
 * allowlisted on its own and is quoted by `shellQuote`, exactly as it would be alone; the only
 * other text is fixed: `printf` lines around each command that mark where its stdout and
 * stderr begin and end, and its exit status.
 *
 * Markers carry a random nonce the host cannot guess in advance and need a newline on both
 * sides: the batch's own command line (which `ps` shows) holds them only between quotes, on
 * one line, with `%s` where the status goes.
 */
export interface BatchPart {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const NONCE = /^[0-9a-f]{16,64}$/;

function checkNonce(nonce: string): void {
  if (!NONCE.test(nonce)) throw new TypeError('batch nonce must be 16 to 64 lowercase hex digits');
}

/** The one command line that runs `argvs` one after another, each framed by markers. */
export function batchCommand(argvs: readonly (readonly string[])[], nonce: string): string {
  checkNonce(nonce);
  if (argvs.length === 0) throw new TypeError('batchCommand: no commands');
  return argvs
    .map((argv, i) => {
      const mark = `${nonce}:${i}`;
      return [
        `printf '%s\\n' ${mark}`,
        `printf '%s\\n' ${mark} >&2`,
        shellQuote(argv),
        // $? is still the command's status here: printf's own status comes after it is read.
        `printf '\\n%s:%s\\n' ${mark} "$?"`,
        `printf '\\n%s:\\n' ${mark} >&2`,
      ].join('; ');
    })
    .join('; ');
}

/**
 * Splits a batch's output into its commands' parts, in order. A command whose end marker never
 * came (the batch was stopped: timeout, output cap, lost connection) ends the list: it and the
 * ones after it did not finish and must be run again on their own.
 */
export function splitBatchOutput(stdout: string, stderr: string, nonce: string, count: number): BatchPart[] {
  checkNonce(nonce);
  const parts: BatchPart[] = [];
  let out = 0;
  let err = 0;
  for (let i = 0; i < count; i++) {
    const begin = `${nonce}:${i}\n`;
    // Before the first marker there may be what the login shell's rc files print; after it, nothing.
    const outBegin = i === 0 ? stdout.indexOf(begin) : stdout.startsWith(begin, out) ? out : -1;
    const errBegin = i === 0 ? stderr.indexOf(begin) : stderr.startsWith(begin, err) ? err : -1;
    if (outBegin === -1 || errBegin === -1) break;
    const outStart = outBegin + begin.length;
    const errStart = errBegin + begin.length;
    const outEnd = findEnd(stdout, `\n${nonce}:${i}:`, outStart);
    const errEndMark = `\n${nonce}:${i}:\n`;
    const errEnd = stderr.indexOf(errEndMark, errStart);
    if (outEnd === undefined || errEnd === -1) break;
    parts.push({ exitCode: outEnd.status, stdout: stdout.slice(outStart, outEnd.index), stderr: stderr.slice(errStart, errEnd) });
    out = outEnd.next;
    err = errEnd + errEndMark.length;
  }
  return parts;
}

/** Where `\n<nonce>:<i>:<status>\n` is, at or after `from`. */
function findEnd(text: string, mark: string, from: number): { index: number; next: number; status: number } | undefined {
  for (let at = text.indexOf(mark, from); at !== -1; at = text.indexOf(mark, at + 1)) {
    const m = /^(\d{1,3})\n/.exec(text.slice(at + mark.length, at + mark.length + 4));
    if (m !== null) return { index: at, next: at + mark.length + m[0].length, status: Number(m[1]) };
  }
  return undefined;
}
