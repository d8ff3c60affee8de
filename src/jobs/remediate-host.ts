import type { RemediationId } from '../core/causes.ts';
import type { CheckResult } from '../core/check-result.ts';
import type { Diagnosis } from '../core/finding.ts';
import type { Playbook } from '../core/playbook/playbook-schema.ts';
import { inventoryRemediationPrograms, isAllowedRemediationCommand, planRemediation } from '../core/remediation/plan-remediation.ts';
import { sanitizeLine, sanitizeText } from '../core/report/sanitize.ts';
import { stackRemediationProblem } from '../core/remediation/stack-remediations.ts';
import { MedicError } from '../errors.ts';
import { diagnoseHostDetailed, type DiagnoseOutcome, type StackOutcome } from './diagnose-host.ts';
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
  /**
   * On a host that runs several stacks, the one to act on: the key its findings carry
   * (`Finding.stackKey`, the stack's nginx config). Without it, such a host must have exactly one.
   */
  stack?: string;
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
  /** The virtual hosts of the stack acted on that still did not answer 2xx/3xx at the verification: "shop.example.com (HTTP 502)". */
  stillFailing?: string[];
  /** On a host with several stacks, the one acted on (its label). */
  stack?: string;
  durationMs: number;
  error?: string;
}

const STEP_TIMEOUT_MS = 30_000;

export function probeStatus(results: readonly CheckResult[]): number | undefined {
  const probe = results.find((r) => r.parse === 'http_probe' && r.status !== 'skipped');
  return probe === undefined ? undefined : statusOf(probe);
}

const statusOf = (r: CheckResult): number | undefined => {
  const m = /http_code=(\d{3})/.exec(r.stdout);
  return m === null ? undefined : Number(m[1]);
};

const answers = (code: number | undefined): boolean => code !== undefined && code >= 200 && code < 400;

/**
 * A probe that says the stack still fails: the inventory's site URL unless it answers 2xx/3xx;
 * a virtual host (probed at `/`, where a 404 or 401 may be how it is meant to answer) when it
 * answers 5xx or not at all.
 */
const fails = (r: CheckResult): boolean => {
  const code = statusOf(r);
  if (r.subject === undefined) return !answers(code);
  return code === undefined || code === 0 || code >= 500;
};

/**
 * Every probe of the stack that still fails (see `fails`): "shop.example.com (HTTP 502)", or
 * "no answer" when nothing answered.
 */
export function failingProbes(results: readonly CheckResult[]): string[] {
  return results
    .filter((r) => r.parse === 'http_probe' && r.status !== 'skipped' && fails(r))
    .map((r) => {
      const code = statusOf(r);
      const what = r.subject ?? 'the site URL';
      return sanitizeLine(`${what} (${code === undefined || code === 0 ? 'no answer' : `HTTP ${code}`})`, 300);
    });
}

/** One stack's view of a diagnosis: the whole host's when it runs one stack. */
interface Target {
  results: CheckResult[];
  discovery: DiagnoseOutcome['discovery'];
  diagnosis: Diagnosis;
}

function hasRecovered(remediation: RemediationId, target: Target): boolean {
  const { picture } = target.discovery;
  const serviceUp = remediation === 'reload_nginx' ? picture.nginx.running : picture.fpm.running;
  if (!serviceUp) return false;
  const probes = target.results.filter((r) => r.parse === 'http_probe' && r.status !== 'skipped');
  if (probes.length > 0) return failingProbes(target.results).length === 0;
  return !target.diagnosis.findings.some((f) => f.current && f.severity === 'critical');
}

/**
 * The stack a remediation acts on: the one the request names, else the host's only one. Throws
 * when the host runs several and none is named, or the named one is gone, or it cannot act on
 * that stack alone (see stackRemediationProblem).
 */
function targetOf(outcome: DiagnoseOutcome, request: RemediationRequest): Target & { stack?: StackOutcome } {
  const { host, remediation } = request;
  const stacks = outcome.stacks;
  if (stacks === undefined) return outcome;
  const refuse = (why: string): never => {
    throw new MedicError('REMEDIATION_NOT_APPLICABLE', `${remediation} on ${host.name}: ${why}`);
  };
  const keys = (): string => stacks.map((s) => sanitizeLine(s.stack.key, 200)).join(', ');
  const chosen =
    request.stack !== undefined ? stacks.find((s) => s.stack.key === request.stack) : stacks.length === 1 ? stacks[0] : undefined;
  if (chosen === undefined) {
    return refuse(
      request.stack === undefined
        ? `several stacks run on this host (${keys()}); name the one to act on (the button of its finding, or --stack with its nginx config) so that nothing else is touched`
        : `no stack ${sanitizeLine(request.stack, 200)} runs on this host now (stacks: ${keys()}); diagnose again`,
    );
  }
  const problem = stackRemediationProblem(remediation, chosen.stack);
  if (problem !== null) refuse(`stack ${sanitizeLine(chosen.stack.label, 300)}: ${problem}`);
  const findings = outcome.diagnosis.findings.filter((f) => f.stackKey === chosen.stack.key);
  return { results: chosen.results, discovery: chosen.discovery, diagnosis: { ...outcome.diagnosis, findings }, stack: chosen };
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
    const r = await runCommand(runner, {
      id: 'remediation.await_exit',
      parse: 'raw',
      argv: ['ps', '-o', 'pid=', '-p', String(pid)],
      sudo: false,
      timeoutMs: 5000,
    });
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
    const target = targetOf(before, request);
    const stackKey = target.stack?.stack.key;
    // The verification looks at the same stack again (by its key: a restart changes its php-fpm's pid).
    const again = (outcome: DiagnoseOutcome): Target =>
      stackKey === undefined ? outcome : targetOf(outcome, { ...request, stack: stackKey });
    const plan = planRemediation(remediation, target.discovery.picture, target.discovery.facts);
    if (!plan.ok) throw new MedicError('REMEDIATION_NOT_APPLICABLE', `${remediation} on ${host.name}: ${plan.reason}`);
    for (const step of plan.steps) {
      if (!isAllowedRemediationCommand(step.argv, { trustedPrograms: inventoryRemediationPrograms(host.facts) })) {
        throw new MedicError('REMEDIATION_NOT_APPLICABLE', `${remediation} on ${host.name}: refused to run ${JSON.stringify(step.argv)}`);
      }
    }
    const whoami = await runCommand(runner, { id: 'whoami', parse: 'raw', argv: ['id', '-u'], sudo: false, timeoutMs: 5000 });
    const sudo = whoami.stdout.trim() !== '0';

    // The host's clock decides which log lines are new; carry its offset from the first diagnosis.
    const skewMs =
      before.discovery.hostNow === undefined ? 0 : before.discovery.hostNow.getTime() - new Date(before.diagnosis.startedAt).getTime();
    const hostNow = (): number => deps.now().getTime() + skewMs;

    const steps: RemediationStepOutcome[] = [];
    let ok = true;
    let error: string | undefined;
    for (const step of plan.steps) {
      const r = await runCommand(runner, {
        id: `remediation.${remediation}`,
        parse: 'raw',
        argv: step.argv,
        sudo,
        timeoutMs: STEP_TIMEOUT_MS,
      });
      // What a step printed goes to Slack, the terminal and the audit trail: made safe as evidence is.
      const stdout = sanitizeText(r.stdout);
      const stderr = sanitizeText(r.stderr);
      steps.push({ purpose: step.purpose, command: r.command, exitCode: r.exitCode, stdout, stderr, durationMs: r.durationMs });
      deps.logger.info({ remediation, command: r.command, exitCode: r.exitCode, approvedBy: request.approvedBy }, 'remediation step ran');
      if (r.status !== 'ok') {
        ok = false;
        error = sanitizeText(
          `${step.purpose}: ${r.reason ?? `exit ${r.exitCode}`}${stderr.trim() ? `\n${stderr.trim().slice(0, 2000)}` : ''}`,
        );
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
    let checked: Target;
    for (;;) {
      verification = await diagnoseHostDetailed({ host, playbook, since }, deps, runner);
      checked = again(verification);
      recovered = ok && hasRecovered(remediation, checked);
      if (recovered || !ok || performance.now() > deadline) break;
      await sleep(500);
    }
    // The site answers, but the verification's own requests may have met the service while it
    // was still coming up (php-fpm re-executes on a reload, and a restarted pool starts a few
    // workers and queues the rest of a burst a moment): judge again from the next second on,
    // until the verdict is healthy or the time for verifying has passed (once at least).
    for (let tries = 0; recovered && verification.diagnosis.verdict.cause !== 'healthy'; tries++) {
      if (tries > 0 && performance.now() > deadline) break;
      since = await nextSecond();
      verification = await diagnoseHostDetailed({ host, playbook, since }, deps, runner);
      checked = again(verification);
      recovered = hasRecovered(remediation, checked);
    }
    const status = probeStatus(checked.results);
    const stillFailing = failingProbes(checked.results);
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
    if (stillFailing.length > 0) outcome.stillFailing = stillFailing;
    if (target.stack !== undefined) outcome.stack = sanitizeLine(target.stack.stack.label, 300);
    if (error !== undefined) outcome.error = error;
    return outcome;
  } finally {
    await runner.close().catch(() => {});
  }
}
