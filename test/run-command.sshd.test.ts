import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { CommandRunner } from '../src/jobs/ports.ts';
import { runCommand } from '../src/jobs/run-command.ts';
import { startSshd, type SshdHandle } from '../src/lab/sshd.ts';
import { targetFor } from './helpers/ssh-target.ts';
import { sshTestUser } from './helpers/ssh-user.ts';

// How what came back from a host becomes a check's status, over a real sshd.
let sshd: SshdHandle;
let runner: CommandRunner;

beforeAll(async () => {
  // An unprivileged login, as a real read-only account is (never root: see ssh-user.ts).
  sshd = await startSshd({ user: await sshTestUser() });
  runner = await new SshConnector().connect(targetFor(sshd));
});
afterAll(async () => {
  await runner?.close();
  await sshd?.stop();
});

const check = (argv: string[], extra: { maxBytes?: number; sudo?: boolean } = {}) =>
  runCommand(runner, {
    id: 't',
    parse: 'raw',
    argv,
    sudo: extra.sudo ?? false,
    timeoutMs: 5000,
    ...(extra.maxBytes === undefined ? {} : { maxBytes: extra.maxBytes }),
  });

describe('runCommand', () => {
  it('ok, with stdout and the quoted command kept for the audit trail', async () => {
    const r = await check(['printf', '%s', "it's; $(id)"]);
    expect(r).toMatchObject({ status: 'ok', exitCode: 0, stdout: "it's; $(id)", command: `printf %s 'it'\\''s; $(id)'` });
  });

  it('output past the cap is kept, marked and still evidence (not an error)', async () => {
    const r = await check(['head', '-c', '3000000', '/dev/zero'], { maxBytes: 65536 });
    expect(r.status).toBe('ok');
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThan(70_000);
    expect(r.stdout).toMatch(/truncated/);
  });

  it('a command that fails is "failed" with its exit code and stderr', async () => {
    const r = await check(['cat', '/nonexistent/error.log']);
    expect(r).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(r.reason).toMatch(/No such file or directory/);
  });

  it('a missing program or a refused read could not run: "error", so the diagnosis is incomplete', async () => {
    expect((await check(['no-such-program-medic'])).status).toBe('error');
    expect(await check(['cat', '/etc/shadow'])).toMatchObject({ status: 'error', reason: expect.stringMatching(/permission denied/) });
  });

  it('sudo -n without a rule is refused at once, not left waiting for a password', async () => {
    const r = await check(['cat', '/etc/hostname'], { sudo: true });
    expect(r.status).toBe('error');
    expect(r.reason).toMatch(/sudo refused/);
    expect(r.command).toBe('sudo -n -- cat /etc/hostname');
  });
});
