import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import type { RunOptions, RunOutput } from '../../jobs/ports.ts';
import { CappedOutput } from './capped-output.ts';
import { signalRemote } from './signal-remote.ts';

/** What the remote shell's channel runs: a plain POSIX shell reading commands from stdin. */
export const SHELL_COMMAND = 'exec /bin/sh';

/**
 * How a run on a shell ended: with the command's output, or with the shell gone before the
 * command finished (killed on the host, or a login that does not run a shell); `started` says
 * whether the command had begun, i.e. whether this shell ever ran anything.
 */
export type ShellRun = { kind: 'done'; output: RunOutput } | { kind: 'gone'; started: boolean };

/**
 * One long-lived `/bin/sh` on the host, over one SSH session channel, that runs read-only
 * commands one after another: a diagnosis sends about a dozen command lines in a few rounds,
 * and a session each costs a round trip, an sshd fork and a login shell on the host (about 4 ms
 * of its CPU) and about 1 ms of ssh2's CPU here. Each command line is exactly what it would be
 * on a channel of its own (built by shellQuote or batchCommand from allowlisted argument
 * arrays, none of which is a shell builtin that could change the shell), run as a group with
 * stdin from /dev/null, so that it cannot read the commands that follow it; fixed `printf`
 * lines around it mark where its output begins and ends, and its exit status. Not a subshell:
 * that would cost the host a fork per command. Should a command end the shell anyway, the
 * runner sees it go and runs the command on a channel of its own.
 *
 * The markers carry a random nonce per command that never appears in any process's arguments
 * (the command line reaches the shell on its stdin, and `printf` is a builtin), so what a
 * command prints cannot end it early or forge its status. A command that times out or prints
 * past its cap is killed with its shell; the runner opens another one for the next command.
 */
export class RemoteShell {
  private busy = false;
  private ending = false;
  private gone = false;
  private ranOne = false;
  private onGone: (() => void) | undefined;

  private constructor(
    private readonly channel: ClientChannel,
    private readonly releaseSlot: () => void,
    private readonly slotGraceMs: number,
  ) {
    channel.once('close', () => {
      this.gone = true;
      this.releaseSlot();
      this.onGone?.();
    });
    // Nothing is read between commands; a stray write of a process a command left behind is
    // dropped with the next command's leading bytes (see Frame).
    channel.on('error', () => {});
  }

  /** Wraps a freshly opened channel that runs SHELL_COMMAND; `releaseSlot` frees its channel slot once it closes. */
  static wrap(channel: ClientChannel, releaseSlot: () => void, slotGraceMs: number): RemoteShell {
    return new RemoteShell(channel, releaseSlot, slotGraceMs);
  }

  /** Alive and not running a command. */
  get idle(): boolean {
    return !this.gone && !this.busy && !this.ending;
  }

  get alive(): boolean {
    return !this.gone;
  }

  /** Marks the shell taken; callers check `idle` first. */
  take(): void {
    this.busy = true;
  }

  release(): void {
    this.busy = false;
  }

  /** Ends the shell: EOF on its stdin makes it exit once the command it runs (if any) is done. */
  end(): void {
    if (this.gone || this.ending) return;
    this.ending = true;
    this.channel.end();
  }

  /** Kills the shell and what it runs, now; its slot is freed when the host confirms, or after a grace period. */
  kill(): void {
    if (this.gone) return;
    signalRemote(this.channel, 'KILL');
    this.channel.close();
    setTimeout(() => this.releaseSlot(), this.slotGraceMs).unref();
  }

  /** Runs one command line; the shell must be taken. */
  run(command: string, options: RunOptions & { maxBytes: number }): Promise<ShellRun> {
    if (this.gone) return Promise.resolve({ kind: 'gone', started: this.ranOne });
    const nonce = randomBytes(12).toString('hex');
    // Only a new shell can print something of its own first (the login's rc files): the first
    // command marks where its output begins, later ones begin right after the one before ended.
    const marked = !this.ranOne;
    const stdout = new Frame(nonce, options.maxBytes, true, marked);
    const stderr = new Frame(nonce, options.maxBytes, false, marked);
    const started = performance.now();
    return new Promise<ShellRun>((resolve) => {
      let settled = false;
      const settle = (run: ShellRun): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.channel.removeListener('data', onOut);
        this.channel.stderr.removeListener('data', onErr);
        this.onGone = undefined;
        resolve(run);
      };
      const output = (timedOut: boolean): RunOutput => ({
        exitCode: stdout.status ?? null,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.overflowed || stderr.overflowed,
        timedOut,
        durationMs: Math.round(performance.now() - started),
      });
      const stop = (timedOut: boolean): void => {
        this.kill();
        settle({ kind: 'done', output: output(timedOut) });
      };
      const check = (): void => {
        if (stdout.overflowed || stderr.overflowed) stop(false);
        else if (stdout.ended && stderr.ended) {
          this.ranOne = true;
          settle({ kind: 'done', output: output(false) });
        }
      };
      const onOut = (chunk: Buffer): void => {
        stdout.push(chunk);
        check();
      };
      const onErr = (chunk: Buffer): void => {
        stderr.push(chunk);
        check();
      };
      const timer = setTimeout(() => {
        // A shell that never began the command (a login that ignores its input) has not run it.
        if (!stdout.begun && !this.ranOne) {
          this.kill();
          settle({ kind: 'gone', started: false });
        } else stop(true);
      }, options.timeoutMs);
      this.onGone = () => settle({ kind: 'gone', started: this.ranOne || stdout.begun });
      this.channel.on('data', onOut);
      this.channel.stderr.on('data', onErr);
      this.channel.write(frameCommand(command, nonce, marked));
    });
  }
}

/**
 * The text the shell reads for one command: a begin marker on both streams (`marked`: the
 * shell's first command; see RemoteShell.run), the command as a
 * group with no input, then an end marker on stdout carrying its exit status and one on stderr.
 * The command line stands on its own line(s) inside the braces, so a trailing comment or a line
 * break in a quoted argument cannot reach the markers.
 */
function frameCommand(command: string, nonce: string, marked = true): string {
  return [
    marked ? `printf '%s\\n' ${nonce}; printf '%s\\n' ${nonce} >&2; {` : '{',
    command,
    `} </dev/null; printf '\\n%s:%s\\n' ${nonce} "$?"; printf '\\n%s:\\n' ${nonce} >&2`,
    '',
  ].join('\n');
}

/**
 * One output stream of one framed command: drops what comes before the begin marker, keeps the
 * command's bytes up to the cap, and finds the end marker (and on stdout the exit status)
 * across chunk boundaries. A tail that could be the start of the end marker is held back until
 * the next chunk says whether it is.
 */
class Frame {
  private readonly begin: Buffer;
  private readonly end: Buffer;
  private readonly out: CappedOutput;
  /** Bytes not yet known to be the command's (a possible marker's start). */
  private held: Buffer = Buffer.alloc(0);
  begun = false;
  ended = false;
  status: number | undefined;

  constructor(
    nonce: string,
    maxBytes: number,
    private readonly withStatus: boolean,
    marked: boolean,
  ) {
    this.begun = !marked;
    this.begin = Buffer.from(`${nonce}\n`);
    this.end = Buffer.from(`\n${nonce}:`);
    this.out = new CappedOutput(maxBytes);
  }

  get overflowed(): boolean {
    return this.out.overflowed;
  }

  /** The command's output; when it never ended (stopped), with the bytes held back too. */
  text(): string {
    if (!this.ended && this.begun && this.held.length > 0) {
      this.out.push(this.held);
      this.held = Buffer.alloc(0);
    }
    return this.out.text();
  }

  push(chunk: Buffer): void {
    if (this.ended) return;
    let data = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    this.held = Buffer.alloc(0);
    if (!this.begun) {
      const at = data.indexOf(this.begin);
      if (at === -1) {
        // Keep only what could be the start of the marker.
        this.held = data.subarray(Math.max(0, data.length - this.begin.length + 1));
        return;
      }
      this.begun = true;
      data = data.subarray(at + this.begin.length);
    }
    for (let from = 0; ;) {
      const at = data.indexOf(this.end, from);
      if (at === -1) break;
      const rest = data.subarray(at + this.end.length, at + this.end.length + 5).toString('latin1');
      const m = (this.withStatus ? /^(\d{1,3})\n/ : /^\n/).exec(rest);
      if (m !== null) {
        this.out.push(data.subarray(0, at));
        if (this.withStatus) this.status = Number(m[1]);
        this.ended = true;
        return;
      }
      // Not yet decidable: the marker's tail has not arrived.
      if (rest.length < (this.withStatus ? 5 : 1) && /^\d{0,3}$/.test(rest)) {
        this.out.push(data.subarray(0, at));
        this.held = data.subarray(at);
        return;
      }
      from = at + 1;
    }
    const keep = Math.min(data.length, this.end.length - 1);
    this.out.push(data.subarray(0, data.length - keep));
    this.held = data.subarray(data.length - keep);
  }
}
