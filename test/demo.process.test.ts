import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './helpers/slack.ts';
import { bundleForUser } from './helpers/bundle-for-user.ts';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const DEMO = join(ROOT, 'src/demo/main.ts');
const LAB_CLI = join(ROOT, 'src/lab/cli.ts');
const MEDIC = join(ROOT, 'bin/medic.js');

/** The environment of a fresh machine: nothing of ours configured. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REDIS_URL|SLACK_|MEDIC_|PORT$|LOG_)/.test(k)));
}

/** Every descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** What `ps` lists as running among `pids` (zombies awaiting their reaper do not count). */
function running(pids: number[]): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,stat=,args=', '-p', pids.join(',')], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^\s*\d+\s+Z/.test(l));
  } catch {
    return [];
  }
}

describe('npm run demo as a process', () => {
  let cwd: string;

  beforeAll(async () => {
    // A directory of its own, so that the demo's `.lab` link and `.env` are this test's.
    cwd = await mkdtemp(join(tmpdir(), 'medic-demo-cwd-'));
    await chmod(cwd, 0o755);
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('starts everything, says where to look, and stops on Ctrl-C leaving nothing running', async () => {
    const child: ChildProcess = spawn(TSX, [DEMO, '--port', '0', '--scenario', 'socket_mismatch'], {
      cwd,
      env: cleanEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const group = child.pid as number;
    try {
      await eventually(() => stdout.includes('Ctrl-C stops everything') || child.exitCode !== null, 60_000, 'the demo to start');
      expect(child.exitCode, stderr).toBeNull();
      expect(stdout).toContain('local mode');
      const page = /Open\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1] as string;
      const bot = /Bot\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] as string;
      expect(page).toBeDefined();
      expect(stdout).toContain('npx medic diagnose web-01 --inventory .lab/inventory.yaml');
      expect(stdout).toContain('sudo npm run lab -- scenario php_fpm_down');
      expect(stdout).toMatch(/broken as socket_mismatch/);

      const html = await (await fetch(page)).text();
      expect(html).toContain('id="composer"');
      expect((await fetch(`${bot}/readyz`)).status).toBe(200);

      // The printed commands work: the lab CLI finds the demo's lab through .lab, and medic diagnoses it.
      const status = await run(TSX, [LAB_CLI, 'status'], { cwd });
      expect(status.stdout).toContain('scenario socket_mismatch');
      const diagnosis = await run(process.execPath, [MEDIC, 'diagnose', 'web-01', '--inventory', '.lab/inventory.yaml', '--json'], {
        cwd,
        env: cleanEnv(),
      });
      expect(JSON.parse(diagnosis.stdout).verdict.cause).toBe('socket_mismatch');

      // Broken another way from the command line, the page follows.
      await run(TSX, [LAB_CLI, 'scenario', 'php_fpm_down'], { cwd });
      await eventually(
        async () => ((await (await fetch(`${page}api/state`)).json()) as { lab: { scenario: string } }).lab.scenario === 'php_fpm_down',
        5000,
        'the page to show the new scenario',
      );

      // Everything it runs: its own process tree (tsx, node, redis-server, sshd) and the lab's daemons.
      const labPids = [...status.stdout.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
      const labDir = /in (\/tmp\/medic-lab-[^,\s]+)/.exec(status.stdout)?.[1] as string;
      expect(labPids).toHaveLength(4);
      const pids = [group, ...descendants(group), ...labPids];
      expect(running(pids)).toContainEqual(expect.stringContaining('redis-server'));

      process.kill(-group, 'SIGINT'); // what Ctrl-C does: the whole foreground group gets it
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toContain('Stopped:');
      await eventually(() => running(pids).length === 0, 5000, `nothing left running (${running(pids).join('; ')})`);
      expect(existsSync(join(cwd, '.lab'))).toBe(false);
      expect(existsSync(labDir)).toBe(false);
      expect(readdirSync('/etc/sudoers.d').filter((f) => readFileSync(join('/etc/sudoers.d', f), 'utf8').includes(labDir))).toEqual([]);
    } finally {
      if (child.exitCode === null) {
        process.kill(-group, 'SIGKILL');
        await exited;
      }
    }
  });

  it('refuses to run without root, saying why and what to run', async () => {
    // As nobody, from a bundle outside the checkout: nobody may not enter a checkout under /root.
    const bundle = await bundleForUser(DEMO);
    const r = await run('/usr/sbin/runuser', ['-u', 'nobody', '--', process.execPath, bundle.file], {
      cwd,
      env: { ...cleanEnv(), HOME: cwd },
    })
      .catch((e: { code: number; stdout: string; stderr: string }) => e)
      .finally(() => bundle.remove());
    expect('code' in r ? r.code : 0).toBe(1);
    expect(r.stderr).toContain('The demo needs root');
    expect(r.stderr).toContain('sudo npm run demo');
  });

  it('names a bad variable of .env and exits 2 before starting anything', async () => {
    await writeFile(join(cwd, '.env'), 'MEDIC_WORKER_CONCURRENCY=lots\nMEDIC_APPROVERS=@alice\n');
    try {
      const r = await run(TSX, [DEMO], { cwd, env: cleanEnv() }).catch((e: { code: number; stdout: string; stderr: string }) => e);
      expect('code' in r ? r.code : 0).toBe(2);
      expect(r.stderr).toContain('MEDIC_WORKER_CONCURRENCY: "lots" is not a whole number');
      expect(r.stderr).toContain('MEDIC_APPROVERS: "@alice" is neither');
      expect(r.stdout).not.toContain('Starting');
    } finally {
      await rm(join(cwd, '.env'), { force: true });
    }
  });

  it('explains its options, and refuses an unknown scenario with the list', async () => {
    const help = await run(TSX, [DEMO, '--help'], { cwd, env: cleanEnv() });
    expect(help.stdout).toContain('--scenario NAME');
    expect(help.stdout).toContain('Ctrl-C stops everything');
    const bad = await run(TSX, [DEMO, '--scenario', 'on_fire'], { cwd, env: cleanEnv() }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect('code' in bad ? bad.code : 0).toBe(2);
    expect(bad.stderr).toContain('No scenario "on_fire"');
    expect(bad.stderr).toContain('php_fpm_down');
  });
});
