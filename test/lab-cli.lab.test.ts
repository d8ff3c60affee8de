import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { readLabState, type LabState } from '../src/lab/lab-state.ts';
import { isAlive, readPidFile } from '../src/lab/pids.ts';
import { sudoersPath } from '../src/lab/sudoers.ts';
import { lookupUser } from '../src/lab/lab-users.ts';
import { bundleForUser } from './helpers/bundle-for-user.ts';

const run = promisify(execFile);
const TSX = resolve('node_modules/.bin/tsx');
const CLI = resolve('src/lab/cli.ts');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run lab -- …` is `tsx src/lab/cli.ts …`; run it in a scratch directory so that its `.lab/` is ours. */
async function lab(cwd: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, ...args], { cwd, timeout: 90_000, ...options });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('npm run lab -- up | scenario | status | down', () => {
  let cwd: string;
  let state: LabState | undefined;

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'medic-lab-cli-'));
  });

  afterAll(async () => {
    // Whatever a failed assertion left running: the CLI's own down, by pid.
    if (existsSync(join(cwd, '.lab', 'state.json'))) await lab(cwd, ['down']);
    // This scratch directory is 0700, so the lab went to /tmp behind a `.lab` link (the lab's users must reach it).
    const target = await readlink(join(cwd, '.lab')).catch(() => undefined);
    if (target !== undefined) await rm(target, { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
  });

  it('--help lists the commands and every scenario', async () => {
    const r = await lab(cwd, ['--help']);
    expect(r.code).toBe(0);
    for (const word of ['up', 'down', 'status', 'scenario NAME', 'php_fpm_down', 'oom_killed', 'memory_overcommit', 'Needs root']) {
      expect(r.stdout).toContain(word);
    }
  });

  it('refuses to run without root, and says so', async () => {
    const web = await lookupUser('nobody');
    if (web === undefined) throw new Error('no user nobody on this machine');
    // As nobody, from a bundle outside the checkout: nobody may not enter a checkout under /root.
    const bundle = await bundleForUser(CLI);
    const r = await run(process.execPath, [bundle.file, 'status'], { cwd: '/tmp', timeout: 90_000, uid: web.uid, gid: web.gid })
      .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
      .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }))
      .finally(() => bundle.remove());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs root.*sudo npm run lab -- status/s);
  });

  it('up starts the lab in .lab/, prints the inventory and how to diagnose', async () => {
    const r = await lab(cwd, ['up']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('inventory: .lab/inventory.yaml');
    expect(r.stdout).toContain('npx medic diagnose web-01 --inventory .lab/inventory.yaml');
    state = await readLabState(join(cwd, '.lab', 'state.json'));
    const inventory = parseInventory(await readFile(join(cwd, '.lab', 'inventory.yaml'), 'utf8'), 'inventory.yaml');
    expect(inventory.hosts['web-01']?.port).toBe(state.sshd.port);
    expect(existsSync(sudoersPath(state.id))).toBe(true);
    // Everything outlives the command that started it.
    for (const pidFile of ['nginx.pid', 'php8.2-fpm.pid', 'backend.pid']) {
      const pid = await readPidFile(join(cwd, '.lab', 'run', pidFile));
      expect(pid !== undefined && isAlive(pid), pidFile).toBe(true);
    }
    expect(isAlive(state.sshd.pid)).toBe(true);
  });

  it('scenario with a bad name lists the names', async () => {
    const r = await lab(cwd, ['scenario', 'php_fpm_dwn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No scenario "php_fpm_dwn". Scenarios: healthy, php_fpm_down, socket_mismatch');
  });

  it('scenario php_fpm_down stops php-fpm and shows the line nginx wrote', async () => {
    const r = await lab(cwd, ['scenario', 'php_fpm_down']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('GET /: 3× 502');
    expect(r.stdout).toMatch(/connect\(\) to unix:\S+php8\.2-fpm\.sock failed \(2: No such file or directory\)/);
    expect(r.stdout).toContain('Expected verdict: php_fpm_down');
    const status = await lab(cwd, ['status']);
    expect(status.stdout).toMatch(/scenario php_fpm_down/);
    expect(status.stdout).toMatch(/php-fpm\s+stopped/);
    expect(status.stdout).toMatch(/nginx\s+pid \d+/);
  });

  it('down stops everything by pid and removes the sudo rule', async () => {
    if (state === undefined) throw new Error('up did not run');
    const nginx = await readPidFile(join(cwd, '.lab', 'run', 'nginx.pid'));
    const r = await lab(cwd, ['down']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('The lab is down');
    expect(existsSync(sudoersPath(state.id))).toBe(false);
    expect(nginx !== undefined && isAlive(nginx)).toBe(false);
    expect(isAlive(state.sshd.pid)).toBe(false);
    if (state.daemonPid !== undefined) expect(isAlive(state.daemonPid)).toBe(false);
    expect((await lab(cwd, ['status'])).stdout).toContain('No lab runs here');
  });
});
