import type { RemediationId } from '../core/causes.ts';
import type { CheckResult } from '../core/check-result.ts';
import type { Diagnosis } from '../core/finding.ts';
import type { Playbook } from '../core/playbook/playbook-schema.ts';
import { inventoryRemediationPrograms, isAllowedRemediationCommand, planRemediation } from '../core/remediation/plan-remediation.ts';
import { sanitizeText } from '../core/report/sanitize.ts';
import { MedicError } from '../errors.ts';
import { diagnoseHostDetailed, severalStacks, type DiagnoseOutcome } from './diagnose-host.ts';
import type { CommandRunner, JobDeps, TargetHost } from './ports.ts';
import { runCommand } from './run-command.ts';

export interface RemediationRequest {
  host: TargetHost;
  playbook: Playbook;
  remediation: RemediationId;
  /** Who approved it (Slack user id, or the local user for the CLI), for the audit trail. */
  approvedBy?: string;
  /** How long to keep re-checking for recovery. @defaultValue 8000 */
  verifyWithinMs?: number;
}

export interface RemediationStepOutcome {
  purpose: string;
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RemediationOutcome {
  host: string;
  remediation: RemediationId;
  approvedBy?: string;
  /** Every step ran and exited 0. */
  ok: boolean;
  steps: RemediationStepOutcome[];
  /** The diagnosis taken after the remediation, counting only log lines written since it ran. */
  verification: Diagnosis;
  /** The site answers 2xx/3xx again (or, with no probe configured, the service is up and nothing critical is current). */
  recovered: boolean;
  /** The HTTP status the verification probe saw, when there is a probe. */
  probeStatus?: number;
  durationMs: number;
  error?: string;
}

const STEP_TIMEOUT_MS = 30_000;

export function probeStatus(results: readonly CheckResult[]): number | undefined {
  const probe = results.find((r) => r.parse === 'http_probe' && r.status !== 'skipped');
  const m = probe === undefined ? null : /http_code=(\d{3})/.exec(probe.stdout);
  return m === null ? undefined : Number(m[1]);
}

function hasRecovered(remediation: RemediationId, outcome: DiagnoseOutcome): boolean {
  const { picture } = outcome.discovery;
  const serviceUp = remediation === 'reload_nginx' ? picture.nginx.running : picture.fpm.running;
  if (!serviceUp) return false;
  const code = probeStatus(outcome.results);
  if (code !== undefined) return code >= 200 && code < 400;
  return !outcome.diagnosis.findings.some((f) => f.current && f.severity === 'critical');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const EXIT_WAIT_MS = 20_000;

/**
 * Waits until a stopped process is gone, asking the host with a read-only `ps -p` (exit 1 once
 * there is no such pid). A master that is still finishing its children would otherwise make the
 * next start fail on its socket and pid file.
 */
async function waitForExit(runner: CommandRunner, pid: number): Promise<boolean> {
  const deadline = performance.now() + EXIT_WAIT_MS;
  for (;;) {
    const r = await runCommand(runner, { id: 'remediation.await_exit', parse: 'raw', argv: ['ps', '-o', 'pid=', '-p', String(pid)], sudo: false, timeoutMs: 5000 });
    if (r.status === 'failed' && r.stdout.trim() === '') return true;
    if (performance.now() > deadline) return false;
    await sleep(200);
  }
}

/**
 * Runs one contract remediation on a host, then verifies. The plan is made from a fresh
 * diagnosis (so pids and units are current and the remediation still applies), every command
 * is checked against the closed list of remediation shapes, and sudo is used unless the login
 * user is root. Nothing is retried: a remediation runs at most once per call.
 */
export async function remediateHost(request: RemediationRequest, deps: JobDeps): Promise<RemediationOutcome> {
  const { host, playbook, remediation } = request;
  const t0 = performance.now();
  const runner: CommandRunner = await deps.connector.connect(host);
  try {
    const before = await diagnoseHostDetailed({ host, playbook }, deps, runner);
    if (severalStacks(before.discovery, host.facts) !== undefined) {
      throw new MedicError(
        'REMEDIATION_NOT_APPLICABLE',
        `${remediation} on ${host.name}: several nginx or php-fpm masters run on this host; pin the stack to act on in the inventory (facts.nginx.conf, facts.fpm.conf) so that nothing else is touched`,
      );
    }
    const plan = planRemediation(remediation, before.discovery.picture, before.discovery.facts);
    if (!plan.ok) throw new MedicError('REMEDIATION_NOT_APPLICABLE', `${remediation} on ${host.name}: ${plan.reason}`);
    for (const step of plan.steps) {
      if (!isAllowedRemediationCommand(step.argv, { trustedPrograms: inventoryRemediationPrograms(host.facts) })) {
        throw new MedicError('REMEDIATION_NOT_APPLICABLE', `${remediation} on ${host.name}: refused to run ${JSON.stringify(step.argv)}`);
      }
    }
    const whoami = await runCommand(runner, { id: 'whoami', parse: 'raw', argv: ['id', '-u'], sudo: false, timeoutMs: 5000 });
    const sudo = whoami.stdout.trim() !== '0';

    // The host's clock decides which log lines are new; carry its offset from the first diagnosis.
    const skewMs = before.discovery.hostNow === undefined ? 0 : before.discovery.hostNow.getTime() - new Date(before.diagnosis.startedAt).getTime();
    const hostNow = (): number => deps.now().getTime() + skewMs;

    const steps: RemediationStepOutcome[] = [];
    let ok = true;
    let error: string | undefined;
    for (const step of plan.steps) {
      const r = await runCommand(runner, { id: `remediation.${remediation}`, parse: 'raw', argv: step.argv, sudo, timeoutMs: STEP_TIMEOUT_MS });
      // What a step printed goes to Slack, the terminal and the audit trail: made safe as evidence is.
      const stdout = sanitizeText(r.stdout);
      const stderr = sanitizeText(r.stderr);
      steps.push({ purpose: step.purpose, command: r.command, exitCode: r.exitCode, stdout, stderr, durationMs: r.durationMs });
      deps.logger.info({ remediation, command: r.command, exitCode: r.exitCode, approvedBy: request.approvedBy }, 'remediation step ran');
      if (r.status !== 'ok') {
        ok = false;
        error = sanitizeText(`${step.purpose}: ${r.reason ?? `exit ${r.exitCode}`}${stderr.trim() ? `\n${stderr.trim().slice(0, 2000)}` : ''}`);
        if (step.gate) break;
      }
      if (step.awaitExit !== undefined && !(await waitForExit(runner, step.awaitExit))) {
        ok = false;
        error = `${step.purpose}: process ${step.awaitExit} was still running after ${EXIT_WAIT_MS / 1000} s; nothing else was run`;
        break;
      }
    }

    // nginx and php-fpm stamp lines to the second: only lines from the first whole second after
    // a moment are newer than it, or the 502s the diagnosis itself provoked would count.
    const nextSecond = async (): Promise<Date> => {
      const since = new Date(Math.ceil(hostNow() / 1000) * 1000);
      await sleep(Math.max(300, since.getTime() - hostNow() + 300));
      return since;
    };
    let since = await nextSecond();
    const deadline = performance.now() + (request.verifyWithinMs ?? 8000);
    let verification: DiagnoseOutcome;
    let recovered = false;
    for (;;) {
      verification = await diagnoseHostDetailed({ host, playbook, since }, deps, runner);
      recovered = ok && hasRecovered(remediation, verification);
      if (recovered || !ok || performance.now() > deadline) break;
      await sleep(500);
    }
    if (recovered && verification.diagnosis.verdict.cause !== 'healthy') {
      // The site answers, but the verification's own requests may have met the service while it
      // was still coming up (php-fpm re-executes on a reload): judge once more from now on.
      since = await nextSecond();
      verification = await diagnoseHostDetailed({ host, playbook, since }, deps, runner);
      recovered = hasRecovered(remediation, verification);
    }
    const status = probeStatus(verification.results);
    const outcome: RemediationOutcome = {
      host: host.name,
      remediation,
      ok,
      steps,
      verification: verification.diagnosis,
      recovered,
      durationMs: Math.round(performance.now() - t0),
    };
    if (request.approvedBy !== undefined) outcome.approvedBy = request.approvedBy;
    if (status !== undefined) outcome.probeStatus = status;
    if (error !== undefined) outcome.error = error;
    return outcome;
  } finally {
    await runner.close().catch(() => {});
  }
}
