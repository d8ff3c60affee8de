import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import type { Diagnosis, Finding } from '../src/core/finding.ts';
import { renderFinding } from '../src/core/report/render-finding.ts';
import { renderRoot } from '../src/core/report/render-root.ts';
import { renderJson } from '../src/core/report/render-json.ts';
import { renderTerminal } from '../src/core/report/render-terminal.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { parsePlaybook } from '../src/core/playbook/parse-playbook.ts';
import type { Playbook } from '../src/core/playbook/playbook-schema.ts';
import { shellQuote } from '../src/core/playbook/shell-quote.ts';
import { diagnoseHost, diagnoseHostDetailed } from '../src/jobs/diagnose-host.ts';
import type { CommandRunner, JobDeps, TargetHost } from '../src/jobs/ports.ts';
import { remediateHost } from '../src/jobs/remediate-host.ts';
import { existsSync } from 'node:fs';
import { intruderLayout } from '../src/lab/intruders.ts';
import { containerLayout } from '../src/lab/containers.ts';
import { checkReadOnly, SYSTEM_PROGRAM_DIRS } from '../src/core/playbook/allowlist.ts';
import type { Lab } from '../src/lab/lab.ts';
import { isAlive, livePid, readPidFile } from '../src/lab/pids.ts';
import { stopFpm } from '../src/lab/services.ts';
import { FPM_BINARY } from '../src/lab/lab-layout.ts';
import { overcommitLimitMb } from '../src/lab/render-configs.ts';
import { SCENARIOS, type ScenarioName } from '../src/lab/scenarios.ts';
import { LAB_HOST, startLab } from '../src/lab/start-lab.ts';
import { trafficKey } from '../src/lab/traffic.ts';

/**
 * The commands in one command line sent to sshd: a command alone, or a batch (commands framed by
 * fixed `printf` markers, joined by `;`). Words are split as a POSIX shell would: single quotes,
 * double quotes, backslashes; `>&2` is the markers' redirection. The markers are left out.
 */
function commandsOf(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  const end = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === "'") {
      const close = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (ch === '"') {
      const close = line.indexOf('"', i + 1);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (ch === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i++;
    } else if (ch === ' ' || ch === '\n') end();
    else if (ch === ';') {
      end();
      commands.push(words);
      words = [];
    } else word = (word ?? '') + ch;
  }
  end();
  if (words.length > 0) commands.push(words);
  return commands
    .filter((w) => w.length > 0 && w[0] !== 'printf')
    .map((w) => (w[0] === 'sudo' && w[1] === '-n' && w[2] === '--' ? w.slice(3) : w));
}

/** The test names say what is real: the OOM scenario's kernel line is a recording, replayed with the time set to now. */
const title = (name: ScenarioName): string =>
  name === 'oom_killed'
    ? 'oom_killed: php-fpm SIGKILLed by pid + a RECORDED real kernel OOM line (timestamp set to now) in the lab kernel log'
    : `${name}: ${SCENARIOS.get(name)?.summary ?? ''}`;

const describeDiagnosis = (d: Diagnosis): string =>
  JSON.stringify(
    { verdict: d.verdict, findings: d.findings.map((f) => ({ cause: f.cause, evidence: f.evidence })), gaps: d.gaps },
    null,
    2,
  );

describe('the 502 lab: medic diagnoses every scenario on real nginx, php-fpm and sshd', () => {
  let lab: Lab;
  let host: TargetHost;
  let playbook: Playbook;
  let deps: JobDeps;
  let runner: CommandRunner;

  beforeAll(async () => {
    // Host keys like a stock server's (RSA, ECDSA, Ed25519): every scenario is read over an sshd
    // that loads and announces several, as real hosts do, not only the Ed25519 key other labs get.
    lab = await startLab({ stockHostKeys: true });
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    host = { ...(inventory.hosts[LAB_HOST] as NonNullable<(typeof inventory.hosts)[string]>), name: LAB_HOST };
    playbook = parsePlaybook(await readFile('playbooks/nginx-502.yaml', 'utf8'), 'playbooks/nginx-502.yaml');
    deps = { connector: new SshConnector(), logger: pino({ level: 'silent' }), now: () => new Date() };
    runner = await deps.connector.connect(host);
  });

  afterAll(async () => {
    await runner?.close();
    await lab?.stop({ removeDir: true });
  });

  for (const [name, spec] of SCENARIOS) {
    it(title(name), async () => {
      const outcome = await lab.applyScenario(name);
      for (const batch of spec.traffic)
        expect(Object.keys(outcome.traffic[trafficKey(batch)] ?? {})).toEqual([String(batch.status ?? spec.status)]);
      // The login user sees the very lines the servers wrote, over SSH.
      for (const [i, e] of spec.expect.entries()) {
        const r = await runner.run(shellQuote(['tail', '-n', '3000', lab.logPath(e.log)]), { timeoutMs: 10_000 });
        expect(r.stdout.split('\n')).toContain(outcome.lines[i]);
      }

      const diagnosis = await diagnoseHost({ host, playbook }, deps);
      expect(diagnosis.verdict.cause, describeDiagnosis(diagnosis)).toBe(spec.cause);
      expect(diagnosis.incomplete, describeDiagnosis(diagnosis)).toBe(false);
      const evidence = diagnosis.findings[0]?.evidence ?? [];
      for (const line of evidenceLines(name, outcome.lines)) {
        expect(evidence, `evidence holds ${line}\n${describeDiagnosis(diagnosis)}`).toContainEqual(expect.stringContaining(line));
      }
    });
  }

  it("the lab host's sshd has a stock server's three host keys, and the diagnoses below run over it", async () => {
    const config = await readFile(`${lab.dir}/ssh/sshd_config`, 'utf8');
    const keys = config.split('\n').filter((l) => /^HostKey\s/.test(l));
    expect(keys.map((l) => /ssh_host_(\w+)_key$/.exec(l)?.[1]).sort()).toEqual(['ecdsa', 'ed25519', 'rsa']);
    const types = await Promise.all(keys.map(async (l) => (await readFile(`${l.slice('HostKey '.length)}.pub`, 'utf8')).split(' ')[0]));
    expect(types.sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    expect((await runner.run('echo ok', { timeoutMs: 10_000, readOnly: true })).stdout.trim()).toBe('ok');
  });

  it('vhost_tls_upstream_down: the broken TLS vhost is named in the verdict, its own log line is the evidence, its probe over TLS got the 502 and the fine vhost a 200; every report names it', async () => {
    const outcome = await lab.applyScenario('vhost_tls_upstream_down');
    const shopPort = lab.snapshot.shop?.tlsPort;
    const { diagnosis, results } = await diagnoseHostDetailed({ host, playbook }, deps);
    const d = describeDiagnosis(diagnosis);
    expect(diagnosis.verdict.cause, d).toBe('proxy_upstream_down');
    expect(diagnosis.verdict.title, d).toMatch(/\(vhost shop\.lab\.test\)$/);
    expect(diagnosis.findings[0]?.vhosts, d).toEqual(['shop.lab.test']);
    expect(diagnosis.findings[0]?.evidence, d).toContain(`[vhost shop.lab.test] ${outcome.lines[0]}`);
    expect(diagnosis.findings, d).not.toContainEqual(expect.objectContaining({ cause: 'healthy' }));
    // Both vhosts were probed by name, each over its own scheme and port, and the shop's log was read.
    const checks = diagnosis.checks.map((c) => `${c.id} ${c.status}`);
    expect(checks, d).toEqual(
      expect.arrayContaining(['vhost_probe web-01 ok', 'vhost_probe shop.lab.test ok', `nginx_error_log ${lab.layout.shopErrorLog} ok`]),
    );
    expect(diagnosis.facts, d).toMatchObject({
      nginx: {
        vhosts: [
          { server: 'web-01', url: `http://web-01:${lab.nginxPort}/` },
          { server: 'shop.lab.test', url: `https://shop.lab.test:${shopPort}/` },
        ],
      },
    });
    // The TLS vhost answered its own 502 (not a 400 for plain HTTP on a TLS port), the first one 200.
    const probeOf = (server: string): string => results.find((r) => r.id === 'vhost_probe' && r.subject === server)?.stdout ?? '';
    expect(probeOf('shop.lab.test')).toMatch(/^http_code=502 /);
    expect(probeOf('web-01')).toMatch(/^http_code=200 /);
    expect(results.find((r) => r.subject === 'shop.lab.test')?.command).toContain(`--resolve shop.lab.test:${shopPort}:127.0.0.1`);

    // Every report names the vhost: Slack's root message and finding, the terminal, the JSON.
    const slack = JSON.stringify([
      renderRoot({
        host: LAB_HOST,
        status: 'done',
        requestedBy: { kind: 'user', userId: 'U0ALICE' },
        requestedAt: diagnosis.startedAt,
        diagnosis,
        joiners: [],
        notes: [],
      }),
      renderFinding({ host: LAB_HOST, index: 0, total: diagnosis.findings.length, finding: diagnosis.findings[0] as Finding, buttons: [] }),
    ]);
    expect(slack).toContain('vhost shop.lab.test');
    expect(renderTerminal(diagnosis, { color: false })).toContain('(vhost shop.lab.test)');
    expect((JSON.parse(renderJson(diagnosis)) as { verdict: { title: string } }).verdict.title).toContain('shop.lab.test');
  });

  /** What the verdict's evidence must quote: the scenario's first real log line, or for the causes without one what the host says. */
  function evidenceLines(name: ScenarioName, lines: string[]): string[] {
    if (SCENARIOS.get(name)?.cause === 'healthy') return ['http_code=200'];
    if (name === 'upstream_dns_static') {
      // The config line itself: nothing failed, the warning rests on what nginx -T says.
      const hosts = lab.snapshot.loopbackName;
      return [`${lab.layout.nginxConf}: proxy_pass http://${hosts?.name ?? '<no name>'}:${lab.snapshot.backendPort};`];
    }
    // The status page under the held requests: 4 busy of pm.max_children 5, and the pool's own line.
    if (name === 'pool_near_limit') return ['active processes:', `${lab.layout.fpmPoolConf}: pm.max_children = 5`, '4 others are busy'];
    // The timeout's own line, and the script's stack from the slow log (its innermost frame).
    if (name === 'slowlog_timeout') return [lines[0] as string, (lines[2] as string).replace(/^\[0x[0-9a-f]+\] /, '')];
    if (name === 'memory_overcommit') {
      const limit = overcommitLimitMb(lab.snapshot.memTotalBytes, 64);
      return [`${lab.layout.fpmPoolConf}: pm.max_children = 64`, `${lab.layout.fpmPoolConf}: php_admin_value[memory_limit] = ${limit}M`];
    }
    return [lines[0] as string];
  }

  it('fake_masters: look-alike masters of an unprivileged user are reported, never run or read, and the verdict and its remediation stay right', async () => {
    await lab.applyScenario('fake_masters');
    const intruder = intruderLayout(lab.layout);
    const pids = await Promise.all(intruder.pidFiles.map((f) => readPidFile(f)));
    const { diagnosis, results } = await diagnoseHostDetailed({ host, playbook }, deps);
    expect(diagnosis.verdict.cause, describeDiagnosis(diagnosis)).toBe('php_fpm_down');
    expect(diagnosis.findings[0]?.remediations).toEqual(['start_php_fpm']);
    // Other labs on this machine may plant look-alikes of their own: look at this lab's two.
    const ours = (diagnosis.untrustedMasters ?? []).filter((u) => pids.includes(u.pid));
    expect(ours.map((u) => [u.pid, u.user, u.status])).toEqual(pids.map((pid) => [pid, lab.snapshot.webUser, 'suspicious']));
    expect(ours[0]?.why).toMatch(/^looks like an nginx master but is owned by medic-web \(uid \d+\), not root/);
    // The real nginx config was read with the system nginx, and nothing the intruder named was run.
    const nginxConfig = results.find((r) => r.id === 'nginx_config');
    expect(nginxConfig?.status).toBe('ok');
    expect(nginxConfig?.command).toBe(shellQuote(['/usr/sbin/nginx', '-T', '-c', lab.layout.nginxConf]));
    for (const r of results) expect(r.command).not.toContain(intruder.dir);
    expect(existsSync(intruder.marker)).toBe(false);

    // The look-alike php-fpm master does not block starting the real one.
    const outcome = await remediateHost({ host, playbook, remediation: 'start_php_fpm' }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
    expect(existsSync(intruder.marker)).toBe(false);
  });

  it("container_masters: as the unprivileged login user, a master in another mount namespace and one in a docker-like cgroup are reported as containers' and only their place is read", async () => {
    await lab.applyScenario('container_masters');
    const c = containerLayout(lab.layout);
    const nginxPid = await livePid(c.nginxPidFile);
    const fpmPid = await livePid(c.fpm.fpmPidFile);
    const ownNginx = await livePid(lab.layout.nginxPidFile);
    const ownFpm = await livePid(lab.layout.fpmPidFile);
    if (nginxPid === undefined || fpmPid === undefined) throw new Error('the containers’ masters run in container_masters');
    // The diagnosis logs in as the lab's unprivileged user, without sudo.
    expect(host.user).toBe(lab.loginUser);
    expect(host.sudo).toBe(false);

    const { diagnosis, results, discovery } = await diagnoseHostDetailed({ host, playbook }, deps);
    const d = describeDiagnosis(diagnosis);
    expect(diagnosis.verdict.cause, d).toBe('healthy');
    // ps could not read root's namespaces for this user: the cgroup and the mounts told.
    expect(discovery.picture.processes.find((r) => r.pid === nginxPid)?.mntns).toBeUndefined();
    const ours = (diagnosis.untrustedMasters ?? []).filter((u) => u.pid === nginxPid || u.pid === fpmPid).sort((a, b) => a.pid - b.pid);
    expect(
      ours.map((u) => [u.pid, u.user, u.status]),
      d,
    ).toEqual(
      [
        [nginxPid, 'root', 'container'],
        [fpmPid, 'root', 'container'],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
    const why = (pid: number): string => ours.find((u) => u.pid === pid)?.why ?? '';
    expect(why(nginxPid)).toMatch(
      /^nginx in a container: its paths are not this host's, so nothing of it is read \(another mount namespace, whose \/ is overlay \d+:\d+\)$/,
    );
    expect(why(fpmPid)).toMatch(
      new RegExp(
        `^php-fpm in a container: its paths are not this host's, so nothing of it is read \\(docker cgroup \\S*/medic-lab-${lab.id}/docker/[0-9a-f]{64}\\)$`,
      ),
    );
    // The container nginx's title names the lab's own nginx.conf, and it sorts first: the lab's masters are still the ones used.
    expect(discovery.facts.nginx?.pid).toBe(ownNginx);
    expect(discovery.facts.fpm?.pid).toBe(ownFpm);
    // Of the containers' masters, only where they run was read: their cgroup and mounts, nothing through their paths.
    for (const pid of [nginxPid, fpmPid]) {
      expect(
        results
          .filter((r) => r.command.includes(`/proc/${pid}/`))
          .map((r) => r.id)
          .sort(),
      ).toEqual(['master_cgroup', 'master_mounts']);
    }
    for (const r of results) expect(r.command).not.toContain(c.dir);

    // Unpinned, they make no stack of their own.
    const unpinned: TargetHost = { ...host, facts: { kernel: { log: lab.layout.kernelLog } } };
    const u = await diagnoseHostDetailed({ host: unpinned, playbook }, deps);
    const trusted = [...u.discovery.picture.trustedMasters.nginx, ...u.discovery.picture.trustedMasters.fpm].map((m) => m.pid);
    expect(trusted).not.toContain(nginxPid);
    expect(trusted).not.toContain(fpmPid);
    expect(JSON.stringify(u.diagnosis.findings.map((f) => f.stack ?? ''))).not.toContain(c.dir);
  });

  it('hostile_host: one unpinned diagnosis of look-alike masters, two containers, a broken second stack and a broken TLS vhost gets each verdict right and runs only allowlisted programs of fixed places', async () => {
    await lab.applyScenario('hostile_host');
    const intruder = intruderLayout(lab.layout);
    const second = lab.secondLayout;
    const c = containerLayout(lab.layout);
    const unpinned: TargetHost = { ...host, facts: { kernel: { log: lab.layout.kernelLog } } };
    // Every command line that goes to sshd, recorded as sent.
    const sent: string[] = [];
    const connection = await deps.connector.connect(unpinned);
    const recording: CommandRunner = {
      run: (command, options) => (sent.push(command), connection.run(command, options)),
      close: () => connection.close(),
    };
    let outcome;
    try {
      outcome = await diagnoseHostDetailed({ host: unpinned, playbook }, deps, recording);
    } finally {
      await connection.close();
    }
    const { diagnosis, results } = outcome;
    const d = describeDiagnosis(diagnosis);
    // Each stack by its key (its nginx config): its label also names the backends it reaches.
    const stackOf = (key: string): Finding[] => diagnosis.findings.filter((f) => f.stackKey === key);
    // The broken second stack: php-fpm down, with its own nginx's evidence.
    expect(
      stackOf(second.nginxConf).map((f) => f.cause),
      d,
    ).toEqual(['php_fpm_down']);
    // The lab's own stack: its TLS vhost's backend is down, web-01 is fine; never "healthy".
    const own = stackOf(lab.layout.nginxConf);
    expect(own[0]?.cause, d).toBe('proxy_upstream_down');
    expect(own[0]?.vhosts, d).toEqual(['shop.lab.test']);
    expect(
      own.some((f) => f.cause === 'healthy'),
      d,
    ).toBe(false);
    expect(diagnosis.verdict.cause, d).not.toBe('healthy');
    expect(diagnosis.findings[0]?.severity).toBe('critical');
    // The look-alikes are suspicious, the containers' masters containers'; none is a stack.
    const intruderPids = await Promise.all(intruder.pidFiles.map((f) => readPidFile(f)));
    const containerPids = [await livePid(c.nginxPidFile), await livePid(c.fpm.fpmPidFile)];
    const status = new Map((diagnosis.untrustedMasters ?? []).map((m) => [m.pid, m.status]));
    expect(
      intruderPids.map((p) => status.get(p as number)),
      d,
    ).toEqual(['suspicious', 'suspicious']);
    expect(
      containerPids.map((p) => status.get(p as number)),
      d,
    ).toEqual(['container', 'container']);
    // Other labs on this machine may run stacks of their own; none of these two planted ones is a stack.
    expect(diagnosis.findings.some((f) => f.stack?.includes(c.dir) === true || f.stack?.includes(intruder.dir) === true)).toBe(false);

    // Nothing it discovered ran: the marker the look-alike's program would leave is absent, and
    // every command that went to sshd is an allowlisted program, by name or from a system folder.
    expect(existsSync(intruder.marker)).toBe(false);
    expect(sent.length).toBeGreaterThan(0);
    const argvs = sent.flatMap(commandsOf);
    expect(argvs.length).toBeGreaterThanOrEqual(results.filter((r) => r.command !== '').length);
    for (const argv of argvs) {
      const program = argv[0] as string;
      expect(program.includes('/') ? SYSTEM_PROGRAM_DIRS.includes(program.slice(0, program.lastIndexOf('/'))) : true, program).toBe(true);
      expect(checkReadOnly(argv), argv.join(' ')).toBeNull();
      expect(argv.join(' ')).not.toContain(intruder.dir);
      expect(argv.join(' ')).not.toContain(c.dir);
    }
    // The recorded results are those same commands.
    for (const r of results.filter((x) => x.command !== ''))
      expect(
        sent.some((line) => line.includes(r.command)),
        r.command,
      ).toBe(true);
  });

  /**
   * This lab's stack as its findings name it: its nginx, its php-fpm, and the Node backend its
   * /api/ reaches. The lab's login user runs `ss -p` without sudo, which shows where something
   * listens but not another user's process: the backend is "backend", not "node".
   */
  const ownStack = (): string =>
    `nginx ${lab.layout.nginxConf} + php-fpm ${lab.layout.fpmConf} + backend at 127.0.0.1:${lab.snapshot.backendPort}`;
  /** The inventory without the facts that pin the lab's own stack (and its probe URL). */
  const unpinned = (fpm: NonNullable<TargetHost['facts']['fpm']> = {}): TargetHost => ({
    ...host,
    facts: { kernel: { log: lab.layout.kernelLog }, fpm },
  });
  /** The lab's php-fpm start command and binary: they name the lab's php-fpm config, so they hold for its stack alone. */
  const startFacts = (): NonNullable<TargetHost['facts']['fpm']> => ({
    binary: host.facts.fpm?.binary,
    startCommand: host.facts.fpm?.startCommand,
  });

  for (const order of ['first', 'last'] as const) {
    it(`two_stacks_broken_${order}: unpinned, each nginx is paired with its own php-fpm; the broken stack is the verdict, the healthy one is reported healthy, no button`, async () => {
      await lab.applyScenario(`two_stacks_broken_${order}`);
      const second = lab.secondLayout;
      const d = await diagnoseHost({ host: unpinned(), playbook }, deps);
      // Other labs may run on this machine too (each a stack of its own): look at this lab's two.
      const broken = d.findings.filter((f) => f.stackKey === second.nginxConf);
      const own = d.findings.filter((f) => f.stackKey === lab.layout.nginxConf);
      expect(
        broken.map((f) => f.cause),
        describeDiagnosis(d),
      ).toEqual(['php_fpm_down']);
      // Its php-fpm is down: no php-fpm is lent to it, though the lab's runs.
      expect(broken[0]?.stack).toBe(`nginx ${second.nginxConf} + backend at 127.0.0.1:${lab.snapshot.backendPort}`);
      expect(broken[0]?.title).toMatch(new RegExp(`^nginx ${second.nginxConf} \\+ backend at [^:]+:\\d+: PHP-FPM is not running`));
      expect(broken[0]?.evidence.join('\n')).toContain(`connect() to unix:${second.fpmSocket} failed (2: No such file or directory)`);
      expect(
        own.map((f) => f.cause),
        describeDiagnosis(d),
      ).toEqual(['healthy']);
      expect(own[0]?.stack).toBe(ownStack());
      // The verdict is the worst current finding of any stack, so never healthy here.
      expect(d.verdict.cause).not.toBe('healthy');
      expect(d.findings[0]?.severity).toBe('critical');
      // Which php-fpm to start for the broken stack is not known from the host: no button, and remediate refuses.
      expect([...broken, ...own].flatMap((f) => f.remediations)).toEqual([]);
      expect(broken[0]?.nextSteps.join('\n')).toMatch(/start_php_fpm: no php-fpm of this stack runs/);
      await expect(remediateHost({ host: unpinned(), playbook, remediation: 'start_php_fpm' }, deps)).rejects.toThrow(
        /several stacks run on this host/,
      );
      await expect(
        remediateHost({ host: unpinned(), playbook, remediation: 'start_php_fpm', stack: second.nginxConf }, deps),
      ).rejects.toThrow(/no php-fpm of this stack runs/);

      // Only the broken stack's php-fpm config pinned (it is down): the nginx passing to the pools
      // that config declares is the stack, and starting that php-fpm is offered.
      const fpmPin = { conf: second.fpmConf, binary: FPM_BINARY, startCommand: [FPM_BINARY, '--fpm-config', second.fpmConf] };
      const byFpm = await diagnoseHost({ host: unpinned(fpmPin), playbook }, deps);
      expect(
        byFpm.findings.map((f) => [f.cause, f.stackKey, f.remediations]),
        describeDiagnosis(byFpm),
      ).toEqual([['php_fpm_down', second.nginxConf, ['start_php_fpm']]]);

      // Pinned by the inventory, the lab's own (healthy) stack is the one diagnosed.
      const pinned = await diagnoseHost({ host, playbook }, deps);
      expect(pinned.verdict.cause, describeDiagnosis(pinned)).toBe('healthy');
    });
  }

  it('stray_fpm_beside_stack: one nginx and two php-fpm masters; a pin of either side selects the paired stack, whose button acts on its own php-fpm and never the stray', async () => {
    await lab.applyScenario('stray_fpm_beside_stack');
    const stray = await livePid(lab.secondLayout.fpmPidFile);
    const own = await livePid(lab.layout.fpmPidFile);
    if (stray === undefined || own === undefined) throw new Error('both php-fpm masters run in stray_fpm_beside_stack');
    const { nginx, fpm, ...rest } = host.facts;
    // Only nginx.conf pinned: the php-fpm is the one whose pool nginx reaches, not the first in ps.
    const nginxPinned = await diagnoseHost(
      { host: { ...host, facts: { ...rest, ...(nginx === undefined ? {} : { nginx }), fpm: startFacts() } }, playbook },
      deps,
    );
    expect(nginxPinned.verdict.cause, describeDiagnosis(nginxPinned)).toBe('socket_permission');
    expect(nginxPinned.findings.map((f) => f.stack)).toEqual([ownStack()]);
    expect(nginxPinned.findings[0]?.remediations).toEqual(['restart_php_fpm']);
    // Only fpm.conf pinned: the nginx is the one that passes requests to its pool.
    const fpmPinned = await diagnoseHost({ host: { ...host, facts: { ...rest, ...(fpm === undefined ? {} : { fpm }) } }, playbook }, deps);
    expect(fpmPinned.verdict.cause, describeDiagnosis(fpmPinned)).toBe('socket_permission');
    expect(fpmPinned.findings.map((f) => f.stack)).toEqual([ownStack()]);
    expect(fpmPinned.findings[0]?.remediations).toEqual(['restart_php_fpm']);

    // Unpinned (other labs may add stacks of their own): the lab's finding keeps its button and names its stack.
    const d = await diagnoseHost({ host: unpinned(startFacts()), playbook }, deps);
    const ours = d.findings.filter((f) => f.stackKey === lab.layout.nginxConf);
    expect(
      ours.map((f) => [f.cause, f.stack, f.remediations]),
      describeDiagnosis(d),
    ).toEqual([['socket_permission', ownStack(), ['restart_php_fpm']]]);
    // The stray php-fpm is in no stack.
    expect(d.findings.some((f) => f.stack?.includes(lab.secondLayout.fpmConf) === true)).toBe(false);

    await lab.repair('pool');
    const outcome = await remediateHost(
      {
        host: unpinned(startFacts()),
        playbook,
        remediation: 'restart_php_fpm',
        ...(ours[0]?.stackKey === undefined ? {} : { stack: ours[0].stackKey }),
      },
      deps,
    );
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.stack).toBe(ownStack());
    expect(outcome.steps.map((s) => s.command)).toEqual([
      `sudo -n -- kill -TERM ${own}`,
      shellQuote(['sudo', '-n', '--', '/usr/sbin/php-fpm8.2', '--fpm-config', lab.layout.fpmConf]),
    ]);
    expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
    expect(outcome.stillFailing).toBeUndefined();
    // The stray master was not touched.
    expect(isAlive(stray)).toBe(true);
    expect(await livePid(lab.secondLayout.fpmPidFile)).toBe(stray);
    expect(await livePid(lab.layout.fpmPidFile)).not.toBe(own);
  });

  it("proxy_stack_beside_php: unpinned, each nginx's proxy_pass is paired with the process listening there; the proxy stack's dead backend is never the php stack's Node", async () => {
    await lab.applyScenario('proxy_stack_beside_php');
    const second = lab.secondLayout;
    const { diagnosis: d } = await diagnoseHostDetailed({ host: unpinned(), playbook }, deps);
    const proxy = d.findings.filter((f) => f.stackKey === second.nginxConf);
    const own = d.findings.filter((f) => f.stackKey === lab.layout.nginxConf);
    expect(
      proxy.map((f) => [f.cause, f.stack]),
      describeDiagnosis(d),
    ).toEqual([['proxy_upstream_down', `nginx ${second.nginxConf}`]]);
    expect(
      own.map((f) => [f.cause, f.stack]),
      describeDiagnosis(d),
    ).toEqual([['healthy', ownStack()]]);
    expect(d.verdict.cause).not.toBe('healthy');
    type StackSummary = { key: string; backends: { pass: string; listening?: boolean; process?: string }[] };
    const stacks = (d.facts as { stacks: StackSummary[] }).stacks;
    const proxyBackends = stacks.find((s) => s.key === second.nginxConf)?.backends;
    expect(proxyBackends).toHaveLength(1);
    expect(proxyBackends?.[0]).toEqual({ pass: expect.stringMatching(/^proxy_pass http:\/\/127\.0\.0\.1:\d+$/), listening: false });
    expect(stacks.find((s) => s.key === lab.layout.nginxConf)?.backends).toEqual([
      { pass: `proxy_pass http://127.0.0.1:${lab.snapshot.backendPort}`, listening: true },
    ]);
  });

  it('vhost_tls_upstream_down with php-fpm stopped: start_php_fpm brings web-01 back, and the verification says the shop vhost still fails', async () => {
    await lab.applyScenario('vhost_tls_upstream_down');
    await stopFpm(lab.layout);
    const outcome = await remediateHost({ host, playbook, remediation: 'start_php_fpm', verifyWithinMs: 2000 }, deps);
    expect(outcome.ok, outcome.error).toBe(true);
    expect(outcome.probeStatus).toBe(200);
    expect(outcome.recovered).toBe(false);
    expect(outcome.stillFailing).toEqual(['shop.lab.test (HTTP 502)']);
    expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('proxy_upstream_down');
  });

  describe('remediations through the lab sudo rules, verified by the bot', () => {
    it('php_fpm_down → start_php_fpm runs fpm.startCommand through sudo; the site answers 200 again', async () => {
      await lab.applyScenario('php_fpm_down');
      const outcome = await remediateHost({ host, playbook, remediation: 'start_php_fpm' }, deps);
      expect(outcome.ok, outcome.error).toBe(true);
      expect(outcome.steps.map((s) => s.command)).toEqual([
        shellQuote(['sudo', '-n', '--', '/usr/sbin/php-fpm8.2', '--fpm-config', lab.layout.fpmConf]),
      ]);
      expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
      expect(outcome.probeStatus).toBe(200);
      // Only lines written after the remediation count: the 502s before it are history now.
      expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
      expect(outcome.verification.facts).toMatchObject({ fpm: { running: true } });
    });

    it('socket_mismatch, nginx config fixed → reload_nginx (nginx -t, then HUP) through sudo; 200 again', async () => {
      await lab.applyScenario('socket_mismatch');
      await lab.repair('nginx');
      const outcome = await remediateHost({ host, playbook, remediation: 'reload_nginx' }, deps);
      expect(outcome.ok, outcome.error).toBe(true);
      expect(outcome.steps[0]?.command).toBe(shellQuote(['sudo', '-n', '--', '/usr/sbin/nginx', '-t', '-c', lab.layout.nginxConf]));
      expect(outcome.steps[1]?.command).toMatch(/^sudo -n -- kill -HUP \d+$/);
      expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
      expect(outcome.probeStatus).toBe(200);
      // Only lines written after the remediation count: the 502s before it are history now.
      expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
    });

    it('tcp_mismatch, pool fixed to listen where nginx points → reload_php_fpm (USR2) through sudo; 200 again', async () => {
      await lab.applyScenario('tcp_mismatch');
      await lab.repair('pool-tcp');
      const outcome = await remediateHost({ host, playbook, remediation: 'reload_php_fpm' }, deps);
      expect(outcome.ok, outcome.error).toBe(true);
      expect(outcome.steps.map((s) => s.command)).toEqual([expect.stringMatching(/^sudo -n -- kill -USR2 \d+$/)]);
      expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
      expect(outcome.probeStatus).toBe(200);
      // Only lines written after the remediation count: the 502s before it are history now.
      expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
    });

    it('socket_permission, pool listen.owner/mode fixed → reload_php_fpm does NOT recover: php-fpm keeps its inherited socket on USR2', async () => {
      await lab.applyScenario('socket_permission');
      await lab.repair('pool');
      const outcome = await remediateHost({ host, playbook, remediation: 'reload_php_fpm', verifyWithinMs: 1500 }, deps);
      expect(outcome.ok, outcome.error).toBe(true);
      expect(outcome.recovered).toBe(false);
      expect(outcome.probeStatus).toBe(502);
      expect(outcome.verification.verdict.cause).toBe('socket_permission');
      // Hence its button is restart_php_fpm, not a reload.
      expect(outcome.verification.findings[0]?.remediations).toEqual(['restart_php_fpm']);
      expect(await readFile(lab.layout.fpmLog, 'utf8')).toMatch(/NOTICE: using inherited socket fd=\d+, "[^"]+php8\.2-fpm\.sock"/);
    });

    it('socket_permission, pool listen.owner/mode fixed → restart_php_fpm (TERM, wait, start command) through sudo; 200 again', async () => {
      await lab.applyScenario('socket_permission');
      const diagnosis = await diagnoseHost({ host, playbook }, deps);
      expect(diagnosis.verdict.cause, describeDiagnosis(diagnosis)).toBe('socket_permission');
      // The button the report offers: a restart, since a reload cannot apply the fix.
      expect(diagnosis.findings[0]?.remediations).toEqual(['restart_php_fpm']);
      await lab.repair('pool');
      const oldMaster = await livePid(lab.layout.fpmPidFile);
      if (oldMaster === undefined) throw new Error('php-fpm runs in socket_permission, with a pid file');
      const outcome = await remediateHost({ host, playbook, remediation: 'restart_php_fpm' }, deps);
      expect(outcome.ok, outcome.error).toBe(true);
      expect(outcome.steps.map((s) => s.command)).toEqual([
        `sudo -n -- kill -TERM ${oldMaster}`,
        shellQuote(['sudo', '-n', '--', '/usr/sbin/php-fpm8.2', '--fpm-config', lab.layout.fpmConf]),
      ]);
      expect(outcome.recovered, describeDiagnosis(outcome.verification)).toBe(true);
      expect(outcome.probeStatus).toBe(200);
      expect(outcome.verification.verdict.cause, describeDiagnosis(outcome.verification)).toBe('healthy');
      expect(isAlive(oldMaster)).toBe(false);
      const newMaster = await livePid(lab.layout.fpmPidFile);
      expect(newMaster).not.toBe(oldMaster);
    });
  });

  it('docs/lab.md lists every scenario with the status and verdict asserted here', async () => {
    const doc = await readFile('docs/lab.md', 'utf8');
    const table = doc.slice(doc.indexOf('<!-- lab-scenarios-table')).split('\n\n')[0] ?? '';
    const rows = new Map<string, string[]>();
    for (const line of table.split('\n')) {
      const m = /^\| `([a-z_]+)` \|(.*)\|$/.exec(line);
      if (m !== null)
        rows.set(
          m[1] as string,
          (m[2] as string).split(' | ').map((c) => c.trim()),
        );
    }
    for (const [name, spec] of SCENARIOS) {
      const cells = rows.get(name);
      expect(cells, `docs/lab.md has a row for ${name}`).toBeDefined();
      expect(cells?.at(-1)).toBe(`\`${spec.cause}\``);
      expect(cells?.at(-2)).toMatch(new RegExp(`^${spec.status}`));
    }
  });
});
