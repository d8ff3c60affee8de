import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import { shellQuote } from '../src/core/playbook/shell-quote.ts';
import type { CommandRunner, TargetHost } from '../src/jobs/ports.ts';
import type { Lab } from '../src/lab/lab.ts';
import { SCENARIOS, type ScenarioName } from '../src/lab/scenarios.ts';
import { LAB_HOST, startLab } from '../src/lab/start-lab.ts';

/** The test names say what is real: the OOM scenario's kernel line is a recording, replayed with the time set to now. */
const title = (name: ScenarioName): string =>
  name === 'oom_killed'
    ? 'oom_killed: php-fpm SIGKILLed by pid + a RECORDED real kernel OOM line (timestamp set to now) in the lab kernel log'
    : `${name}: ${SCENARIOS.get(name)?.summary ?? ''}`;

describe('the 502 lab: every scenario on real nginx, php-fpm and sshd', () => {
  let lab: Lab;
  let host: TargetHost;
  let runner: CommandRunner;

  beforeAll(async () => {
    lab = await startLab();
    const inventory = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    host = { ...(inventory.hosts[LAB_HOST] as NonNullable<(typeof inventory.hosts)[string]>), name: LAB_HOST };
    runner = await new SshConnector().connect(host);
  });

  afterAll(async () => {
    await runner?.close();
    await lab?.stop({ removeDir: true });
  });

  for (const [name, spec] of SCENARIOS) {
    it(title(name), async () => {
      const outcome = await lab.applyScenario(name);
      for (const statuses of Object.values(outcome.traffic)) expect(Object.keys(statuses)).toEqual([String(spec.status)]);
      expect(outcome.lines).toHaveLength(spec.expect.length);
      // The login user sees the very lines the servers wrote, over SSH.
      for (const [i, e] of spec.expect.entries()) {
        const r = await runner.run(shellQuote(['tail', '-n', '3000', lab.logPath(e.log)]), { timeoutMs: 10_000 });
        expect(r.stdout.split('\n')).toContain(outcome.lines[i]);
      }
    });
  }
});
