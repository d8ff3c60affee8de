import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parsePlaybook } from '../src/core/playbook/parse-playbook.ts';
import { diagnoseHostDetailed } from '../src/jobs/diagnose-host.ts';
import type { CommandRunner, JobDeps, RunOptions, RunOutput, TargetHost } from '../src/jobs/ports.ts';
import { startSshd, type SshdHandle } from '../src/lab/sshd.ts';
import { targetFor } from './helpers/ssh-target.ts';
import { sshTestUser } from './helpers/ssh-user.ts';

// A round of checks goes to a real sshd as one batch; every result is still its own.
let sshd: SshdHandle;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd({ user: await sshTestUser() });
  dir = await mkdtemp(join(tmpdir(), 'medic-batch-'));
  // The SSH login user is not the test's user: it must be able to enter and read.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'a.log'), 'line a\n');
  await writeFile(join(dir, 'b.log'), 'line b\n');
});

afterAll(async () => {
  await sshd?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The real runner, with every command line it is given written down. */
class RecordingRunner implements CommandRunner {
  readonly commands: string[] = [];
  constructor(private readonly inner: CommandRunner) {}
  run(command: string, options: RunOptions): Promise<RunOutput> {
    this.commands.push(command);
    return this.inner.run(command, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const playbook = (d: string): string => `
name: batch-test
title: Batch test
checks:
  - { id: host_time, title: clock, parse: host_time, run: [date, '+%Y-%m-%dT%H:%M:%S%z'] }
  - { id: log_a, title: a, parse: raw, run: [cat, ${d}/a.log] }
  - { id: log_b, title: b, parse: raw, run: [cat, ${d}/b.log] }
  - { id: missing, title: missing file, parse: raw, run: [cat, ${d}/nope.log], fallback: [[cat, ${d}/also-nope.log], [cat, ${d}/b.log]] }
  - { id: own_timeout, title: own timeout, parse: raw, timeout: 5s, run: [ls, -d, ${d}] }
`;

/**
 * A playbook of two rounds: an HTTP probe of `port` (a kind discovery does not read) and a
 * service-manager probe, then a check that waits for the latter (`when: systemd`).
 */
const probeThenRound = (name: string, port: number): string => `
name: ${name}
title: ${name}
checks:
  - { id: probe, title: probe, parse: http_probe, timeout: 8s, run: [curl, -sS, -o, /dev/null, -m, '5', -w, 'http_code=%{http_code}', 'http://127.0.0.1:${port}/'] }
  - { id: systemd, title: service manager, parse: systemd_probe, run: [ls, -d, ${dir}] }
  - { id: after, title: second round, parse: raw, when: systemd, run: [cat, ${dir}/a.log] }
`;

/** What a diagnosis needs besides the runner; `onFinished` hears each check as it finishes. */
const jobDeps = (onFinished?: (check: string) => void): JobDeps => ({
  connector: new SshConnector(),
  logger: pino({ level: 'silent' }),
  now: () => new Date(),
  ...(onFinished === undefined ? {} : { onProgress: (e) => (e.kind === 'check-finished' ? onFinished(e.check) : undefined) }),
});

async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('diagnosis rounds as one batch over a real sshd', () => {
  it('one command line for the round, its own channel for a check with its own timeout, fallbacks together; each result apart', async () => {
    const host: TargetHost = { name: 'batch', ...targetFor(sshd), sudo: false, playbook: 'batch-test', facts: {} };
    const runner = new RecordingRunner(await new SshConnector().connect(targetFor(sshd)));
    try {
      const out = await diagnoseHostDetailed({ host, playbook: parsePlaybook(playbook(dir), 'batch.yaml') }, jobDeps(), runner);
      const byId = new Map(out.results.map((r) => [r.id, r]));
      expect(byId.get('log_a')).toMatchObject({ status: 'ok', stdout: 'line a\n', exitCode: 0, command: `cat ${dir}/a.log` });
      expect(byId.get('log_b')).toMatchObject({ status: 'ok', stdout: 'line b\n' });
      expect(byId.get('host_time')?.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      // The primary failed inside the batch; the fallbacks ran, and the usable one in order won.
      expect(byId.get('missing')).toMatchObject({ status: 'ok', stdout: 'line b\n', command: `cat ${dir}/b.log` });
      expect(byId.get('own_timeout')).toMatchObject({ status: 'ok', stdout: `${dir}\n` });
      // One batch of the 4 primaries (the clock among them), the own-timeout check beside it, and
      // the 2 fallbacks.
      const batches = runner.commands.filter((c) => c.includes('printf'));
      expect(batches).toHaveLength(1);
      for (const argv of ['date +%Y-%m-%dT%H:%M:%S%z', `cat ${dir}/a.log`, `cat ${dir}/b.log`, `cat ${dir}/nope.log`])
        expect(batches[0]).toContain(argv);
      expect(runner.commands.filter((c) => !c.includes('printf')).sort()).toEqual(
        [`cat ${dir}/also-nope.log`, `cat ${dir}/b.log`, `ls -d ${dir}`].sort(),
      );
    } finally {
      await runner.close();
    }
  });

  it('a host that allows one session (MaxSessions 1) is diagnosed through that one shell, every check with its result', async () => {
    const tight = await startSshd({ user: sshd.user, extraConfig: ['MaxSessions 1'] });
    try {
      const host: TargetHost = { name: 'tight', ...targetFor(tight), sudo: false, playbook: 'batch-test', facts: {} };
      const runner = new RecordingRunner(await new SshConnector().connect(targetFor(tight)));
      try {
        const out = await diagnoseHostDetailed({ host, playbook: parsePlaybook(playbook(dir), 'batch.yaml') }, jobDeps(), runner);
        expect(out.results.map((r) => [r.id, r.status])).toEqual([
          ['host_time', 'ok'],
          ['log_a', 'ok'],
          ['log_b', 'ok'],
          ['missing', 'ok'],
          ['own_timeout', 'ok'],
        ]);
        expect(out.results.find((r) => r.id === 'missing')?.stdout).toBe('line b\n');
      } finally {
        await runner.close();
      }
    } finally {
      await tight.stop();
    }
  });

  it('a round of many commands goes out as a few batches side by side, each result still its own and in the order of the round', async () => {
    for (let i = 0; i < 7; i++) await writeFile(join(dir, `c${i}.log`), `line${i}\n`);
    const many = `
name: batch-split
title: Batch split
checks:
${Array.from({ length: 7 }, (_, i) => `  - { id: c${i}, title: c${i}, parse: raw, run: [cat, ${dir}/c${i}.log] }`).join('\n')}
`;
    const host: TargetHost = { name: 'batch', ...targetFor(sshd), sudo: false, playbook: 'batch-split', facts: {} };
    const runner = new RecordingRunner(await new SshConnector().connect(targetFor(sshd)));
    try {
      const out = await diagnoseHostDetailed({ host, playbook: parsePlaybook(many, 'split.yaml') }, jobDeps(), runner);
      expect(out.results.map((r) => [r.id, r.status, r.stdout])).toEqual(
        Array.from({ length: 7 }, (_, i) => [`c${i}`, 'ok', `line${i}\n`]),
      );
      // 7 commands: 2 batches (at least 3 commands each), every command in exactly one of them.
      const batches = runner.commands.filter((c) => c.includes('printf'));
      expect(batches).toHaveLength(2);
      for (let i = 0; i < 7; i++) expect(batches.filter((b) => b.includes(`cat ${dir}/c${i}.log;`))).toHaveLength(1);
      expect(runner.commands).toHaveLength(2);
    } finally {
      await runner.close();
    }
  });

  it('checks with the same timeout of their own go as one batch of their own, beside the default batch', async () => {
    const timed = `
name: batch-timeouts
title: Batch timeouts
checks:
  - { id: d0, title: d0, parse: raw, run: [cat, ${dir}/a.log] }
  - { id: d1, title: d1, parse: raw, run: [cat, ${dir}/b.log] }
  - { id: t0, title: t0, parse: raw, timeout: 5s, run: [ls, -d, ${dir}] }
  - { id: t1, title: t1, parse: raw, timeout: 5s, run: [cat, ${dir}/b.log] }
`;
    const host: TargetHost = { name: 'batch', ...targetFor(sshd), sudo: false, playbook: 'batch-timeouts', facts: {} };
    const runner = new RecordingRunner(await new SshConnector().connect(targetFor(sshd)));
    try {
      const out = await diagnoseHostDetailed({ host, playbook: parsePlaybook(timed, 'timeouts.yaml') }, jobDeps(), runner);
      expect(out.results.map((r) => [r.id, r.stdout])).toEqual([
        ['d0', 'line a\n'],
        ['d1', 'line b\n'],
        ['t0', `${dir}\n`],
        ['t1', 'line b\n'],
      ]);
      expect(runner.commands).toHaveLength(2);
      const own = runner.commands.find((c) => c.includes(`ls -d ${dir}`));
      expect(own).toContain(`cat ${dir}/b.log`);
      expect(own).not.toContain(`cat ${dir}/a.log`);
    } finally {
      await runner.close();
    }
  });

  it('a check discovery does not read (an HTTP probe) does not hold up the next round; results keep the order checks started in', async () => {
    // The probe's answer is held until the second round's check has finished: were the second
    // round to wait for the probe, curl would give up after its 5 s and the probe would fail.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = createServer((_req, res) => {
      void released.then(() => res.end('ok'));
    });
    const port = await listenOnLoopback(server);
    const rounds = probeThenRound('background-probe', port);
    const host: TargetHost = { name: 'batch', ...targetFor(sshd), sudo: false, playbook: 'background-probe', facts: {} };
    const runner = new RecordingRunner(await new SshConnector().connect(targetFor(sshd)));
    const finished: string[] = [];
    try {
      const out = await diagnoseHostDetailed(
        { host, playbook: parsePlaybook(rounds, 'background-probe.yaml') },
        jobDeps((check) => {
          finished.push(check);
          if (check === 'after') release();
        }),
        runner,
      );
      expect(finished).toEqual(['systemd', 'after', 'probe']);
      expect(out.results.map((r) => [r.id, r.status])).toEqual([
        ['systemd', 'ok'],
        ['probe', 'ok'],
        ['after', 'ok'],
      ]);
      expect(out.results.find((r) => r.id === 'probe')?.stdout).toBe('http_code=200');
    } finally {
      release();
      await runner.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a connection lost while such a check still runs fails the diagnosis with the loss, after the next round has finished', async () => {
    // The probe is never answered; the connection goes once the second round's check is done.
    const server = createServer(() => {});
    const port = await listenOnLoopback(server);
    const rounds = probeThenRound('background-lost', port);
    const host: TargetHost = { name: 'batch', ...targetFor(sshd), sudo: false, playbook: 'background-lost', facts: {} };
    const runner = new RecordingRunner(await new SshConnector().connect(targetFor(sshd)));
    const finished: string[] = [];
    try {
      const diagnosis = diagnoseHostDetailed(
        { host, playbook: parsePlaybook(rounds, 'background-lost.yaml') },
        jobDeps((check) => {
          finished.push(check);
          if (check === 'after') void runner.close();
        }),
        runner,
      );
      await expect(diagnosis).rejects.toMatchObject({ code: 'SSH_LOST' });
      expect(finished).toEqual(['systemd', 'after']);
    } finally {
      await runner.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
