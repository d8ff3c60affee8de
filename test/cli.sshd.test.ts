import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle } from '../src/lab/sshd.ts';
import { runCli } from '../src/cli/main.ts';
import { medic } from './helpers/run-cli.ts';
import { closedPort } from './helpers/ssh-target.ts';
// @ts-expect-error plain JavaScript (bin/ runs before any TypeScript loader); typed by its JSDoc
import { chooseEntry as chooseEntryJs } from '../bin/entry.js';

const chooseEntry = chooseEntryJs as (root: URL) => { kind: 'built' | 'source'; url: string };

// The command line's contract (exit codes, --json, --help) against a real sshd on loopback.
let sshd: SshdHandle;
let dir: string;
let inventory: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'medic-cli-'));
  inventory = join(dir, 'inventory.yaml');
  const refused = await closedPort();
  await writeFile(
    inventory,
    [
      'hosts:',
      `  web-01: { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKeyPath: ${sshd.clientKeyPath}, knownHostsPath: ${sshd.knownHostsPath},`,
      // Pinned to configs that do not exist here, so no other nginx on this machine is mistaken for this host's.
      `           facts: { nginx: { conf: ${dir}/nginx.conf }, fpm: { conf: ${dir}/php-fpm.conf }, kernel: { log: ${dir}/kern.log } } }`,
      `  web-02: { address: 127.0.0.1, port: ${refused}, user: ${sshd.user}, privateKeyPath: ${sshd.clientKeyPath}, knownHostsPath: ${sshd.knownHostsPath} }`,
      `  web-03: { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, privateKeyPath: ${sshd.clientKeyPath}, knownHostsPath: ${dir}/empty_known_hosts }`,
      'groups:',
      '  web: [web-01, web-02]',
      '  reachable: [web-01]',
    ].join('\n'),
  );
  await writeFile(join(dir, 'empty_known_hosts'), '');
  await writeFile(join(dir, 'kern.log'), '');
});

afterAll(async () => {
  await sshd?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('medic diagnose', () => {
  it('--json prints exactly one JSON object with the contract fields, exit 0', async () => {
    const r = await medic(['diagnose', 'web-01', '--inventory', inventory, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      host: 'web-01',
      verdict: { cause: expect.any(String), title: expect.any(String) },
      durationMs: expect.any(Number),
    });
    expect(out.findings.length).toBeGreaterThan(0);
    for (const f of out.findings) {
      expect(f).toEqual(
        expect.objectContaining({
          cause: expect.any(String),
          severity: expect.stringMatching(/^(critical|warning|info)$/),
          title: expect.any(String),
          evidence: expect.any(Array),
          remediations: expect.any(Array),
        }),
      );
    }
    // Nothing serves this host's site: it must not be called healthy.
    expect(out.verdict.cause).not.toBe('healthy');
  });

  it('exit 3 when the host refuses the connection, naming host and port', async () => {
    const r = await medic(['diagnose', 'web-02', '--inventory', inventory, '--json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/SSH_CONNECTION_REFUSED/);
  });

  it('exit 3 when the host key is unknown, with the fingerprint to verify', async () => {
    const r = await medic(['diagnose', 'web-03', '--inventory', inventory]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/SSH_HOST_KEY_UNKNOWN/);
    expect(r.stderr).toMatch(/SHA256:/);
  });

  it('exit 2 for an unknown host, listing the hosts that exist', async () => {
    const r = await medic(['diagnose', 'web-99', '--inventory', inventory]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No host, group or pattern "web-99".*web-01, web-02, web-03/);
  });

  it('a group fans out: one table of hosts, verdicts and times; exit 3 because one host could not be reached', async () => {
    const r = await medic(['diagnose', 'web', '--inventory', inventory]);
    expect(r.code).toBe(3);
    // No terminal: no progress line.
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^HOST\s+VERDICT\s+TIME\s+DETAIL$/);
    const web01 = lines.find((l) => l.startsWith('web-01 '));
    const web02 = lines.find((l) => l.startsWith('web-02 '));
    expect(web01).toMatch(/^web-01\s+[a-z_0-9]+\s+\d+(\.\d)? m?s\s+\S/);
    expect(web01).not.toMatch(/unreachable/);
    expect(web02).toMatch(/^web-02\s+unreachable\s+.*SSH_CONNECTION_REFUSED/);
    expect(r.stdout).toMatch(/\n2 hosts in .*1 unreachable/);
  });

  it('a pattern with --json prints one JSON object per host (NDJSON): the single-host object, or host and error', async () => {
    const r = await medic(['diagnose', 'web-0*', '--inventory', inventory, '--json']);
    expect(r.code).toBe(3);
    const objects = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map((o) => o.host).sort()).toEqual(['web-01', 'web-02', 'web-03']);
    const byHost = new Map(objects.map((o) => [o.host, o]));
    expect(byHost.get('web-01')).toMatchObject({
      verdict: { cause: expect.any(String), title: expect.any(String) },
      findings: expect.any(Array),
      durationMs: expect.any(Number),
    });
    expect(byHost.get('web-02')).toMatchObject({ error: { code: 'SSH_CONNECTION_REFUSED', message: expect.stringContaining('refused') } });
    expect(byHost.get('web-03')).toMatchObject({ error: { code: 'SSH_HOST_KEY_UNKNOWN' } });
  });

  it('exit 0 when every host of the group was reached; a terminal gets a progress line on stderr', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      ['diagnose', 'reachable', '--inventory', inventory, '--json'],
      {},
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), interactive: true },
    );
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toMatchObject({ host: 'web-01' });
    expect(stderr).toContain('1/1 diagnosed');
  });

  it('--concurrency must be a whole number (exit 2)', async () => {
    const r = await medic(['diagnose', 'web', '--inventory', inventory, '--concurrency', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--concurrency/);
  });

  it('exit 2 for a missing or invalid inventory, naming the file and field', async () => {
    const missing = await medic(['diagnose', 'web-01', '--inventory', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/INVENTORY_NOT_FOUND/);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'hosts:\n  web-01: { address: "x; reboot", user: u, privateKeyPath: k, knownHostsPath: kh }\n');
    const invalid = await medic(['diagnose', 'web-01', '--inventory', bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(`${bad} is invalid`);
    expect(invalid.stderr).toMatch(/host web-01, field address/);
  });

  it('uses MEDIC_INVENTORY when --inventory is not given', async () => {
    const r = await medic(['hosts', '--json'], { MEDIC_INVENTORY: inventory });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).hosts.map((h: { name: string }) => h.name)).toEqual(['web-01', 'web-02', 'web-03']);
  });

  it('exit 2 on unknown options', async () => {
    const r = await medic(['diagnose', 'web-01', '--jsn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--jsn/);
  });
});

describe('medic remediate', () => {
  it('refuses to run without --yes when there is no terminal, and runs nothing', async () => {
    const r = await medic(['remediate', 'web-01', 'reload_php_fpm', '--inventory', inventory]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/NOT_CONFIRMED/);
  });
  it('refuses an unknown remediation id', async () => {
    const r = await medic(['remediate', 'web-01', 'restart_everything', '--inventory', inventory, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No remediation "restart_everything".*reload_php_fpm, start_php_fpm, reload_nginx/);
  });
  it('refuses a remediation that does not apply (php-fpm is not running here)', async () => {
    const r = await medic(['remediate', 'web-01', 'reload_php_fpm', '--inventory', inventory, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reload_php_fpm on web-01: php-fpm is not running, so it cannot be reloaded: use start_php_fpm/);
    expect(r.stderr).toMatch(/\(REMEDIATION_NOT_APPLICABLE\)/);
  });
});

describe('medic playbooks', () => {
  it('refuses a playbook folder holding a write command, naming the file and the check (exit 2)', async () => {
    const pbDir = join(dir, 'playbooks');
    await mkdir(pbDir, { recursive: true });
    await writeFile(
      join(pbDir, 'evil.yaml'),
      'name: evil\ntitle: Evil\nchecks:\n  - { id: wipe_logs, title: x, parse: raw, run: [find, /var/log/nginx, -delete] }\n',
    );
    const r = await medic(['playbooks'], { MEDIC_PLAYBOOKS_DIR: pbDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(pbDir, 'evil.yaml')}: check "wipe_logs" is not read-only`);
    expect(r.stdout).toBe('');
  });
});

describe('the bin as `medic` runs it (through its first line)', () => {
  const bin = join(process.cwd(), 'bin/medic.js');
  // Node warns at start-up, before any JavaScript, when NODE_EXTRA_CA_CERTS names a file it cannot load.
  const CA_WARNING = /Ignoring extra certs from/;

  it('starts Node without NODE_EXTRA_CA_CERTS for the commands that make no TLS connection, and keeps it for the rest', async () => {
    const withBadCa = { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'no-such-ca.pem') } };
    const hosts = await promisify(execFile)(bin, ['hosts', '--inventory', inventory], withBadCa);
    expect(hosts.stdout).toMatch(/^web-01 /m);
    expect(hosts.stderr).not.toMatch(CA_WARNING);
    const diagnosed = await promisify(execFile)(bin, ['diagnose', 'web-01', '--inventory', inventory, '--json'], withBadCa);
    expect(JSON.parse(diagnosed.stdout)).toMatchObject({ host: 'web-01' });
    expect(diagnosed.stderr).not.toMatch(CA_WARNING);
    // The bot talks to Slack over TLS: it keeps the variable (its --help starts the same Node).
    const bot = await promisify(execFile)(bin, ['start', '--help'], withBadCa);
    expect(bot.stdout).toMatch(/^Usage: medic start/);
    expect(bot.stderr).toMatch(CA_WARNING);
    // Node started by hand reads the file whatever the command: the warning above is Node's own.
    const byNode = await promisify(execFile)(process.execPath, [bin, 'hosts', '--inventory', inventory], withBadCa);
    expect(byNode.stderr).toMatch(CA_WARNING);
  });

  it('passes every argument through unchanged: spaces, quotes and shell syntax reach medic as text', async () => {
    const odd = join(dir, `in ventory "$(touch pwned)" ; \`id\` *.yaml`);
    await writeFile(odd, await readFile(inventory, 'utf8'));
    const { stdout } = await promisify(execFile)(bin, ['hosts', '--inventory', odd, '--json'], { cwd: dir });
    expect(JSON.parse(stdout)).toMatchObject({ hosts: expect.anything() });
    await expect(readFile(join(dir, 'pwned'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(promisify(execFile)(bin, ['diagnose', 'web-01;id', '--inventory', odd], { cwd: dir })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('web-01;id') as unknown,
    });
  });
});

describe('help', () => {
  it.each(['diagnose', 'remediate', 'hosts', 'playbooks', 'start', 'bot', 'worker'])('medic %s --help', async (cmd) => {
    const r = await medic([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: medic/);
  });

  it('the installed bin runs and lists the playbooks; on a fresh install (CI) it runs the precompiled dist/cli/', async () => {
    const bin = join(process.cwd(), 'bin/medic.js');
    const { stdout } = await promisify(execFile)(bin, ['playbooks']);
    // As many checks as the playbook file lists, whatever that number is today.
    const checks = (await readFile(join(process.cwd(), 'playbooks/nginx-502.yaml'), 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('  - id: ')).length;
    expect(stdout).toMatch(new RegExp(`^nginx-502 — Nginx 502/504 Bad Gateway \\(${checks} checks`));
    // The whole diagnose path through it: SSH, the playbook found from the package root, JSON out.
    const diagnosed = await promisify(execFile)(bin, ['diagnose', 'web-01', '--inventory', inventory, '--json']);
    expect(JSON.parse(diagnosed.stdout)).toMatchObject({ host: 'web-01', playbook: 'nginx-502', verdict: { cause: expect.any(String) } });
    // Exit codes survive the bin: an unknown host is 2.
    await expect(promisify(execFile)(bin, ['diagnose', 'web-99', '--inventory', inventory])).rejects.toMatchObject({ code: 2 });
    // `npm ci` built dist/cli/ after the checkout: every command-line test here ran that build.
    if (process.env.CI === 'true') expect(chooseEntry(new URL('../', import.meta.url)).kind).toBe('built');
  });
});
