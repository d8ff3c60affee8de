import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TargetHost } from '../src/jobs/ports.ts';

const run = promisify(execFile);

/** One of medic's checks as it ran: the exact command line the host got. */
export interface RanCommand {
  id: string;
  command: string;
}

/** The OpenSSH client options an engineer would use for a lab host: its key, its known_hosts, no prompts. */
export function sshArgs(host: TargetHost): string[] {
  return [
    '-i',
    host.privateKeyPath,
    '-o',
    `UserKnownHostsFile=${host.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(host.port),
    `${host.user}@${host.address}`,
  ];
}

/**
 * A careful engineer's script: every command, one after another, in one remote shell over one
 * `ssh` session, each output headed by the check's name so the reader can tell them apart.
 */
export function oneSessionScript(commands: readonly RanCommand[]): string {
  return `${commands.map((c) => `echo '=== ${c.id}'\n${c.command}`).join('\n')}\n`;
}

/**
 * OpenSSH client options for the key exchange medic's SSH library negotiates with OpenSSH:
 * curve25519-sha256. OpenSSH 9 offers the post-quantum hybrid sntrup761x25519-sha512 first,
 * which ssh2 does not implement; on the development machine its key generation alone is about
 * 140 ms of the client's CPU. The script with this option is the like-for-like baseline.
 */
export const SAME_KEX_AS_MEDIC = ['-o', 'KexAlgorithms=curve25519-sha256'] as const;

/** Runs `ssh host sh -s` with the script on stdin; resolves with what it printed. `options` go before the host. */
export function runOneSession(host: TargetHost, script: string, options: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...options, ...sshArgs(host), 'sh -s'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 255 ? reject(new Error('ssh could not connect')) : resolve(out)));
    child.stdin.end(script);
  });
}

/** The old baseline: a new `ssh` connection per command, one after another. */
export async function runPerCommandSsh(host: TargetHost, commands: readonly RanCommand[]): Promise<void> {
  for (const c of commands) await run('ssh', [...sshArgs(host), c.command]).catch(() => undefined);
}

export async function ansibleVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('ansible-playbook', ['--version']);
    return stdout.split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

/**
 * Ansible running the same command lines with `raw` (no module upload, no Python on the host:
 * the cheapest way Ansible can run them) over its usual multiplexed SSH connection, facts off.
 */
export async function ansibleRunner(
  host: TargetHost,
  commands: readonly RanCommand[],
): Promise<{ run: () => Promise<void>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'medic-bench-ansible-'));
  const inventory = join(dir, 'hosts.ini');
  const playbook = join(dir, 'diagnose.yml');
  await writeFile(
    inventory,
    `${host.name} ansible_host=${host.address} ansible_port=${host.port} ansible_user=${host.user} ansible_ssh_private_key_file=${host.privateKeyPath} ansible_ssh_common_args='-o UserKnownHostsFile=${host.knownHostsPath} -o StrictHostKeyChecking=yes'\n`,
  );
  const tasks = commands
    .map((c) => `    - name: ${c.id}\n      ansible.builtin.raw: ${JSON.stringify(c.command)}\n      ignore_errors: true\n`)
    .join('');
  await writeFile(playbook, `- hosts: ${host.name}\n  gather_facts: false\n  tasks:\n${tasks}`);
  const env = {
    ...process.env,
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    // Ansible's usual multiplexing, with a control socket this run can close when it is done.
    ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=${join(dir, 'cm-%C')}`,
    ANSIBLE_PIPELINING: 'true',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
  };
  return {
    run: async () => {
      await run('ansible-playbook', ['-i', inventory, playbook], { env, maxBuffer: 64 * 1024 * 1024 });
      // Close the ControlMaster so the host's session (and its CPU) ends with the run.
      await run('ssh', ['-o', `ControlPath=${join(dir, 'cm-%C')}`, '-O', 'exit', ...sshArgs(host)]).catch(() => undefined);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
