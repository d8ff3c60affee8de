import { randomBytes } from 'node:crypto';
import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { fpmStartCommand, labLayout, FPM_BINARY, type LabLayout } from './lab-layout.ts';
import { writeLabState, type LabState } from './lab-state.ts';
import { readRecordedOom, replayOom } from './kernel-oom.ts';
import { renderFpmConf, renderNginxConf, renderPool, renderProxyNginxConf, type LabEnv } from './render-configs.ts';
import { HEALTHY_SETTINGS, scenario, type LabLog, type LabSettings, type ScenarioName } from './scenarios.ts';
import { killFpmLikeOom, startBackend, startFpm, startNginx, stopBackend, stopFpm, stopNginx } from './services.ts';
import { removeSudoers } from './sudoers.ts';
import { request } from 'node:http';
import { sendTraffic, type TrafficReport } from './traffic.ts';
import { lookupUser, type UnixUser } from './lab-users.ts';
import { isAlive, livePid, sleep, stopPid, waitFor } from './pids.ts';
import { startIntruders, stopIntruders } from './intruders.ts';
import { cgroupMount, containerCgroups, containerLayout, startContainerFpm, startContainerNginx, stopContainers } from './containers.ts';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { prepareTree } from './prepare-tree.ts';

/** What applying a scenario did: the traffic's answers and the real lines it made the servers write. */
export interface ScenarioOutcome {
  scenario: ScenarioName;
  traffic: TrafficReport;
  /** The first line of each log that matched the scenario's expectations, in `expect` order. */
  lines: string[];
}

export interface LabStatus {
  scenario: ScenarioName;
  nginx?: number;
  fpm?: number;
  backend?: number;
  sshd?: number;
}

/**
 * A running lab, driven from the state file: any process can switch scenarios or stop it, since
 * every server is found by its pid file (never by name).
 */
export class Lab {
  readonly layout: LabLayout;
  private state: LabState;
  private readonly onStop: (() => Promise<void>) | undefined;
  private readonly removeDirOnStop: boolean;
  /** Requests to hold.php still running (see LabSettings.hold). */
  private held: Promise<string>[] = [];

  /**
   * @param onStop - stops what this process owns (the sshd handle); without it sshd is stopped by pid.
   * @param removeDirOnStop - the default of `stop({ removeDir })`: true when the lab made a temp dir for itself.
   */
  constructor(state: LabState, onStop?: () => Promise<void>, removeDirOnStop = false) {
    this.state = state;
    this.layout = labLayout(state.dir);
    this.onStop = onStop;
    this.removeDirOnStop = removeDirOnStop;
  }

  get id(): string {
    return this.state.id;
  }
  get dir(): string {
    return this.state.dir;
  }
  get nginxPort(): number {
    return this.state.nginxPort;
  }
  get inventoryPath(): string {
    return this.layout.inventory;
  }
  get loginUser(): string {
    return this.state.loginUser;
  }
  get current(): ScenarioName {
    return this.state.scenario;
  }
  get snapshot(): LabState {
    return { ...this.state };
  }

  private get env(): LabEnv {
    return {
      layout: this.layout,
      nginxPort: this.state.nginxPort,
      backendPort: this.state.backendPort,
      tcpPort: this.state.tcpPort,
      webUser: this.state.webUser,
      memTotalBytes: this.state.memTotalBytes,
      ...(this.state.loopbackName === undefined ? {} : { loopbackName: this.state.loopbackName }),
      ...(this.state.shop === undefined ? {} : { shop: this.state.shop }),
    };
  }

  /** The path of one of the lab's logs. */
  logPath(log: LabLog): string {
    const l = this.layout;
    return {
      nginxError: l.nginxErrorLog,
      nginxAccess: l.nginxAccessLog,
      fpmLog: l.fpmLog,
      fpmSlowlog: l.fpmSlowlog,
      kernelLog: l.kernelLog,
      shopError: l.shopErrorLog,
    }[log];
  }

  /**
   * Puts the stack in the scenario's state and sends its traffic, then waits until the servers
   * have written the scenario's lines. Logs are emptied first (truncated, not written to), so
   * that every line in them is current.
   */
  async applyScenario(name: ScenarioName): Promise<ScenarioOutcome> {
    const spec = scenario(name);
    const s = spec.settings;
    if (s.shop === 'broken' && this.state.shop === undefined)
      throw new Error(`${name} needs the shop vhost, which this lab was started without (started by an older version?): restart the lab`);
    await this.releaseHeld();
    await this.writeConfigs(s);
    await stopNginx(this.layout);
    await stopFpm(this.layout);
    await stopIntruders(this.layout);
    await stopContainers(this.layout, this.state.id);
    await this.stopSecondStack();
    if (s.secondStack === 'broken-first') await this.startSecondStack();
    // Before the real masters start, so that the containers' come first in ps.
    if (s.containers === true) await this.startContainers();
    if (s.strayFpm === true) await this.startStrayFpm();
    // Before the real masters start, so that the look-alikes have lower pids and come first in ps.
    if (s.intruders === true) await startIntruders(this.layout, await this.user(this.state.webUser));
    // After the previous scenario's servers stopped, so that their shutdown is not in the new logs.
    for (const log of ['nginxError', 'nginxAccess', 'fpmLog', 'kernelLog'] as const) await truncate(this.logPath(log), 0);
    await truncate(this.layout.fpmSlowlog, 0).catch(() => undefined);
    for (const log of [this.layout.shopErrorLog, this.layout.shopAccessLog]) await truncate(log, 0).catch(() => undefined);

    await startFpm(this.layout);
    // A php-fpm that ran and was stopped, as on a host: its log ends with its own shutdown lines.
    if (s.fpm === 'stopped') await stopFpm(this.layout);
    if (s.fpm === 'oom-killed') {
      const pid = await killFpmLikeOom(this.layout);
      await appendFile(this.layout.kernelLog, replayOom(await readRecordedOom(), new Date(), pid ?? 5324));
    }
    await startNginx(this.layout, this.state.nginxPort, (await this.user(this.state.loginUser)).gid);
    const backendUp = (await livePid(this.layout.backendPidFile)) !== undefined;
    if (s.backend === 'stopped' && backendUp) await stopBackend(this.layout, this.state.backendPort);
    if (s.backend === 'running' && !backendUp) await this.startBackend();

    if (s.secondStack === 'broken-last') await this.startSecondStack();
    if (s.secondStack === 'proxy-broken') await this.startProxyStack();

    const traffic = await sendTraffic(
      { http: this.state.nginxPort, ...(this.state.shop === undefined ? {} : { shopTls: this.state.shop.tlsPort }) },
      spec.traffic,
    );
    const lines: string[] = [];
    for (const e of spec.expect) lines.push(await this.waitForLine(e.log, e.pattern, traffic));
    if (s.hold !== undefined && s.hold > 0) await this.hold(s.hold);
    await this.save({ scenario: name });
    return { scenario: name, traffic, lines };
  }

  /**
   * Fixes one side's config file the way an operator would before asking the bot to reload,
   * without reloading anything: that is the remediation's job. `pool-tcp` makes the pool listen
   * where the TCP scenario's nginx points instead (fixing that mismatch on php-fpm's side).
   */
  async repair(side: 'nginx' | 'pool' | 'pool-tcp'): Promise<void> {
    if (side === 'nginx') await writeFile(this.layout.nginxConf, renderNginxConf(this.env, HEALTHY_SETTINGS));
    else
      await writeFile(
        this.layout.fpmPoolConf,
        renderPool(this.env, { ...HEALTHY_SETTINGS.pool, listen: side === 'pool-tcp' ? 'tcp' : 'socket' }),
      );
  }

  /** The first line of a log matching `pattern`, waiting up to `timeoutMs` for the server to write it. */
  async waitForLine(log: LabLog, pattern: RegExp, traffic?: TrafficReport, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(this.logPath(log), 'utf8');
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.state.scenario}: no line matching ${pattern} in ${this.logPath(log)} after ${timeoutMs} ms.\n` +
            `Traffic: ${JSON.stringify(traffic ?? {})}\nLog:\n${text.slice(-4000)}`,
        );
      }
      await sleep(100);
    }
  }

  /**
   * Leaves `n` requests to hold.php running, each keeping a worker busy, and waits until the
   * status page shows them all active (plus its own request). Released by {@link releaseHeld}.
   */
  private async hold(n: number): Promise<void> {
    await rm(this.layout.holdRelease, { force: true });
    for (let i = 0; i < n; i++) this.held.push(holdRequest(this.state.nginxPort));
    const port = this.state.nginxPort;
    await waitFor(
      `the status page to show ${n} held requests active`,
      async () => {
        const text = await fetch(`http://127.0.0.1:${port}/fpm-status`)
          .then((r) => r.text())
          .catch(() => '');
        const active = /^active processes:\s+(\d+)$/m.exec(text);
        return active !== null && Number(active[1]) >= n + 1 ? true : undefined;
      },
      30_000,
    );
  }

  /** Lets the held requests finish (they end within 60 s on their own anyway). */
  async releaseHeld(): Promise<void> {
    if (this.held.length === 0) return;
    await writeFile(this.layout.holdRelease, '');
    await Promise.all(this.held);
    this.held = [];
  }

  async status(): Promise<LabStatus> {
    const out: LabStatus = { scenario: this.state.scenario };
    const nginx = await livePid(this.layout.nginxPidFile);
    const fpm = await livePid(this.layout.fpmPidFile);
    const backend = await livePid(this.layout.backendPidFile);
    if (nginx !== undefined) out.nginx = nginx;
    if (fpm !== undefined) out.fpm = fpm;
    if (backend !== undefined) out.backend = backend;
    if (isAlive(this.state.sshd.pid)) out.sshd = this.state.sshd.pid;
    return out;
  }

  /**
   * Stops every server by pid and removes the sudo rules; removes the directory too when asked
   * (by default when it is a temp dir the lab made). The users stay: other labs may share them.
   */
  async stop(options: { removeDir?: boolean } = {}): Promise<void> {
    await this.releaseHeld();
    await stopNginx(this.layout);
    await stopFpm(this.layout);
    await stopBackend(this.layout, this.state.backendPort);
    await stopIntruders(this.layout);
    await stopContainers(this.layout, this.state.id);
    await this.stopSecondStack();
    if (this.onStop !== undefined) await this.onStop();
    else if (isAlive(this.state.sshd.pid)) await stopPid(this.state.sshd.pid);
    await removeSudoers(this.state.id);
    if (options.removeDir ?? this.removeDirOnStop) await rm(this.state.dir, { recursive: true, force: true });
  }

  /** Writes nginx.conf and the pool for `settings`; the master config never changes. */
  async writeConfigs(settings: LabSettings): Promise<void> {
    await writeFile(this.layout.fpmConf, renderFpmConf(this.env));
    await writeFile(this.layout.fpmPoolConf, renderPool(this.env, settings.pool));
    await writeFile(this.layout.nginxConf, renderNginxConf(this.env, settings));
  }

  /** The second stack's files: the same layout as the lab's, under `<lab>/second`. */
  get secondLayout(): LabLayout {
    return labLayout(join(this.state.dir, 'second'));
  }

  /**
   * Starts a second, broken stack beside the lab's own: its php-fpm runs and stops (as one that
   * crashed), its nginx serves a free port and logs real 502s for a few requests. Returns its port.
   */
  async startSecondStack(): Promise<number> {
    const l = this.secondLayout;
    const login = await this.user(this.state.loginUser);
    await prepareTree(l, login);
    const port = await freePort();
    const env: LabEnv = { ...this.env, layout: l, nginxPort: port };
    await writeFile(l.fpmConf, renderFpmConf(env));
    await writeFile(l.fpmPoolConf, renderPool(env, HEALTHY_SETTINGS.pool));
    await writeFile(l.nginxConf, renderNginxConf(env, HEALTHY_SETTINGS));
    for (const log of [l.nginxErrorLog, l.nginxAccessLog, l.fpmLog]) await truncate(log, 0);
    await startFpm(l);
    await stopFpm(l);
    await startNginx(l, port, login.gid);
    await sendTraffic({ http: port }, [{ path: '/', count: 2 }]);
    const deadline = Date.now() + 10_000;
    while (!/connect\(\) to unix:\S+ failed \(2: No such file or directory\)/.test(await readFile(l.nginxErrorLog, 'utf8'))) {
      if (Date.now() > deadline) throw new Error(`the second stack's nginx logged no 502 in ${l.nginxErrorLog}`);
      await sleep(100);
    }
    return port;
  }

  /**
   * Starts the containers' masters (see LabSettings.containers): the nginx on a free port of its
   * own, the php-fpm with its own tree under `<lab>/container/fpm`. Returns their pids.
   */
  async startContainers(): Promise<{ nginx: number; fpm: number }> {
    const mount = await cgroupMount();
    if (mount === undefined)
      throw new Error(
        'container_masters needs a cgroup v2 mount (or cgroup v1 name=systemd) to make a docker-like cgroup in; /proc/self/mountinfo lists none',
      );
    const c = containerLayout(this.layout);
    const env: LabEnv = { ...this.env, layout: c.fpm };
    const nginx = await startContainerNginx(this.layout, await freePort());
    const fpm = await startContainerFpm(c.fpm, containerCgroups(mount, this.state.id).docker, {
      fpmConf: renderFpmConf(env),
      pool: renderPool(env, HEALTHY_SETTINGS.pool),
    });
    return { nginx, fpm };
  }

  /** A second php-fpm master beside the lab's, with its own config and socket, that no nginx points at. Returns its pid. */
  async startStrayFpm(): Promise<number> {
    const l = this.secondLayout;
    await prepareTree(l, await this.user(this.state.loginUser));
    const env: LabEnv = { ...this.env, layout: l };
    await writeFile(l.fpmConf, renderFpmConf(env));
    await writeFile(l.fpmPoolConf, renderPool(env, HEALTHY_SETTINGS.pool));
    return startFpm(l);
  }

  /**
   * A second nginx with no PHP, on a free port, whose only proxy_pass backend (another free
   * port) is down: it logs real 502s for a few requests. Returns its port and its backend's.
   */
  async startProxyStack(): Promise<{ port: number; backendPort: number }> {
    const l = this.secondLayout;
    const login = await this.user(this.state.loginUser);
    await prepareTree(l, login);
    const port = await freePort();
    const backendPort = await freePort();
    await writeFile(l.nginxConf, renderProxyNginxConf({ ...this.env, layout: l, nginxPort: port }, backendPort));
    for (const log of [l.nginxErrorLog, l.nginxAccessLog]) await truncate(log, 0);
    await startNginx(l, port, login.gid);
    await sendTraffic({ http: port }, [{ path: '/', count: 2 }]);
    const deadline = Date.now() + 10_000;
    while (
      !new RegExp(
        `connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream.*"http://127\\.0\\.0\\.1:${backendPort}/"`,
      ).test(await readFile(l.nginxErrorLog, 'utf8'))
    ) {
      if (Date.now() > deadline) throw new Error(`the proxy stack's nginx logged no 502 in ${l.nginxErrorLog}`);
      await sleep(100);
    }
    return { port, backendPort };
  }

  async stopSecondStack(): Promise<void> {
    const l = this.secondLayout;
    await stopNginx(l);
    await stopFpm(l);
  }

  async startBackend(): Promise<void> {
    // Also on the loopback address /etc/hosts gives the static-name scenario's host name, when it is not 127.0.0.1.
    const extra = this.state.loopbackName?.address;
    const addresses = extra === undefined || extra === '127.0.0.1' ? ['127.0.0.1'] : ['127.0.0.1', extra];
    await startBackend(this.layout, this.state.backendPort, await this.user(this.state.webUser), addresses);
  }

  private async user(name: string): Promise<UnixUser> {
    const user = await lookupUser(name);
    if (user === undefined) throw new Error(`the lab's user ${name} is gone (deleted while the lab ran?)`);
    return user;
  }

  async save(patch: Partial<LabState>): Promise<void> {
    this.state = { ...this.state, ...patch };
    await writeLabState(this.layout.state, this.state);
  }

  /** The facts the inventory gives: what discovery cannot see on this non-standard layout. */
  inventoryFacts(): Record<string, unknown> {
    return {
      nginx: { conf: this.layout.nginxConf },
      fpm: { conf: this.layout.fpmConf, binary: FPM_BINARY, startCommand: fpmStartCommand(this.layout) },
      kernel: { log: this.layout.kernelLog },
      site: { probeUrl: `http://127.0.0.1:${this.state.nginxPort}/` },
    };
  }
}

export const newLabId = (): string => randomBytes(5).toString('hex');

/**
 * One GET of hold.php that does not keep this process alive: `npm run lab -- scenario` exits
 * while the workers stay busy (php-fpm does not notice the client is gone until the script ends).
 */
function holdRequest(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/hold.php',
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'medic-lab' },
    });
    req.on('socket', (socket) => socket.unref());
    req.setTimeout(70_000, () => req.destroy());
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}
