import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { MedicError } from '../src/errors.ts';
import { generateKeyPair, type SshdHandle, startSshd } from '../src/lab/sshd.ts';
import { targetFor } from './helpers/ssh-target.ts';
import { sshTestUser } from './helpers/ssh-user.ts';

/**
 * A real sshd that signs its host key only with `ssh-rsa` (RSA with SHA-1): medic must not
 * offer that algorithm, so the handshake fails, and sshd's own log says what medic offered.
 */
describe('ssh-rsa (SHA-1) signatures are never offered', () => {
  let dir: string;
  let sshd: SshdHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medic-sshd-rsa-'));
    const rsaKey = (await generateKeyPair(dir, 'ssh_host_rsa_key', { type: 'rsa', bits: 2048 })).privateKeyPath;
    sshd = await startSshd({ user: await sshTestUser(), dir, extraConfig: [`HostKey ${rsaKey}`, 'HostKeyAlgorithms ssh-rsa'] });
  });

  afterAll(async () => {
    await sshd?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('a server that accepts only ssh-rsa host key signatures is refused, with SSH_HANDSHAKE_FAILED', async () => {
    const error = await new SshConnector({ connectTimeoutMs: 20_000 }).connect(targetFor(sshd)).then(
      async (r) => {
        await r.close();
        return new Error('connected with an ssh-rsa host key signature');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MedicError);
    expect((error as MedicError).code).toBe('SSH_HANDSHAKE_FAILED');
    // sshd logs the client's offer when nothing matches: ours has RSA only with SHA-2.
    const offer = await waitForOffer(sshd);
    expect(offer).toContain('rsa-sha2-256');
    expect(offer).toContain('ssh-ed25519');
    expect(offer).not.toContain('ssh-rsa');
  });
});

describe('an RSA user key signs with SHA-2 only', () => {
  let dir: string;
  let rsaClientKey: string;
  const servers: SshdHandle[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medic-rsa-user-'));
    rsaClientKey = (await generateKeyPair(dir, 'client_rsa', { type: 'rsa', bits: 2048 })).privateKeyPath;
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function serverAccepting(algorithms: string): Promise<SshdHandle> {
    const s = await startSshd({ user: await sshTestUser(), extraConfig: [`PubkeyAcceptedAlgorithms ${algorithms}`, 'LogLevel DEBUG1'] });
    servers.push(s);
    await appendFile(join(s.dir, 'authorized_keys'), await readFile(`${rsaClientKey}.pub`, 'utf8'));
    return s;
  }

  it('connects to a server that accepts rsa-sha2-256 and rsa-sha2-512', async () => {
    const s = await serverAccepting('rsa-sha2-256,rsa-sha2-512');
    const runner = await new SshConnector().connect(targetFor(s, { privateKeyPath: rsaClientKey }));
    try {
      expect((await runner.run('echo ok', { timeoutMs: 10_000 })).stdout.trim()).toBe('ok');
    } finally {
      await runner.close();
    }
    expect(s.log()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: RSA SHA256:/);
  });

  it('is refused by a server that accepts only ssh-rsa, and never tries it', async () => {
    const s = await serverAccepting('ssh-rsa');
    const error = await new SshConnector().connect(targetFor(s, { privateKeyPath: rsaClientKey })).then(
      async (r) => {
        await r.close();
        return new Error('authenticated with an ssh-rsa signature');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MedicError);
    expect((error as MedicError).code).toBe('SSH_AUTH_FAILED');
    // sshd (LogLevel DEBUG1) names the signature algorithm of each key the client offered.
    expect(s.log()).toMatch(/rsa-sha2-256/);
    expect(s.log()).not.toMatch(/userauth_pubkey: .*(?:pkalg|key type) ssh-rsa\b/);
  });
});

/**
 * A stock host has several host keys, and sshd lists them all after login. ssh2 would ask the
 * host to prove each one (a signature per key, RSA's the costly one, on every connection); medic
 * leaves the announcement unanswered, as OpenSSH's client does with a known_hosts file of its own.
 */
describe("sshd's host key announcement is not answered", () => {
  let dir: string;
  let sshd: SshdHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medic-sshd-hostkeys-'));
    const rsaKey = (await generateKeyPair(dir, 'ssh_host_rsa_key', { type: 'rsa', bits: 2048 })).privateKeyPath;
    const ecdsaKey = (await generateKeyPair(dir, 'ssh_host_ecdsa_key', { type: 'ecdsa' })).privateKeyPath;
    // DEBUG3: sshd logs the keys it announces and every global request it gets.
    sshd = await startSshd({
      user: await sshTestUser(),
      dir,
      extraConfig: [`HostKey ${rsaKey}`, `HostKey ${ecdsaKey}`, 'LogLevel DEBUG3'],
    });
  });

  afterAll(async () => {
    await sshd?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('sshd announces its three host keys; medic asks for no proof of them, acknowledges the announcement with an IGNORE, and runs commands as usual', async () => {
    const runner = await new SshConnector().connect(targetFor(sshd));
    try {
      expect((await runner.run('echo ok', { timeoutMs: 10_000, readOnly: true })).stdout.trim()).toBe('ok');
    } finally {
      await runner.close();
    }
    // The shell's session was requested after the announcement arrived: a proof request, had
    // one been sent, would be logged before it (one connection process handles both, in order).
    const log = await waitForLog(sshd, /server_input_channel_req: channel \d+ request exec/);
    expect(log).toMatch(/notify_hostkeys: sent 3 hostkeys/);
    expect(log).not.toMatch(/hostkeys-prove/);
    expect(log).not.toMatch(/server_input_hostkeys_prove/);
    // Acknowledged with an SSH_MSG_IGNORE (type 2): without a packet back, the TCP ACK of the
    // announcement is one the kernel delays, and sshd (Nagle on) holds its next packet for it.
    const announced = log.search(/send packet: type 80\b/);
    expect(announced).toBeGreaterThan(-1);
    expect(log.slice(announced)).toMatch(/receive packet: type 2\b/);
  });

  it('the check above can fail: ssh2 left to itself answers with a proof request, and sends no IGNORE', async () => {
    const log0 = sshd.log().length;
    const ssh2 = (await import('ssh2')).default;
    const target = targetFor(sshd);
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('error', reject);
        client.once('ready', () =>
          client.exec('true', (e, channel) => {
            if (e !== undefined) return reject(e);
            channel.once('close', () => resolve()).resume();
          }),
        );
        client.connect({ host: target.address, port: target.port, username: target.user, privateKey: readFileSync(target.privateKeyPath) });
      });
    } finally {
      client.end();
    }
    const log = (await waitForLog(sshd, /server_input_channel_req: channel \d+ request exec/, log0)).slice(log0);
    expect(log).toMatch(/send packet: type 80\b/);
    expect(log).not.toMatch(/receive packet: type 2\b/);
  });
});

async function waitForLog(sshd: SshdHandle, line: RegExp, from = 0): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const log = sshd.log();
    if (line.test(log.slice(from))) return log;
    if (Date.now() > deadline) throw new Error(`sshd never logged ${String(line)}:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForOffer(sshd: SshdHandle): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /no matching host key type found\. Their offer: (\S+)/.exec(sshd.log());
    if (m !== null) return (m[1] as string).split(',');
    if (Date.now() > deadline) throw new Error(`sshd logged no host key offer:\n${sshd.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
