import { randomBytes } from 'node:crypto';
import type { CheckResult } from '../core/check-result.ts';
import { classify, type Classification } from '../core/classifier/classify.ts';
import { DISCOVERY_INPUTS, discover, type Discovery, type StackSelection } from '../core/discovery/discover.ts';
import { pairStacks, type Backend, type FpmSide, type Listener, type NginxSide, type Stack } from '../core/discovery/pair-stacks.ts';
import { selectStacks } from '../core/discovery/select-stacks.ts';
import { stackFacts } from '../core/discovery/stack-facts.ts';
import { pickMaster } from '../core/discovery/trust-masters.ts';
import { parseSockets } from '../core/classifier/parse/sockets.ts';
import type { RemediationId } from '../core/causes.ts';
import { planRemediation } from '../core/remediation/plan-remediation.ts';
import { stackRemediationProblem } from '../core/remediation/stack-remediations.ts';
import { rank } from '../core/classifier/rank.ts';
import { parseDuration } from '../core/duration.ts';
import { mergeFacts, type Facts } from '../core/facts.ts';
import type { Diagnosis, Finding, Gap } from '../core/finding.ts';
import { checkReadOnly } from '../core/playbook/allowlist.ts';
import type { Playbook, PlaybookCheck } from '../core/playbook/playbook-schema.ts';
import { LIST_SOURCES, MASTER_PLACE_KINDS, type EachItem, type EachList } from '../core/playbook/each-lists.ts';
import { renderArgv } from '../core/playbook/template.ts';
import { sanitizeLine } from '../core/report/sanitize.ts';
import { batchCommand, splitBatchOutput } from '../core/playbook/batch-command.ts';
import { shellQuote } from '../core/playbook/shell-quote.ts';
import type { CommandRunner, JobDeps, TargetHost } from './ports.ts';
import { type CommandSpec, checkResult, hostArgv, runCommand } from './run-command.ts';

export interface DiagnoseRequest {
  host: TargetHost;
  playbook: Playbook;
  /**
   * Count only log lines newer than this as current (instead of the playbook's window):
   * a verification right after a remediation must not be fooled by the lines that led to it.
   */
  since?: Date;
  /**
   * The public URL that failed, to ask this host's nginx for by its name, scheme and port (the
   * `site.origin` probe). Checked with parsePublicUrl before it gets here; discovery checks it again.
   */
  url?: string;
}

export interface DiagnoseOutcome {
  diagnosis: Diagnosis;
  results: CheckResult[];
  discovery: Discovery;
  /** On a host diagnosed stack by stack (see severalStacks): each stack's own checks and discovery. */
  stacks?: StackOutcome[];
}

type Attempt = { kind: 'argv'; argv: string[] } | { kind: 'missing'; facts: string[] } | { kind: 'invalid'; reason: string };

/** Program paths a person wrote in the inventory; the only ones outside the system folders that may run. */
const inventoryPrograms = (inventory: Facts): string[] =>
  [inventory.nginx?.binary, inventory.fpm?.binary].filter((p): p is string => p !== undefined);

function attempts(check: PlaybookCheck, facts: Facts, inventory: Facts, item?: { list: EachList; item: EachItem }): Attempt[] {
  return [check.run, ...(check.fallback ?? [])].map((argv) => {
    const r = renderArgv(argv, facts, item);
    if (r.ok) {
      // The playbook was checked when it loaded; the rendered command is checked again here.
      const problem = checkReadOnly(r.argv, { trustedPrograms: inventoryPrograms(inventory) });
      return problem === null ? { kind: 'argv', argv: r.argv } : { kind: 'invalid', reason: `refused: ${problem}` };
    }
    return 'missing' in r ? { kind: 'missing', facts: r.missing } : { kind: 'invalid', reason: r.invalid };
  });
}

function conditionHolds(check: PlaybookCheck, facts: Facts): boolean | undefined {
  if (check.when === undefined) return true;
  if (facts.systemd === undefined) return undefined;
  return check.when === 'systemd' ? facts.systemd : !facts.systemd;
}

const skipped = (check: PlaybookCheck, reason: string): CheckResult => ({
  id: check.id,
  parse: check.parse,
  command: '',
  status: 'skipped',
  exitCode: null,
  stdout: '',
  stderr: '',
  truncated: false,
  durationMs: 0,
  reason,
});

const usable = (r: CheckResult): boolean => r.status === 'ok' || (r.status === 'failed' && r.stdout.trim() !== '');

function commandSpec(check: PlaybookCheck, argv: string[], host: TargetHost, playbook: Playbook): CommandSpec {
  const timeoutMs = parseDuration(check.timeout ?? playbook.defaultTimeout) ?? 10_000;
  // Allowlisted, so read-only: it may run in a shell the runner keeps open for such commands.
  return { id: check.id, parse: check.parse, argv, sudo: check.sudo === true && host.sudo, timeoutMs, readOnly: true };
}

/**
 * Runs a check's command; when it fails, its fallbacks all at once (not one after another),
 * keeping the first usable one in the playbook's order. `first` is the primary's result when it
 * already ran in a batch.
 */
async function runCheck(
  check: PlaybookCheck,
  tries: Attempt[],
  host: TargetHost,
  playbook: Playbook,
  runner: CommandRunner,
  first?: CheckResult,
): Promise<CheckResult> {
  const outcome = async (attempt: Attempt): Promise<CheckResult | undefined> => {
    if (attempt.kind === 'invalid') return { ...skipped(check, attempt.reason), status: 'error' };
    if (attempt.kind === 'missing') return undefined;
    return runCommand(runner, commandSpec(check, attempt.argv, host, playbook));
  };
  const primary = first ?? (await outcome(tries[0] as Attempt));
  if (primary !== undefined && usable(primary)) return primary;
  const rest = await Promise.all(tries.slice(1).map(outcome));
  const results = [primary, ...rest].filter((r): r is CheckResult => r !== undefined);
  return results.find(usable) ?? results.at(-1) ?? skipped(check, 'no command could be rendered');
}

/** Output a batch may keep per command: the runner's default cap for one command. */
const BATCH_BYTES_PER_COMMAND = 1024 * 1024;

/** Commands per batch below which a round's batch is not split. */
const MIN_PER_BATCH = 3;
/** Batches a round's commands are split into at most: side by side, each in a shell of its own (see the SSH runner's shells). */
const MAX_BATCHES = 2;

/**
 * A round's batchable commands as up to MAX_BATCHES batches of at least MIN_PER_BATCH commands,
 * dealt out in turn so that the playbook's slow readers (the process list, `php-fpm -i`) tend
 * to land in different batches. One shell runs its batch's commands one after another; a few
 * shells side by side finish the round sooner, for one more SSH session each on the host.
 */
function batchGroups<T>(items: readonly T[]): T[][] {
  const n = Math.max(1, Math.min(MAX_BATCHES, Math.floor(items.length / MIN_PER_BATCH)));
  const groups: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => (groups[i % n] as T[]).push(item));
  return groups;
}

/** One run of a check; `subject` for a check run once per item (`each`): what this run is about. */
type Ready = { check: PlaybookCheck; tries: Attempt[]; subject?: string };

/** A check's runs: one, or one per item of its `each` list (each with the item as its subject). */
function runsOf(check: PlaybookCheck, discovery: Discovery, inventory: Facts): Ready[] {
  if (check.each === undefined) return [{ check, tries: attempts(check, discovery.facts, inventory) }];
  const list = check.each;
  return discovery.items[list].map((item) => ({
    check,
    tries: attempts(check, discovery.facts, inventory, { list, item }),
    subject: item.subject,
  }));
}

/** Checks sent to the host together: one batch, or one check alone. `done` gives their results in `members`' order. */
interface Unit {
  members: Ready[];
  done: Promise<CheckResult[]>;
}

/**
 * Starts one round of checks. The primaries go to the host in batches (one SSH session, one
 * shell each; see batchCommand), grouped by timeout: those with the playbook's default timeout
 * together, split in a few batches side by side when there are many (see batchGroups), and
 * those with a timeout of their own together by that timeout, beside them, so that a check
 * bounded to a few seconds is never held up by the default batch. Network probes (curl) each
 * run on their own: they wait on the network, and one that hangs on a sick host must not hold
 * up the others. So does a check alone in its group. A command a batch did not finish
 * (timeout, output cap) runs again alone. Returns the round's units, and its checks in the
 * order their results are reported (the batched ones first, each part in the round's order).
 */
function startRound(
  ready: Ready[],
  host: TargetHost,
  playbook: Playbook,
  runner: CommandRunner,
  onResult: (r: CheckResult) => void,
): { units: Unit[]; order: Ready[] } {
  const alone = (r: Ready, first?: CheckResult): Promise<CheckResult> =>
    runCheck(r.check, r.tries, host, playbook, runner, first).then((res) => {
      if (r.subject !== undefined) res.subject = r.subject;
      onResult(res);
      return res;
    });
  const probe = (r: Ready): boolean => r.tries[0]?.kind === 'argv' && /(^|\/)curl$/.test(r.tries[0].argv[0] ?? '');
  const others = ready.filter((r) => r.tries[0]?.kind !== 'argv' || probe(r));
  const byTimeout = new Map<string, Ready[]>();
  for (const r of ready) {
    if (others.includes(r)) continue;
    const key = r.check.timeout ?? playbook.defaultTimeout;
    byTimeout.set(key, [...(byTimeout.get(key) ?? []), r]);
  }
  const oneBatch = async (group: Ready[], timeout: string): Promise<CheckResult[]> => {
    if (group.length === 1) return [await alone(group[0] as Ready)];
    const specs = group.map((r) => commandSpec(r.check, (r.tries[0] as { argv: string[] }).argv, host, playbook));
    const nonce = randomBytes(16).toString('hex');
    const argvs = specs.map(hostArgv);
    const timeoutMs = parseDuration(timeout) ?? 10_000;
    const out = await runner.run(batchCommand(argvs, nonce), {
      timeoutMs,
      maxBytes: BATCH_BYTES_PER_COMMAND * specs.length,
      readOnly: true,
    });
    const parts = splitBatchOutput(out.stdout, out.stderr, nonce, specs.length);
    return Promise.all(
      group.map((r, i) => {
        const part = parts[i];
        const spec = specs[i] as CommandSpec;
        if (part === undefined) return alone(r);
        const first = checkResult(spec, shellQuote(hostArgv(spec)), {
          ...part,
          truncated: false,
          timedOut: false,
          durationMs: out.durationMs,
        });
        return alone(r, first);
      }),
    );
  };
  const groups = [...byTimeout].flatMap(([timeout, members]) =>
    (timeout === playbook.defaultTimeout ? batchGroups(members) : [members]).map((g) => ({ g, timeout })),
  );
  const units: Unit[] = [
    ...groups.map(({ g, timeout }) => ({ members: g, done: oneBatch(g, timeout) })),
    ...others.map((r) => ({ members: [r], done: alone(r).then((res) => [res]) })),
  ];
  return { units, order: [...ready.filter((r) => !others.includes(r)), ...others] };
}

/**
 * Diagnoses one host: runs the playbook's read-only checks over one SSH connection, in rounds
 * (a check waits until the facts it needs are discovered by earlier ones), then classifies.
 * Throws MedicError SSH_* when the host cannot be reached.
 */
export async function diagnoseHost(request: DiagnoseRequest, deps: JobDeps): Promise<Diagnosis> {
  return (await diagnoseHostDetailed(request, deps)).diagnosis;
}

export async function diagnoseHostDetailed(request: DiagnoseRequest, deps: JobDeps, openRunner?: CommandRunner): Promise<DiagnoseOutcome> {
  const { playbook } = request;
  // The URL asked about is a fact of this diagnosis only: the inventory's own facts stay as they are.
  const host =
    request.url === undefined
      ? request.host
      : { ...request.host, facts: mergeFacts(request.host.facts, { site: { publicUrl: request.url } }) };
  const started = deps.now();
  const t0 = performance.now();
  const progress = deps.onProgress ?? (() => {});
  let runner = openRunner;
  if (runner === undefined) {
    progress({ kind: 'connecting', host: host.name });
    runner = await deps.connector.connect(host);
    progress({ kind: 'connected', host: host.name });
  }
  try {
    const run: RoundsContext = { host, playbook, runner, deps };
    // One stack is the common case and is read in the fewest rounds; only when the process list
    // shows several is each stack read again with its own masters (the host-wide results kept).
    const { results, discovery } = await runRounds(run, playbook.checks, host.facts);
    const stacks = severalStacks(discovery, host.facts);
    if (stacks !== undefined) {
      const outcome = await diagnoseStacks(run, request, { results, discovery }, stacks);
      return {
        ...outcome,
        diagnosis: { ...outcome.diagnosis, startedAt: started.toISOString(), durationMs: Math.round(performance.now() - t0) },
      };
    }
    progress({ kind: 'classifying', host: host.name });
    const classification = classifyRun(request, deps, results, discovery);
    const verdict = classification.findings[0];
    const diagnosis: Diagnosis = {
      host: host.name,
      playbook: playbook.name,
      startedAt: started.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      verdict: verdict === undefined ? { cause: 'unknown_502', title: 'No finding' } : { cause: verdict.cause, title: verdict.title },
      findings: classification.findings,
      incomplete: classification.incomplete,
      gaps: classification.gaps,
      ...untrusted(discovery),
      facts: summarizeFacts(discovery),
      checks: results.map((r) => ({
        id: r.subject === undefined ? r.id : `${r.id} ${r.subject}`,
        status: r.status,
        durationMs: r.durationMs,
        truncated: r.truncated,
      })),
    };
    return { diagnosis, results, discovery };
  } finally {
    if (openRunner === undefined) await runner.close().catch(() => {});
  }
}

interface RoundsContext {
  host: TargetHost;
  playbook: Playbook;
  runner: CommandRunner;
  deps: JobDeps;
}

/**
 * Runs checks in rounds: a check waits until the facts it needs are discovered by earlier ones.
 * `seed` results count as already run (their checks are not run again).
 */
async function runRounds(
  { host, playbook, runner, deps }: RoundsContext,
  checks: readonly PlaybookCheck[],
  overrides: Facts,
  selection?: StackSelection,
  seed: readonly CheckResult[] = [],
): Promise<{ results: CheckResult[]; discovery: Discovery }> {
  const progress = deps.onProgress ?? (() => {});
  // Every result with its place in the report: the order checks were started in (see startRound).
  let placed = 0;
  const landed: { at: number; result: CheckResult }[] = seed.map((result) => ({ at: placed++, result }));
  const inOrder = (): CheckResult[] => landed.toSorted((a, b) => a.at - b.at).map((l) => l.result);
  // Units whose checks discovery does not read (logs, probes…) run on while later rounds start.
  const running: Promise<void>[] = [];
  let runningFailed: { error: unknown } | undefined;
  const seeded = new Set(seed.map((r) => r.id));
  let pending = checks.filter((c) => !seeded.has(c.id));
  let discovery = discover(inOrder(), overrides, selection);
  let finalRound = false;
  for (;;) {
    const ready: Ready[] = [];
    const placesPending =
      !finalRound &&
      pending.some(
        (p) =>
          isPlaceCheck(p) &&
          (p.each === undefined ||
            discovery.items[p.each].length > 0 ||
            pending.some((q) => LIST_SOURCES[p.each as EachList].includes(q.parse))),
      );
    for (const check of pending) {
      const cond = conditionHolds(check, discovery.facts);
      if (cond === undefined && !finalRound) continue;
      if (cond !== true) continue;
      // Nothing discovery took from a master is used before its cgroup and mounts say it is this host's.
      if (placesPending && !isPlaceCheck(check) && usesDiscovery(check)) continue;
      // A list is complete only once the checks it is discovered from have run.
      const sources = check.each === undefined ? [] : LIST_SOURCES[check.each];
      if (!finalRound && pending.some((p) => p !== check && sources.includes(p.parse))) continue;
      // A fallback is only used once discovery can no longer supply the primary's facts.
      const canRun = (tries: Attempt[]): boolean =>
        (tries[0] as Attempt).kind !== 'missing' || (finalRound && tries.some((t) => t.kind !== 'missing'));
      ready.push(...runsOf(check, discovery, host.facts).filter((r) => canRun(r.tries)));
    }
    if (ready.length === 0) {
      if (finalRound) break;
      finalRound = true;
      continue;
    }
    finalRound = false;
    for (const { check } of ready) progress({ kind: 'check-started', host: host.name, check: check.id });
    const { units, order } = startRound(ready, host, playbook, runner, (result) => {
      progress({ kind: 'check-finished', host: host.name, check: result.id, status: result.status, durationMs: result.durationMs });
      deps.logger.debug(
        {
          check: result.id,
          subject: result.subject,
          status: result.status,
          exitCode: result.exitCode,
          durationMs: result.durationMs,
          command: result.command,
        },
        'check finished',
      );
    });
    const at = new Map(order.map((r) => [r, placed++]));
    const land = (unit: Unit) => (results: CheckResult[]) => {
      results.forEach((result, i) => landed.push({ at: at.get(unit.members[i] as Ready) as number, result }));
    };
    // The next round waits only for what discovery reads: nothing else can change which checks
    // run next or how (discover() ignores it), so the rest runs on beside the next rounds.
    const awaited: Promise<void>[] = [];
    for (const unit of units) {
      if (unit.members.some((r) => DISCOVERY_INPUTS.has(r.check.parse))) awaited.push(unit.done.then(land(unit)));
      else {
        running.push(
          unit.done.then(land(unit), (error: unknown) => {
            runningFailed ??= { error };
          }),
        );
      }
    }
    await Promise.all(awaited);
    if (runningFailed !== undefined) throw runningFailed.error;
    const done = new Set(ready.map((r) => r.check.id));
    pending = pending.filter((c) => !done.has(c.id));
    discovery = discover(inOrder(), overrides, selection);
  }
  await Promise.all(running);
  if (runningFailed !== undefined) throw runningFailed.error;
  const results = inOrder();
  for (const check of pending) {
    const cond = conditionHolds(check, discovery.facts);
    if (cond === false) results.push(skipped(check, check.when === 'systemd' ? 'the host does not run systemd' : 'the host runs systemd'));
    else if (cond === undefined) results.push(skipped(check, 'could not tell whether the host runs systemd'));
    else if (check.each !== undefined && discovery.items[check.each].length === 0) {
      results.push(skipped(check, `needs ${check.each}, which discovery did not find`));
    } else {
      const missing = runsOf(check, discovery, host.facts).flatMap((r) => r.tries.flatMap((t) => (t.kind === 'missing' ? t.facts : [])));
      results.push(skipped(check, `needs ${[...new Set(missing)].join(', ')}, which discovery did not find`));
    }
  }
  return { results, discovery };
}

const isPlaceCheck = (check: PlaybookCheck): boolean => MASTER_PLACE_KINDS.includes(check.parse);

/** Does the check's command take anything from discovery (a fact or a list)? Fixed commands need not wait. */
const usesDiscovery = (check: PlaybookCheck): boolean =>
  check.each !== undefined || [check.run, ...(check.fallback ?? [])].some((argv) => argv.some((a) => a.includes('{{')));

function classifyRun(request: DiagnoseRequest, deps: JobDeps, results: CheckResult[], discovery: Discovery): Classification {
  const now = discovery.hostNow ?? deps.now();
  const windowMs =
    request.since !== undefined
      ? Math.max(0, now.getTime() - request.since.getTime())
      : (parseDuration(request.playbook.window) ?? 900_000);
  return classify({ picture: discovery.picture, results, now, utcOffsetMinutes: discovery.utcOffsetMinutes ?? 0, windowMs });
}

function untrusted(discovery: Discovery): Pick<Diagnosis, 'untrustedMasters'> {
  const list = discovery.picture.untrustedMasters;
  if (list.length === 0) return {};
  return {
    untrustedMasters: list.map((u) => ({
      pid: u.pid,
      user: u.user,
      status: u.status,
      title: sanitizeLine(u.args, 300),
      why: sanitizeLine(u.why, 300),
    })),
  };
}

/**
 * The host runs several nginx or php-fpm masters and the inventory does not pin both sides: the
 * trusted masters, to be paired into stacks. Undefined when there is one of each (or both are
 * pinned). A pin of one side alone selects the stack that holds it (see diagnoseStacks).
 */
export function severalStacks(discovery: Discovery, inventory: Facts): Discovery['picture']['trustedMasters'] | undefined {
  if (inventory.nginx?.conf !== undefined && inventory.fpm?.conf !== undefined) return undefined;
  const trusted = discovery.picture.trustedMasters;
  return trusted.nginx.length > 1 || trusted.fpm.length > 1 ? trusted : undefined;
}

/** Results every stack shares: what runs on the host, its clock, its service manager. */
const HOST_WIDE: ReadonlySet<string> = new Set([
  'processes',
  'host_time',
  'systemd_probe',
  'units',
  'unit_pids',
  'memory',
  'kernel_log',
  'sockets',
  'cgroup',
  'mountinfo',
  'origin_probe',
]);

/** One stack of a host that runs several: how it pairs, and its own checks and discovery. */
export interface StackOutcome {
  stack: Stack;
  results: CheckResult[];
  discovery: Discovery;
}

/**
 * Several stacks on one host: pair each nginx with the php-fpm pools and backends listening
 * where it points (reading each one's config, and `ss -p` for the backends), diagnose each stack
 * with only its own masters and the inventory facts that hold for it, and report the findings of
 * all, each saying its stack; the verdict is the worst. A finding keeps the remediations that can
 * act on its stack alone (see stackRemediationProblem) and names the stack by its key, so that
 * the button or `medic remediate --stack` acts on that stack and nothing else.
 */
async function diagnoseStacks(
  run: RoundsContext,
  request: DiagnoseRequest,
  first: { results: CheckResult[]; discovery: Discovery },
  trusted: Discovery['picture']['trustedMasters'],
): Promise<DiagnoseOutcome> {
  const { host, playbook, deps } = run;
  const counts = { nginx: trusted.nginx.length, fpm: trusted.fpm.length };
  // Scouting one master uses only the inventory facts that hold for it: a pinned nginx.conf
  // would otherwise be read in place of every other nginx's own.
  const scoutFacts = (side: Parameters<typeof stackFacts>[1]): Facts => stackFacts(host.facts, side, counts);
  const seed = first.results.filter((r) => HOST_WIDE.has(r.parse));
  const only = (kinds: string[]): PlaybookCheck[] => playbook.checks.filter((c) => kinds.includes(c.parse) && c.id !== 'php_ini');
  const nginxSides: NginxSide[] = [];
  for (const n of trusted.nginx) {
    const scout = await runRounds(
      run,
      only(['nginx_config']),
      scoutFacts({ ...(n.conf === undefined ? {} : { nginxConf: n.conf }), fpmPid: null }),
      { nginxPid: n.pid, fpmPid: null },
      seed,
    );
    nginxSides.push({ pid: n.pid, ...(n.conf === undefined ? {} : { conf: n.conf }), upstreams: scout.discovery.picture.nginx.upstreams });
  }
  const fpmSides: FpmSide[] = [];
  for (const f of trusted.fpm) {
    const scout = await runRounds(
      run,
      only(['fpm_config']),
      scoutFacts({ ...(f.conf === undefined ? {} : { fpmConf: f.conf }), fpmPid: f.pid }),
      { nginxPid: null, fpmPid: f.pid },
      seed,
    );
    fpmSides.push({ pid: f.pid, ...(f.conf === undefined ? {} : { conf: f.conf }), pools: scout.discovery.picture.fpm.pools });
  }
  const listeners: Listener[] = seed
    .filter((r) => r.parse === 'sockets' && usable(r))
    .flatMap((r) => parseSockets(r.stdout))
    .flatMap((l) =>
      l.endpoint === undefined ? [] : [{ endpoint: l.endpoint, ...(l.process === undefined ? {} : { process: l.process }) }],
    );
  const paired = pairStacks(nginxSides, fpmSides, listeners);
  // A pinned php-fpm that is down: its config file still says where its pools listen.
  const pinnedFpm = host.facts.fpm?.conf;
  let pinnedPools: FpmSide['pools'][number][] = [];
  if (pinnedFpm !== undefined && pickMaster(trusted.fpm, pinnedFpm) === undefined) {
    const scout = await runRounds(
      run,
      only(['fpm_config']),
      { ...scoutFacts({ fpmPid: null }), fpm: { conf: pinnedFpm } },
      { nginxPid: null, fpmPid: null },
      seed,
    );
    pinnedPools = scout.discovery.picture.fpm.pools;
  }
  const stacks = selectStacks(paired, trusted, host.facts, pinnedPools);

  const all: CheckResult[] = [...seed];
  const findings: Finding[] = [];
  const gaps: Gap[] = [];
  const outcomes: StackOutcome[] = [];
  let incomplete = false;
  let discovery = first.discovery;
  const summaries: Record<string, unknown>[] = [];
  for (const [i, stack] of stacks.entries()) {
    const overrides = stackFacts(host.facts, stack, counts);
    const r = await runRounds(run, playbook.checks, overrides, { nginxPid: stack.nginxPid, fpmPid: stack.fpmPid }, seed);
    if (i === 0) discovery = r.discovery;
    outcomes.push({ stack, results: r.results, discovery: r.discovery });
    all.push(...r.results.filter((x) => !HOST_WIDE.has(x.parse)).map((x) => ({ ...x, id: `${x.id}@${stack.nginxPid}` })));
    const c = classifyRun(request, deps, r.results, r.discovery);
    incomplete ||= c.incomplete;
    const label = sanitizeLine(stack.label, 300);
    for (const f of c.findings) {
      const kept: RemediationId[] = [];
      const withheld: string[] = [];
      for (const id of f.remediations) {
        const problem = stackRemediationProblem(id, stack);
        const plan = problem === null ? planRemediation(id, r.discovery.picture, r.discovery.facts) : undefined;
        if (problem === null && plan?.ok === true) kept.push(id);
        else withheld.push(`${id}: ${problem ?? (plan !== undefined && !plan.ok ? plan.reason : '')}`);
      }
      const why =
        withheld.length === 0
          ? []
          : [`Several stacks run on this host; not offered for this one: ${sanitizeLine(withheld.join('; '), 600)}`];
      findings.push({
        ...f,
        stack: label,
        stackKey: stack.key,
        title: `${label}: ${f.title}`,
        remediations: kept,
        nextSteps: [...f.nextSteps, ...why],
      });
    }
    for (const g of c.gaps)
      if (!gaps.some((x) => x.check === g.check && x.reason === g.reason)) gaps.push({ ...g, check: `${g.check} (${label})` });
    summaries.push({
      stack: label,
      key: sanitizeLine(stack.key, 300),
      backends: stack.backends.map((b) => summarizeBackend(b)),
      ...summarizeFacts(r.discovery),
    });
  }
  const ranked = rank(findings);
  const verdict = ranked[0];
  const diagnosis: Diagnosis = {
    host: host.name,
    playbook: playbook.name,
    startedAt: '',
    durationMs: 0,
    verdict: verdict === undefined ? { cause: 'unknown_502', title: 'No finding' } : { cause: verdict.cause, title: verdict.title },
    findings: ranked,
    incomplete,
    gaps,
    ...untrusted(first.discovery),
    facts: { ...summarizeFacts(first.discovery), stacks: summaries },
    checks: all.map((r) => ({
      id: r.subject === undefined ? r.id : `${r.id} ${r.subject}`,
      status: r.status,
      durationMs: r.durationMs,
      truncated: r.truncated,
    })),
  };
  return { diagnosis, results: all, discovery, stacks: outcomes };
}

function summarizeBackend(b: Backend): Record<string, unknown> {
  return {
    pass: sanitizeLine(`${b.kind}_pass ${b.target}`, 300),
    listening: b.listening,
    ...(b.process === undefined ? {} : { process: `${sanitizeLine(b.process.name, 64)} (pid ${b.process.pid})` }),
  };
}

function summarizeFacts({ picture, facts }: Discovery): Record<string, unknown> {
  return {
    systemd: facts.systemd,
    nginx: {
      running: picture.nginx.running,
      conf: facts.nginx?.conf,
      errorLog: facts.nginx?.errorLog,
      upstreams: picture.nginx.upstreams.map((u) => `${u.kind}_pass ${u.target}`),
      vhosts: picture.nginx.vhostProbes,
      ...(facts.site?.publicUrl === undefined ? {} : { publicUrl: facts.site.publicUrl }),
      notChecked: picture.nginx.notChecked,
    },
    fpm: {
      running: picture.fpm.running,
      conf: facts.fpm?.conf,
      errorLog: facts.fpm?.errorLog,
      pools: picture.fpm.pools.map((p) => ({ name: p.name, listen: p.listen, pm: p.pm, maxChildren: p.maxChildren })),
      workers: picture.fpm.workers.length,
    },
    memTotalBytes: picture.memTotalBytes,
  };
}
