import type { NodeSSH } from 'node-ssh';
import type { Logger } from 'pino';
import type { Client, ClientChannel } from 'ssh2';
import { errorMessage, MedicError } from '../../errors.ts';
import type { CommandRunner, RunOptions, RunOutput } from '../../jobs/ports.ts';
import { CappedOutput } from './capped-output.ts';
import { ChannelSlots } from './channel-slots.ts';
import { RemoteShell, SHELL_COMMAND } from './remote-shell.ts';
import { signalRemote } from './signal-remote.ts';

export interface SshCommandRunnerOptions {
  /** `user@host:port`, for messages. */
  where: string;
  maxChannels: number;
  defaultMaxBytes: number;
  /** How long a read-only command waits for a busy shell before another opens for it. @defaultValue 100 */
  shellPatienceMs?: number;
  /** When the connection became ready (after authentication). */
  connectedAt: Date;
  /** From the start of connect() to ready: TCP, key exchange and authentication. */
  connectMs: number;
  logger?: Logger;
}

/** How long to wait for the connection to confirm it closed. */
const CLOSE_GRACE_MS = 2000;
/**
 * How long a stopped command keeps its slot while the server has not confirmed the close. sshd
 * holds a session until its process exits, and it cannot signal processes of root logins or ones
 * run through sudo; past this, a new channel may be refused and is then retried.
 */
const SLOT_GRACE_MS = 5000;
const OPEN_RETRIES = 3;
/**
 * Remote shells kept open for read-only commands, at most (and never more than maxChannels);
 * each costs the host a session (about 4 ms of its CPU). The first EAGER_SHELLS open as soon as
 * commands want them: a diagnosis sends its rounds as two batches side by side, and the second
 * would otherwise wait for the first (about 20 ms of a round on the lab). One more opens only
 * for a command that waited a moment (shellPatienceMs) for a busy one (a probe that hangs, a
 * slow reader).
 */
const MAX_SHELLS = 3;
const EAGER_SHELLS = 2;
const DEFAULT_SHELL_PATIENCE_MS = 100;

/**
 * Runs commands over one authenticated SSH connection, at most `maxChannels` session channels
 * at a time (OpenSSH refuses sessions beyond its MaxSessions, 10 by default); the rest wait
 * their turn. A read-only command (`readOnly`) runs in one of a few remote shells kept open for
 * the connection (see RemoteShell), any other command on an exec channel of its own. When the
 * host's login runs no shell for us (a forced command, say), every command gets its own channel.
 */
export class SshCommandRunner implements CommandRunner {
  readonly connectedAt: Date;
  readonly connectMs: number;
  private readonly client: Client;
  private readonly slots: ChannelSlots;
  private lost: MedicError | undefined;
  private closing = false;
  /** Fails every command still running when the connection goes. */
  private readonly running = new Set<(e: MedicError) => void>();
  private readonly shells: RemoteShell[] = [];
  private shellsOpening = 0;
  /** Set once a shell ended before running anything: this login does not give us one. */
  private noShells = false;
  private readonly shellWaiters: ((shell: RemoteShell | undefined) => void)[] = [];
  /** Lowered to the shells the host gave when it refuses another session. */
  private maxShells: number;

  constructor(
    private readonly ssh: NodeSSH,
    private readonly o: SshCommandRunnerOptions,
  ) {
    if (!ssh.connection) throw new Error('SshCommandRunner needs a connected NodeSSH');
    this.client = ssh.connection;
    this.connectedAt = o.connectedAt;
    this.connectMs = o.connectMs;
    this.slots = new ChannelSlots(o.maxChannels);
    this.maxShells = Math.min(MAX_SHELLS, o.maxChannels);
    let reason = '';
    // After 'ready' node-ssh no longer listens for errors; without ours an error would crash the process.
    this.client.on('error', (e: Error) => {
      reason = e.message;
    });
    this.client.on('close', () => this.onConnectionGone(reason));
  }

  async run(command: string, options: RunOptions): Promise<RunOutput> {
    this.throwIfGone();
    if (options.readOnly === true) {
      const shell = await this.takeShell();
      if (shell !== undefined) {
        const out = await this.runInShell(shell, command, options);
        if (out !== undefined) return out;
      }
    }
    return this.runOnChannel(command, options);
  }

  /** Runs `command` in `shell`; undefined when the shell went before the command finished (run it on a channel). */
  private async runInShell(shell: RemoteShell, command: string, options: RunOptions): Promise<RunOutput | undefined> {
    let fail: (e: MedicError) => void = () => {};
    const lost = new Promise<never>((_, reject) => {
      fail = reject;
      this.running.add(fail);
    });
    try {
      const run = await Promise.race([shell.run(command, { ...options, maxBytes: options.maxBytes ?? this.o.defaultMaxBytes }), lost]);
      if (run.kind === 'done') return run.output;
      this.throwIfGone();
      if (!run.started && !this.noShells) {
        this.noShells = true;
        this.o.logger?.debug(`no remote shell on ${this.o.where}: every command gets a channel of its own`);
      }
      return undefined;
    } finally {
      this.running.delete(fail);
      this.giveBack(shell);
    }
  }

  /**
   * An idle shell; else a new one while fewer than EAGER_SHELLS are open; else the next one to
   * come free, or a new one (within maxShells) once the wait passes the patience
   * (shellPatienceMs); undefined when shells cannot be had. Most commands take a few
   * milliseconds, so a host in good health is read through one or two shells; a probe that
   * hangs on a sick one does not hold the others up for more than the patience. A host that
   * refuses another session (its MaxSessions) gets no more asks: commands wait for the shells it
   * gave.
   */
  private async takeShell(): Promise<RemoteShell | undefined> {
    if (this.noShells || this.closing) return undefined;
    const idle = this.takeIdleShell();
    if (idle !== undefined) return idle;
    this.forgetDeadShells();
    if (this.shells.length + this.shellsOpening < Math.min(EAGER_SHELLS, this.maxShells)) return this.openShellOrWait();
    return this.waitForShell();
  }

  /** The next shell to come free, or past the patience a new one if there is room (see takeShell). */
  private waitForShell(): Promise<RemoteShell | undefined> {
    const room = (): boolean => this.shells.length + this.shellsOpening < this.maxShells && !this.noShells && !this.closing;
    return new Promise((resolve) => {
      // A shell may have come free while this command asked the host for another.
      const idle = this.takeIdleShell();
      if (idle !== undefined) return resolve(idle);
      const waiter = (shell: RemoteShell | undefined): void => {
        clearTimeout(timer);
        resolve(shell);
      };
      this.shellWaiters.push(waiter);
      const timer = setTimeout(() => {
        const at = this.shellWaiters.indexOf(waiter);
        if (at === -1 || !room()) return;
        this.shellWaiters.splice(at, 1);
        this.openShellOrWait().then(resolve, () => resolve(undefined));
      }, this.o.shellPatienceMs ?? DEFAULT_SHELL_PATIENCE_MS);
    });
  }

  /** An idle shell, taken; undefined when none is idle. */
  private takeIdleShell(): RemoteShell | undefined {
    const idle = this.shells.find((s) => s.idle);
    idle?.take();
    return idle;
  }

  /** A new shell; when the host refuses it, the next of the shells it gave (or is giving) to come free. */
  private async openShellOrWait(): Promise<RemoteShell | undefined> {
    const opened = await this.openShell();
    return opened !== undefined || !this.shellsToCome() ? opened : this.waitForShell();
  }

  /**
   * A new shell, taken; undefined when the host refuses the session. The host then gets no more
   * asks than the shells it gave (and is giving), and the command waits for one of those; with
   * none, it (and any command waiting) takes a channel of its own, with its retries.
   */
  private async openShell(): Promise<RemoteShell | undefined> {
    this.shellsOpening++;
    let shell: RemoteShell | undefined;
    try {
      const release = await this.slots.acquire();
      shell = await this.openExec(SHELL_COMMAND, (channel) => RemoteShell.wrap(channel, release, SLOT_GRACE_MS)).then(
        ({ result }) => result,
        () => {
          release();
          // Refused (MaxSessions, say); this ask is still counted among the opening ones.
          this.maxShells = Math.max(1, this.shells.filter((sh) => sh.alive).length + this.shellsOpening - 1);
          return undefined;
        },
      );
      if (shell !== undefined) {
        shell.take();
        this.shells.push(shell);
      }
    } finally {
      this.shellsOpening--;
    }
    if (shell === undefined && !this.shellsToCome()) for (const waiter of this.shellWaiters.splice(0)) waiter(undefined);
    return shell;
  }

  /** Is a shell open, or being opened, that a command could wait for? */
  private shellsToCome(): boolean {
    return this.shellsOpening > 0 || this.shells.some((s) => s.alive);
  }

  /** A shell's command is done: hand the shell to a waiting command, or let the waiter open a new one if it died. */
  private giveBack(shell: RemoteShell): void {
    shell.release();
    const next = this.shellWaiters.shift();
    if (next === undefined) return;
    if (shell.idle && !this.noShells) {
      shell.take();
      next(shell);
    } else {
      void this.takeShell().then(next, () => next(undefined));
    }
  }

  private forgetDeadShells(): void {
    for (let i = this.shells.length - 1; i >= 0; i--) if (!(this.shells[i] as RemoteShell).alive) this.shells.splice(i, 1);
  }

  /** Runs `command` on an exec channel of its own. */
  private async runOnChannel(command: string, options: RunOptions): Promise<RunOutput> {
    this.throwIfGone();
    // Idle shells hold channel slots: give one back rather than wait for it.
    if (this.slots.available === 0) this.shells.find((s) => s.idle)?.end();
    const release = await this.slots.acquire();
    let handedOver = false;
    try {
      for (let attempt = 0; ; attempt++) {
        this.throwIfGone();
        const opened = await this.openExec(command, (channel) => {
          handedOver = true;
          return this.collect(channel, options, release);
        }).catch(async (e: unknown) => {
          if (this.lost || this.closing || attempt >= OPEN_RETRIES) throw this.channelError(e);
          // The host's sessions may all be taken (its MaxSessions): an idle shell gives its own
          // back, and no more shells than those left are asked for. A server still tearing down
          // closed channels may also refuse a new one for a moment.
          const idle = this.shells.find((sh) => sh.idle);
          if (idle !== undefined) {
            idle.end();
            this.maxShells = Math.max(1, this.shells.filter((sh) => sh.alive && sh !== idle).length);
          }
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          return undefined;
        });
        if (opened) return await opened.result;
      }
    } finally {
      if (!handedOver) release();
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.lost) {
      // Already gone: there is no 'close' event left to wait for.
      this.ssh.dispose();
      return;
    }
    const closed = new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      setTimeout(resolve, CLOSE_GRACE_MS).unref();
    });
    for (const waiter of this.shellWaiters.splice(0)) waiter(undefined);
    for (const shell of this.shells) shell.end();
    this.ssh.dispose();
    await closed;
  }

  private throwIfGone(): void {
    if (this.lost) throw this.lost;
    if (this.closing) throw new MedicError('SSH_LOST', `The SSH connection to ${this.o.where} was already closed by medic.`);
  }

  private onConnectionGone(reason: string): void {
    // Keepalives unanswered: the connection is still open, the host (or its sshd) stopped answering.
    const hung = /keepalive timeout/i.test(reason) && !this.closing;
    this.lost ??= hung
      ? new MedicError(
          'SSH_NOT_ANSWERING',
          `${this.o.where} stopped answering mid-diagnosis (its SSH keepalives went unanswered): the host or its sshd is hung or overloaded. Check it from its console or provider, then diagnose again.`,
        )
      : new MedicError(
          'SSH_LOST',
          this.closing
            ? `The SSH connection to ${this.o.where} was closed by medic while a command was running.`
            : `The SSH connection to ${this.o.where} dropped${reason ? ` (${reason})` : ''}. Retry; if it recurs, check the host and the network path.`,
        );
    if (!this.closing) this.o.logger?.warn(`ssh connection lost: ${this.o.where}${reason ? `: ${reason}` : ''}`);
    for (const fail of this.running) fail(this.lost);
    this.running.clear();
    for (const waiter of this.shellWaiters.splice(0)) waiter(undefined);
    this.slots.fail(this.lost);
  }

  private channelError(e: unknown): MedicError {
    if (this.lost) return this.lost;
    const message = errorMessage(e);
    return new MedicError(
      'SSH_LOST',
      `${this.o.where} refused a new SSH session channel (${message}). Its sshd MaxSessions may be below medic's maxChannels (${this.o.maxChannels}).`,
      { cause: e },
    );
  }

  /**
   * Opens an exec channel and hands it to `onOpen` inside ssh2's callback: a quick command's data,
   * 'exit' and close can arrive in the same read as the open confirmation and are emitted right
   * after the callback returns, so listeners attached one await later would miss the exit status.
   */
  private openExec<T>(command: string, onOpen: (channel: ClientChannel) => T): Promise<{ result: T }> {
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, (err, channel) => (err ? reject(err) : resolve({ result: onOpen(channel) })));
      } catch (e) {
        reject(e);
      }
    });
  }

  private collect(channel: ClientChannel, options: RunOptions, release: () => void): Promise<RunOutput> {
    const maxBytes = options.maxBytes ?? this.o.defaultMaxBytes;
    const started = performance.now();
    const stdout = new CappedOutput(maxBytes);
    const stderr = new CappedOutput(maxBytes);
    let exitCode: number | null = null;
    let signal: string | undefined;
    let timedOut = false;
    let stopping = false;
    let settled = false;
    let slotTimer: NodeJS.Timeout | undefined;
    const freeSlot = (): void => {
      clearTimeout(slotTimer);
      release();
    };

    // Commands get no input: one that reads stdin sees EOF instead of hanging until the timeout.
    channel.eof();

    return new Promise<RunOutput>((resolve, reject) => {
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(fail);
        resolve({
          exitCode,
          ...(signal ? { signal } : {}),
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.overflowed || stderr.overflowed,
          timedOut,
          durationMs: Math.round(performance.now() - started),
        });
      };
      const fail = (e: MedicError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      };
      // Kill the remote process, drop the channel and answer now: output already cut or late is
      // incomplete either way, and the host may be struggling.
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        signalRemote(channel, 'KILL');
        channel.close();
        slotTimer = setTimeout(freeSlot, SLOT_GRACE_MS);
        slotTimer.unref();
        finish();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);
      this.running.add(fail);

      channel.on('data', (chunk: Buffer) => {
        if (!stdout.push(chunk)) stop();
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        if (!stderr.push(chunk)) stop();
      });
      channel.on('exit', (code: number | null, sig?: string) => {
        exitCode = code;
        if (sig) signal = sig;
      });
      // The server's close frees its session slot; only then may another command take ours.
      channel.once('close', () => {
        freeSlot();
        finish();
      });
    });
  }
}
