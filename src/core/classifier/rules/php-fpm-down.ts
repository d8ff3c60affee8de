import type { Finding } from '../../finding.ts';
import {
  clean,
  commands,
  endpointsOf,
  fpmUnit,
  historyFinding,
  isConnectFailure,
  listenCheck,
  listOf,
  passLines,
  plural,
  poolFor,
  poolName,
  splitByTime,
} from '../advice.ts';
import { isCurrent, type ClassifierContext } from '../context.ts';
import { buildEvidence } from '../evidence.ts';
import { isFastcgi, type NginxErrorEntry } from '../parse/nginx-error-log.ts';
import type { Rule } from '../rule.ts';
import { span } from '../time.ts';
import { isLocalEndpoint, parseNginxTarget, sameEndpoint, type Endpoint } from '../upstream-address.ts';
import { isFpmUnitName } from '../../discovery/host-picture.ts';

/** Lines in php-fpm's own log that say why it stopped. */
const STOPPING = /exiting, bye-bye|Finishing \.\.\.|ERROR: |ALERT: |FPM initialization failed|failed to/;

function supportingLines(ctx: ClassifierContext, entries: readonly NginxErrorEntry[]): string[] {
  // The sockets nginx connected to, or would connect to, and where the pools listen.
  const paths = new Set(
    [
      ...entries.map((e) => e.endpoint),
      ...ctx.picture.nginx.upstreams.map((u) => parseNginxTarget(u.target)),
      ...ctx.poolListens.map((p) => p.endpoint),
    ].flatMap((e) => (e?.kind === 'unix' ? [e.path] : [])),
  );
  const service = ctx.fpmService !== undefined && ctx.fpmService.active !== 'active' ? ctx.fpmService.lines : [];
  const sockets = ctx.socketFiles.filter((f) => f.missing && paths.has(f.path)).map((f) => f.line);
  const fpmLog = ctx.fpmLog
    .filter((l) => isCurrent(ctx, l) && STOPPING.test(l.text))
    .map((l) => l.text)
    .reverse();
  return [...service, ...sockets, ...fpmLog];
}

const explanation = (where: string): string =>
  `Nginx is just the messenger: it hands PHP requests to PHP-FPM at ${where}, and nothing answers there, so every PHP request gets 502 Bad Gateway. ` +
  'Fix the upstream, not nginx: start PHP-FPM, then find out why it stopped (its log, the journal, the OOM killer).';

/** FastCGI servers that are not php-fpm, by program or unit name: php-cgi (often under spawn-fcgi), fcgiwrap. */
const OTHER_FASTCGI = /(?:^|[/._-])(php[0-9.]*-?cgi[0-9.]*|spawn-fcgi|fcgiwrap)(?:$|[/._@-])/i;

/** A FastCGI server other than php-fpm that runs here: "php-cgi (pid 812)". */
function otherFastcgiServer(ctx: ClassifierContext): string | undefined {
  const row = ctx.picture.processes.find((p) => /^(?:\S*\/)?(?:php-cgi[0-9.]*|spawn-fcgi|fcgiwrap|php[0-9.]*-cgi)(?:\s|$)/.test(p.args));
  if (row === undefined) return undefined;
  const name = /^(?:\S*\/)?(\S+)/.exec(row.args)?.[1] ?? 'a FastCGI server';
  return `${clean(name, 60)} (pid ${row.pid})`;
}

/**
 * A FastCGI server other than php-fpm that should serve `endpoint` but does not run: the socket
 * named for it (`unix:/run/fcgiwrap.socket`), else, where nothing says PHP-FPM belongs here, its
 * systemd unit (`fcgiwrap.service, failed`).
 */
function deadFastcgiServer(ctx: ClassifierContext, endpoint: Endpoint | undefined, fpmBelongs: boolean): string | undefined {
  const named = endpoint?.kind === 'unix' ? OTHER_FASTCGI.exec(endpoint.path) : null;
  if (named !== null && named !== undefined && endpoint?.kind === 'unix')
    return `${clean(named[1] as string, 60)} (its socket ${clean(endpoint.path, 200)})`;
  if (fpmBelongs) return undefined;
  const unit = Object.entries(ctx.picture.units).find(([name]) => OTHER_FASTCGI.test(name) && !isFpmUnitName(name));
  return unit === undefined
    ? undefined
    : `${clean(OTHER_FASTCGI.exec(unit[0])?.[1] ?? unit[0], 60)} (${clean(unit[0], 120)}, ${clean(unit[1], 20)})`;
}

/**
 * Why PHP-FPM is the server that should listen at `endpoint`, or undefined when nothing here says
 * so: one of its pools listens there, the socket is named for it, a php-fpm unit exists, or php-fpm
 * is configured on this host. fastcgi_pass alone does not say it: php-cgi and fcgiwrap speak FastCGI too.
 */
function fpmExpected(ctx: ClassifierContext, endpoint: Endpoint | undefined): { reason: string; specific: boolean } | undefined {
  const pool = poolFor(ctx, endpoint);
  if (pool !== undefined) return { reason: `${poolName(pool)} listens there`, specific: true };
  if (endpoint?.kind === 'unix' && /fpm/i.test(endpoint.path)) return { reason: 'the socket is named for php-fpm', specific: true };
  const unit = fpmUnit(ctx);
  if (unit !== undefined) return { reason: `the unit ${clean(unit, 120)} exists`, specific: false };
  if (ctx.picture.fpm.conf !== undefined || ctx.poolsKnown) return { reason: 'php-fpm is configured on this host', specific: false };
  return undefined;
}

/** `php_fpm_down`: nginx cannot connect to php-fpm and no php-fpm master runs. */
export const phpFpmDown: Rule = {
  cause: 'php_fpm_down',
  // socket_mismatch claims first the failures that a running php-fpm explains by listening elsewhere.
  claims: (e) => isFastcgi(e) && isConnectFailure(e),
  evaluate(ctx, claimed) {
    const { current, old } = splitByTime(ctx, claimed);
    const listens = ctx.poolListens.map((p) => p.endpoint);
    const remote = current.filter((e) => e.endpoint !== undefined && e.endpoint.kind === 'tcp' && !isLocalEndpoint(e.endpoint, listens));
    const local = current.filter((e) => !remote.includes(e));
    const findings: Finding[] = [];
    const window = span(ctx.windowMs);

    if (remote.length > 0) {
      const where = listOf(endpointsOf(remote));
      // Not this host's PHP-FPM: nothing here can start it, so it is a backend that refuses.
      findings.push({
        cause: 'proxy_upstream_down',
        severity: 'critical',
        title: `The FastCGI backend ${where} refuses connections (${plural(remote.length, 'failure')} in the last ${window})`,
        evidence: buildEvidence(remote, passLines(ctx, 'fastcgi', remote[0]?.endpoint)),
        explanation: `${explanation(where)} That PHP-FPM runs on another machine (or container), so this host's own php-fpm cannot be compared with it.`,
        nextSteps: [
          `Check PHP-FPM on the machine behind ${where}: is it running, and does it listen on that address (listen = …) and allow this host (listen.allowed_clients)?`,
          'Then look at its log for why it stopped.',
        ],
        remediations: [],
        current: true,
      });
    }

    const usesFastcgi = ctx.picture.nginx.upstreams.some((u) => u.kind === 'fastcgi');
    const serviceDown = ctx.fpmService !== undefined && ['inactive', 'failed'].includes(ctx.fpmService.active ?? '');
    const where =
      listOf(endpointsOf(local)) ||
      listOf(ctx.picture.nginx.upstreams.filter((u) => u.kind === 'fastcgi').map((u) => clean(u.target, 200))) ||
      'its socket';
    const steps = [
      commands.startFpm(ctx),
      `Find out why it stopped: ${commands.fpmLogs(ctx)}`,
      `Check whether the kernel killed it: ${commands.oomCheck}`,
    ];
    // systemd would have brought it back by itself with Restart=on-failure.
    if (ctx.fpmRestart?.value === 'no') {
      steps.push(
        `Let systemd restart it when it dies: sudo systemctl edit ${clean(fpmUnit(ctx) ?? 'php-fpm', 120)} → [Service] Restart=on-failure (it is ${ctx.fpmRestart.line} now)`,
      );
    }

    const other = otherFastcgiServer(ctx);
    const endpoint = local[0]?.endpoint ?? parseNginxTarget(ctx.picture.nginx.upstreams.find((u) => u.kind === 'fastcgi')?.target ?? '');
    const expected = fpmExpected(ctx, endpoint);
    const dead = other === undefined && expected?.specific !== true ? deadFastcgiServer(ctx, endpoint, expected !== undefined) : undefined;
    // Only on a sighting: with php-fpm stopped its configuration may be unknown too, which is no proof that it is absent.
    if (ctx.fpmState === 'down' && local.length > 0 && other !== undefined) {
      // fastcgi_pass does not imply PHP-FPM: php-cgi under spawn-fcgi, fcgiwrap, or a FastCGI app.
      const name = `The FastCGI server ${other}`;
      findings.push({
        cause: 'proxy_upstream_down',
        severity: 'critical',
        title: `${name} at ${where} refuses connections (${plural(local.length, 'failure')} in the last ${window}); no PHP-FPM runs on this host`,
        evidence: buildEvidence(local, [...passLines(ctx, 'fastcgi', local[0]?.endpoint), ...supportingLines(ctx, local)]),
        explanation: `nginx passes these requests over FastCGI to ${where}, and nothing accepts there. No PHP-FPM runs on this host and ${other} is the FastCGI server here, so starting PHP-FPM is not the fix: start the FastCGI server that should listen there.`,
        nextSteps: [
          `Start the FastCGI server that should listen on ${where} (its systemd unit, spawn-fcgi or supervisor entry)`,
          `Check that it listens: ${listenCheck(local[0]?.endpoint, where)}`,
          'Read its own log for why it stopped',
        ],
        remediations: [],
        current: true,
      });
    } else if (ctx.fpmState === 'down' && local.length > 0 && (dead !== undefined || expected === undefined)) {
      // Not PHP-FPM's address: a stopped php-cgi or fcgiwrap (named by its unit or socket), or a
      // FastCGI server nothing here names. Starting PHP-FPM would not fix it.
      const who = dead === undefined ? 'The FastCGI server' : `The FastCGI server ${dead}`;
      const unit = dead === undefined ? undefined : /\(([^,()]+\.service),/.exec(dead)?.[1];
      findings.push({
        cause: 'proxy_upstream_down',
        severity: 'critical',
        title: `${who} at ${where} is not running: nginx could not connect ${plural(local.length, 'time')} in the last ${window}`,
        evidence: buildEvidence(local, [...passLines(ctx, 'fastcgi', local[0]?.endpoint), ...supportingLines(ctx, local)]),
        explanation:
          `nginx passes these requests over FastCGI to ${where}, and nothing accepts there. ` +
          (dead === undefined
            ? 'No PHP-FPM runs or is set up on this host (no pool, unit or config of it), so the server that should listen there may be another FastCGI server (php-cgi, spawn-fcgi, fcgiwrap, an application): find which one before starting anything.'
            : `That address belongs to ${dead}, not to PHP-FPM, so starting PHP-FPM is not the fix: start ${dead.slice(0, dead.indexOf(' ('))}.`),
        nextSteps: [
          unit !== undefined
            ? `Start it: sudo systemctl start ${clean(unit, 120)}`
            : `Start the FastCGI server that should listen on ${where} (its systemd unit, spawn-fcgi or supervisor entry)`,
          unit !== undefined
            ? `Find out why it stopped: sudo journalctl -u ${clean(unit, 120)} --since "1 hour ago" --no-pager`
            : 'Read its own log for why it stopped',
          `Check that it listens: ${listenCheck(local[0]?.endpoint, where)}`,
        ],
        remediations: [],
        current: true,
      });
    } else if (ctx.fpmState === 'down' && (local.length > 0 || (usesFastcgi && expected !== undefined) || serviceDown)) {
      // Without failures, a fastcgi_pass alone (fcgiwrap's host) does not make a stopped PHP-FPM a finding.
      const failures =
        local.length > 0 ? `: nginx could not connect to ${where} (${plural(local.length, 'time')} in the last ${window})` : '';
      findings.push({
        cause: 'php_fpm_down',
        severity: 'critical',
        title: `PHP-FPM is not running${failures}`,
        evidence: buildEvidence(local, supportingLines(ctx, [...local, ...old])),
        explanation: `${explanation(where)}${expected === undefined ? '' : ` PHP-FPM is what should answer there: ${expected.reason}.`}`,
        nextSteps: steps,
        remediations: ['start_php_fpm'],
        current: true,
      });
    } else if (local.length > 0 && ctx.fpmState === 'unknown') {
      findings.push({
        cause: 'php_fpm_down',
        severity: 'critical',
        title: `nginx cannot connect to PHP-FPM at ${where} (${plural(local.length, 'failure')} in the last ${window})`,
        evidence: buildEvidence(local, supportingLines(ctx, local)),
        explanation: `${explanation(where)} The process list could not be read, so whether a php-fpm master runs is not confirmed.`,
        nextSteps: [`Check whether php-fpm runs: ps -eo pid,user,args | grep '[p]hp-fpm'`, ...steps],
        remediations: ['start_php_fpm'],
        current: true,
      });
    } else if (local.length > 0) {
      // A master runs and one of its pools listens exactly where nginx connects: it was down, or
      // its socket was gone, while these lines were written.
      const endpoint = local[0]?.endpoint;
      const listening = endpoint !== undefined && ctx.sockets?.some((s) => s.endpoint !== undefined && sameEndpoint(endpoint, s.endpoint));
      const pool = poolFor(ctx, endpoint);
      const notListening = ctx.sockets !== undefined && !listening;
      findings.push({
        cause: 'php_fpm_down',
        severity: notListening ? 'critical' : 'warning',
        title: notListening
          ? `PHP-FPM runs but nothing listens on ${where}: nginx could not connect ${plural(local.length, 'time')} in the last ${window}`
          : `nginx could not connect to PHP-FPM at ${where} ${plural(local.length, 'time')} in the last ${window}; PHP-FPM runs again now`,
        evidence: buildEvidence(local, supportingLines(ctx, local)),
        explanation: notListening
          ? `A php-fpm master runs${pool === undefined ? '' : ` and ${poolName(pool)} is configured to listen on ${where}`}, but the socket is not listening: the pool failed to start or its socket file was removed (another PHP version's package, a cleanup job).`
          : 'PHP-FPM was down (or restarting) when these requests came in, and runs now. If it stops again, its log and the kernel log say why.',
        nextSteps: notListening
          ? [commands.reloadFpm(ctx), `Read why the pool did not bind: ${commands.fpmLogs(ctx)}`]
          : [`Read why it stopped: ${commands.fpmLogs(ctx)}`, `Check for the OOM killer: ${commands.oomCheck}`],
        remediations: notListening ? ['reload_php_fpm'] : [],
        current: true,
      });
    }

    if (current.length === 0 && old.length > 0) {
      findings.push(historyFinding(ctx, 'php_fpm_down', `nginx could not connect to PHP-FPM at ${listOf(endpointsOf(old))}`, old));
    }
    return findings;
  },
};
