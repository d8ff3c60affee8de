import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { SshCommandRunner } from '../src/adapters/ssh/ssh-command-runner.ts';
import { MedicError } from '../src/errors.ts';
import { type SshdHandle, generateKeyPair, knownHostsLine, sshdChildren, startSshd, writeKnownHostsWithOtherKey } from '../src/lab/sshd.ts';
import { closedPort, startSilentServer, targetFor } from './helpers/ssh-target.ts';
import { sshTestUser } from './helpers/ssh-user.ts';

const sh = promisify(execFile);
const T = { timeoutMs: 10_000 };

let sshd: SshdHandle;
let runner: SshCommandRunner;
const connector = new SshConnector();

beforeAll(async () => {
  sshd = await startSshd({ user: await sshTestUser() });
  runner = await connector.connect(targetFor(sshd));
});

afterAll(async () => {
  await runner?.close();
  await sshd?.stop();
});

/** The fingerprint `ssh-keygen -l` prints for the lab's host key: the reference, not our own code. */
async function hostFingerprint(): Promise<string> {
  const { stdout } = await sh('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${sshd.hostKeyPath}.pub`]);
  return stdout.split(' ')[1]!;
}

async function connectError(target: Parameters<SshConnector['connect']>[0], c = connector): Promise<MedicError> {
  const error = await c.connect(target).then(
    async (r) => {
      await r.close();
      return new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MedicError);
  return error as MedicError;
}

describe('commands over a real sshd', () => {
  it('keeps stdout, stderr and the exit code apart', async () => {
    const out = await runner.run(`echo out; echo err >&2; exit 3`, T);
    expect(out).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', truncated: false, timedOut: false });
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
    expect((await runner.run('id -un', T)).stdout).toBe(`${sshd.user}\n`);
  });

  it('records how long the connection took to become ready', () => {
    expect(runner.connectMs).toBeGreaterThan(0);
    expect(runner.connectMs).toBeLessThan(10_000);
    expect(runner.connectedAt).toBeInstanceOf(Date);
  });

  it('reports a command killed by a signal', async () => {
    const out = await runner.run('kill -TERM $$', T);
    expect(out.exitCode).toBeNull();
    expect(out.signal).toBe('SIGTERM');
  });

  it('gives commands an empty stdin instead of leaving them waiting', async () => {
    const out = await runner.run('cat; echo done', { timeoutMs: 5000 });
    expect(out).toMatchObject({ stdout: 'done\n', exitCode: 0, timedOut: false });
  });

  it('runs 20 commands over one connection, more than sshd MaxSessions, all to completion', async () => {
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run(`echo ${i}`, T)));
    expect(outs.map((o) => o.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(outs.filter((o) => o.exitCode !== 0)).toEqual([]);
  });

  it('runs up to maxChannels at once and queues the rest', async () => {
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => runner.run('sleep 1', T)));
    const eight = performance.now() - started;
    expect(eight).toBeLessThan(3000);

    const again = performance.now();
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run(`sleep 1; echo ${i}`, T)));
    const twenty = performance.now() - again;
    expect(outs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    // 20 commands through 8 channels take three rounds: proof of both the queue and the parallelism.
    expect(twenty).toBeGreaterThanOrEqual(2900);
    expect(twenty).toBeLessThan(8000);
  });

  it('times a command out, kills it on the host and says so', async () => {
    const started = performance.now();
    const out = await runner.run('sleep 37.25', { timeoutMs: 500 });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(out).toMatchObject({ timedOut: true, exitCode: null });
    // sshd delivers the "signal" request to the session (not for root logins: see ssh-user.ts).
    await expect
      .poll(async () => (await runner.run(`ps -eo args | grep -c '^sleep 37.25$' || true`, T)).stdout.trim(), { timeout: 3000 })
      .toBe('0');
    expect((await runner.run('echo still-usable', T)).stdout).toBe('still-usable\n');
  });

  it('caps 50 MB of output at 1 MiB with a marker, promptly and without buffering it', async () => {
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const started = performance.now();
    const out = await runner.run(`head -c 52428800 /dev/zero | tr '\\0' a`, { timeoutMs: 30_000 });
    const elapsed = performance.now() - started;
    clearInterval(sampler);

    expect(out.truncated).toBe(true);
    expect(out.timedOut).toBe(false);
    expect(out.stdout.slice(-100)).toMatch(/\n\[… output truncated at 1 MiB …\]$/);
    expect(out.stdout.length).toBe(1024 * 1024 + '\n[… output truncated at 1 MiB …]'.length);
    expect(out.stdout.slice(0, 1024 * 1024)).toBe('a'.repeat(1024 * 1024));
    expect(elapsed).toBeLessThan(5000);
    expect(peak - baseline).toBeLessThan(24 * 1024 * 1024);
    expect((await runner.run('echo after', T)).stdout).toBe('after\n');
  });

  it('caps each stream at the per-command maxBytes', async () => {
    const out = await runner.run(`head -c 5000 /dev/zero | tr '\\0' e >&2; echo ok`, { timeoutMs: 5000, maxBytes: 1024 });
    expect(out.truncated).toBe(true);
    expect(out.stderr).toBe(`${'e'.repeat(1024)}\n[… output truncated at 1 KiB …]`);
    const exact = await runner.run(`head -c 1024 /dev/zero | tr '\\0' x`, { timeoutMs: 5000, maxBytes: 1024 });
    expect(exact).toMatchObject({ truncated: false, stdout: 'x'.repeat(1024), exitCode: 0 });
  });

  it('decodes invalid UTF-8 and binary output without throwing', async () => {
    const out = await runner.run(`printf '\\377\\376ok \\303\\251\\n'`, T);
    expect(out.stdout).toBe('\uFFFD\uFFFDok é\n');
    const random = await runner.run('head -c 65536 /dev/urandom', T);
    expect(random.exitCode).toBe(0);
    expect(typeof random.stdout).toBe('string');
  });
});

describe('connection failures, each with its own code', () => {
  it('connection refused', async () => {
    const port = await closedPort();
    const e = await connectError(targetFor(sshd, { port }));
    expect(e.code).toBe('SSH_CONNECTION_REFUSED');
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(e.message).toContain(sshd.user);
  });

  it('authentication failure with a key the host does not know', async () => {
    const stranger = await generateKeyPair(sshd.dir, `stranger-${Date.now()}`);
    const e = await connectError(targetFor(sshd, { privateKeyPath: stranger.privateKeyPath }));
    expect(e.code).toBe('SSH_AUTH_FAILED');
    expect(e.message).toContain(`${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(e.message).toContain(stranger.privateKeyPath);
    expect(e.retryable).toBe(false);
  });

  it('unknown host key: refused, with the fingerprint and a command that fixes it', async () => {
    const knownHostsPath = join(sshd.dir, `known_hosts.empty-${Date.now()}`);
    await writeFile(knownHostsPath, '');
    const e = await connectError(targetFor(sshd, { knownHostsPath }));
    expect(e.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(e.message).toContain(`ssh-ed25519 ${await hostFingerprint()}`);
    expect(e.message).toContain('out of band');

    // Following the message's own advice makes the next connection succeed.
    const fix = /ssh-keyscan .*$/.exec(e.message)?.[0];
    expect(fix).toBe(`ssh-keyscan -p ${sshd.port} -t ed25519 127.0.0.1 >> ${knownHostsPath}`);
    await sh('sh', ['-c', `${fix} 2>/dev/null`]);
    const r = await connector.connect(targetFor(sshd, { knownHostsPath }));
    expect((await r.run('echo ok', T)).stdout).toBe('ok\n');
    await r.close();
  });

  it('a missing known_hosts file is an unknown host key, and the message says the file is missing', async () => {
    const knownHostsPath = join(sshd.dir, 'no-such-known_hosts');
    const e = await connectError(targetFor(sshd, { knownHostsPath }));
    expect(e.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(e.message).toContain(`${knownHostsPath} does not exist`);
  });

  it('changed host key: refused as a possible man-in-the-middle, both fingerprints named', async () => {
    const knownHostsPath = join(sshd.dir, `known_hosts.other-${Date.now()}`);
    const other = await writeKnownHostsWithOtherKey(sshd, knownHostsPath);
    const e = await connectError(targetFor(sshd, { knownHostsPath }));
    expect(e.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(e.message).toContain('man-in-the-middle');
    expect(e.message).toContain(await hostFingerprint());
    const otherFp = (await sh('sh', ['-c', `echo '${other}' | ssh-keygen -l -E sha256 -f -`])).stdout.split(' ')[1]!;
    expect(e.message).toContain(otherFp);
    expect(e.retryable).toBe(false);
  });

  it('a revoked host key is refused even when also listed', async () => {
    const knownHostsPath = join(sshd.dir, `known_hosts.revoked-${Date.now()}`);
    const line = knownHostsLine('127.0.0.1', sshd.port, sshd.hostPublicKey);
    await writeFile(knownHostsPath, `${line}\n@revoked ${line}\n`);
    const e = await connectError(targetFor(sshd, { knownHostsPath }));
    expect(e.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(e.message).toContain('@revoked');
  });

  it('accepts a known_hosts hashed by ssh-keygen -H', async () => {
    const knownHostsPath = join(sshd.dir, `known_hosts.hashed-${Date.now()}`);
    await writeFile(knownHostsPath, await readFile(sshd.knownHostsPath));
    await sh('ssh-keygen', ['-H', '-f', knownHostsPath]);
    expect(await readFile(knownHostsPath, 'utf8')).toMatch(/^\|1\|/);
    const r = await connector.connect(targetFor(sshd, { knownHostsPath }));
    expect((await r.run('echo hashed', T)).stdout).toBe('hashed\n');
    await r.close();
  });

  it('a port that takes the connection and never speaks is SSH_NOT_ANSWERING, after the handshake timeout', async () => {
    const silent = await startSilentServer();
    try {
      const started = performance.now();
      const e = await connectError(targetFor(sshd, { port: silent.port }), new SshConnector({ handshakeTimeoutMs: 500 }));
      expect(performance.now() - started).toBeLessThan(3000);
      expect(e.code).toBe('SSH_NOT_ANSWERING');
      expect(e.message).toContain(`127.0.0.1:${silent.port} is not answering`);
      expect(e.message).toContain('500 ms');
    } finally {
      await silent.stop();
    }
  });

  it('an abort signal stops a connect in progress', async () => {
    const silent = await startSilentServer();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = performance.now();
      await expect(connector.connect(targetFor(sshd, { port: silent.port }), { signal: controller.signal })).rejects.toThrow(/abort/i);
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await silent.stop();
    }
  });

  it('private keys that are missing, not keys, or need a passphrase', async () => {
    const missing = await connectError(targetFor(sshd, { privateKeyPath: join(sshd.dir, 'nope') }));
    expect(missing.code).toBe('SSH_KEY_UNREADABLE');
    expect(missing.message).toContain('ENOENT');

    const garbage = join(sshd.dir, 'garbage-key');
    await writeFile(garbage, 'this is not a key\n');
    expect((await connectError(targetFor(sshd, { privateKeyPath: garbage }))).code).toBe('SSH_KEY_UNREADABLE');

    const locked = join(sshd.dir, `locked-${Date.now()}`);
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', locked]);
    const e = await connectError(targetFor(sshd, { privateKeyPath: locked }));
    expect(e.code).toBe('SSH_KEY_UNREADABLE');
    expect(e.message).toContain('passphrase');
  });
});

describe("a process's first connection", () => {
  // It loads the SSH library while TCP opens (later ones check the key before connecting): a
  // module graph of its own, as in a new `medic` process.
  async function freshConnector(): Promise<SshConnector> {
    vi.resetModules();
    const fresh = await import('../src/adapters/ssh/ssh-connector.ts');
    return new fresh.SshConnector();
  }

  it('connects and runs a command', async () => {
    const r = await (await freshConnector()).connect(targetFor(sshd));
    try {
      expect((await r.run('id -un', T)).stdout).toBe(`${sshd.user}\n`);
    } finally {
      await r.close();
    }
  });

  it('a private key that is not a key fails as SSH_KEY_UNREADABLE, and the TCP connection opened meanwhile is closed', async () => {
    const garbage = join(sshd.dir, 'garbage-key-first');
    await writeFile(garbage, 'this is not a key\n');
    const closedEarly = (): number => sshd.log().split('kex_exchange_identification: Connection closed by remote host').length;
    const before = closedEarly();
    const error = await (await freshConnector()).connect(targetFor(sshd, { privateKeyPath: garbage })).then(
      async (r) => {
        await r.close();
        return undefined;
      },
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(error?.code).toBe('SSH_KEY_UNREADABLE');
    expect(error?.message).toContain('garbage-key-first');
    // sshd saw the connection end before a word of SSH: nothing of it is left on the host.
    await expect.poll(closedEarly, { timeout: 5000 }).toBe(before + 1);
  });
});

describe('the connection going away', () => {
  it('close() ends the session on the host and later runs fail with SSH_LOST', async () => {
    const r = await connector.connect(targetFor(sshd));
    const before = sshdChildren(sshd).length;
    expect(before).toBeGreaterThan(0);
    await r.close();
    await r.close();
    await expect(r.run('echo', T)).rejects.toMatchObject({ code: 'SSH_LOST' });
    // Only the long-lived shared connection remains.
    await expect.poll(() => sshdChildren(sshd).length, { timeout: 3000 }).toBeLessThan(before);
  });

  it('sshd stopped mid-command: the running and the queued commands fail with SSH_LOST', async () => {
    const doomed = await startSshd({ user: sshd.user });
    try {
      const r = await new SshConnector({ maxChannels: 1 }).connect(targetFor(doomed));
      const running = r.run('sleep 20', T);
      const queued = r.run('echo never', T);
      setTimeout(() => void doomed.stop(), 300);
      const started = performance.now();
      await expect(running).rejects.toMatchObject({ code: 'SSH_LOST' });
      await expect(queued).rejects.toMatchObject({ code: 'SSH_LOST' });
      expect(performance.now() - started).toBeLessThan(5000);
      const later = await r.run('echo', T).catch((e: unknown) => e);
      expect(later).toBeInstanceOf(MedicError);
      expect((later as MedicError).code).toBe('SSH_LOST');
      expect((later as MedicError).message).toContain(`127.0.0.1:${doomed.port}`);
      await r.close();
    } finally {
      await doomed.stop();
    }
  });

  it('many connections to one sshd at once stay within its MaxStartups: the handshakes take turns, none is dropped', async () => {
    // sshd drops every unauthenticated connection beyond 2 here; 12 connects are started together. The
    // gate leaves one startup of room, as 8 does under the default 10: sshd counts a connection a
    // moment past the client's authentication.
    const tight = await startSshd({ user: sshd.user, extraConfig: ['MaxStartups 2'] });
    try {
      const gated = new SshConnector({ maxStartupsPerHost: 1 });
      const settled = await Promise.allSettled(Array.from({ length: 12 }, () => gated.connect(targetFor(tight))));
      expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
      const runners = settled.map((s) => (s as PromiseFulfilledResult<SshCommandRunner>).value);
      // Authenticated connections do not count against MaxStartups: all 12 are usable at once.
      expect((await Promise.all(runners.map((r) => r.run('echo up', T)))).map((o) => o.stdout)).toEqual(Array(12).fill('up\n'));
      await Promise.all(runners.map((r) => r.close()));
    } finally {
      await tight.stop();
    }
  });

  it('a server with MaxSessions below maxChannels: refused channels are retried, then reported', async () => {
    const tight = await startSshd({ user: sshd.user, extraConfig: ['MaxSessions 1'] });
    try {
      const r = await new SshConnector({ maxChannels: 2 }).connect(targetFor(tight));
      const [first, second] = await Promise.allSettled([r.run('sleep 2; echo first', T), r.run('echo second', T)]);
      expect(first).toMatchObject({ status: 'fulfilled', value: { stdout: 'first\n' } });
      expect(second.status).toBe('rejected');
      expect((second as PromiseRejectedResult).reason).toMatchObject({ code: 'SSH_LOST' });
      expect(String((second as PromiseRejectedResult).reason.message)).toContain('MaxSessions');
      // One at a time is fine on the same server.
      expect((await r.run('echo alone', T)).stdout).toBe('alone\n');
      await r.close();
    } finally {
      await tight.stop();
    }
  });
});

/**
 * A hung host, as an operator meets it: sshd stopped with SIGSTOP keeps its port open (the
 * kernel still completes TCP handshakes into its backlog) and answers nothing.
 */
describe('a hung sshd', () => {
  const stopTree = (handle: SshdHandle, signal: NodeJS.Signals): void => {
    for (const pid of [handle.pid, ...sshdChildren(handle)]) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    }
  };

  it('the listener stopped: SSH_NOT_ANSWERING within the handshake timeout, and connecting works again once it runs', async () => {
    const hung = await startSshd({ user: sshd.user });
    const c = new SshConnector({ handshakeTimeoutMs: 1500 });
    try {
      process.kill(hung.pid, 'SIGSTOP');
      const started = performance.now();
      const e = await connectError(targetFor(hung), c);
      const took = performance.now() - started;
      expect(e.code).toBe('SSH_NOT_ANSWERING');
      expect(e.retryable).toBe(false);
      expect(e.message).toContain(`127.0.0.1:${hung.port} is not answering`);
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(10_000);

      process.kill(hung.pid, 'SIGCONT');
      const r = await c.connect(targetFor(hung));
      expect((await r.run('echo back', T)).stdout).toBe('back\n');
      await r.close();
    } finally {
      stopTree(hung, 'SIGCONT');
      await hung.stop();
    }
  });

  it('its session stopped mid-diagnosis: the running command times out, the next ones fail SSH_NOT_ANSWERING once keepalives go unanswered', async () => {
    const hung = await startSshd({ user: sshd.user });
    try {
      const r = await new SshConnector({ keepaliveIntervalMs: 300, keepaliveCountMax: 2 }).connect(targetFor(hung));
      expect((await r.run('echo alive', T)).stdout).toBe('alive\n');
      stopTree(hung, 'SIGSTOP');
      const started = performance.now();
      const running = await r.run('echo never', { timeoutMs: 500 }).catch((e: unknown) => e);
      // Either the command's own timeout or the keepalive ends it; it never hangs.
      if (running instanceof MedicError) expect(running.code).toBe('SSH_NOT_ANSWERING');
      else expect(running).toMatchObject({ timedOut: true });
      await expect
        .poll(() => r.run('echo later', T).catch((e: unknown) => (e as MedicError).code), { timeout: 10_000 })
        .toBe('SSH_NOT_ANSWERING');
      expect(performance.now() - started).toBeLessThan(10_000);
      await r.close();
    } finally {
      stopTree(hung, 'SIGCONT');
      await hung.stop();
    }
  });
});
