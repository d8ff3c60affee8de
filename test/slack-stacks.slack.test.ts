import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlaybooks } from '../src/adapters/files/load-playbooks.ts';
import { SshConnector } from '../src/adapters/ssh/ssh-connector.ts';
import { parseInventory } from '../src/core/inventory/parse-inventory.ts';
import type { Inventory } from '../src/core/inventory/inventory-schema.ts';
import { SlackStandIn, type StoredMessage } from '../src/dev/slack-stand-in.ts';
import type { Lab } from '../src/lab/lab.ts';
import { isAlive, livePid } from '../src/lab/pids.ts';
import { LAB_HOST, startLab } from '../src/lab/start-lab.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { BOT_TOKEN, blockText, buttonsOf, CHANNEL, roots, startSlackHarness, type SlackHarness } from './helpers/slack.ts';
import { startTogether } from './helpers/start-together.ts';

const RESTART = 'remediate:restart_php_fpm';

/**
 * Two nginx and two php-fpm masters: stray_fpm_beside_stack plus the lab's proxy-only nginx
 * (whose backend is down), and an inventory that pins neither stack. The report's button belongs
 * to the finding of the lab's stack, and clicking it restarts that stack's php-fpm over SSH
 * (the remediation names the stack: on this host an unnamed one is refused), never the stray.
 */
describe('a button on a host with two php-fpm masters acts on the stack of its finding', () => {
  let redis: RedisHandle;
  let lab: Lab;
  let standIn: SlackStandIn;
  let h: SlackHarness;
  let reply: StoredMessage;

  beforeAll(async () => {
    [redis, lab] = await startTogether(startRedis(), startLab());
    standIn = await new SlackStandIn({ botToken: BOT_TOKEN }).start();
    const parsed = parseInventory(await readFile(lab.inventoryPath, 'utf8'), lab.inventoryPath);
    const host = parsed.hosts[LAB_HOST] as NonNullable<Inventory['hosts'][string]>;
    // Nothing pinned: which nginx and php-fpm make a stack is left to pairing. The start command
    // names the lab's php-fpm config, so it holds for that stack alone.
    const facts = {
      kernel: { log: lab.layout.kernelLog },
      fpm: { binary: host.facts.fpm?.binary as string, startCommand: host.facts.fpm?.startCommand as string[] },
    };
    const inventory: Inventory = { ...parsed, hosts: { ...parsed.hosts, [LAB_HOST]: { ...host, facts } } };
    h = await startSlackHarness({
      redisUrl: redis.url,
      inventory,
      playbooks: await loadPlaybooks(),
      connector: new SshConnector(),
      standIn,
      env: { MEDIC_APPROVERS: 'U0ALICE', MEDIC_DEDUP_WINDOW: '1ms', MEDIC_APPROVAL_TTL: '10m' },
    });
    await lab.applyScenario('stray_fpm_beside_stack');
    await lab.startProxyStack();
  });

  afterAll(async () => {
    await h?.stop();
    await standIn?.stop();
    await lab?.stop({ removeDir: true });
    await redis?.stop();
  });

  it("offers Restart PHP-FPM on the finding of the lab's stack, which names its nginx and php-fpm", async () => {
    await h.command(`diagnose ${LAB_HOST}`, 'U0ALICE');
    const root = await standIn.waitFor(() => roots(standIn)[0], 10_000, 'the report');
    // Other labs on this machine may add stacks (and buttons) of their own: this lab's finding names its nginx.
    const ours = (m: StoredMessage): boolean => blockText(m).includes(`nginx ${lab.layout.nginxConf} + php-fpm ${lab.layout.fpmConf}`);
    reply = await standIn.waitFor(
      () =>
        standIn.messages({ channel: CHANNEL, threadTs: root.ts }).find((m) => ours(m) && buttonsOf(m).some((b) => b.actionId === RESTART)),
      60_000,
      'the restart_php_fpm button',
    );
    // The proxy-only stack beside it is reported too, without a button of ours.
    const proxy = await standIn.waitFor(
      () =>
        standIn.messages({ channel: CHANNEL, threadTs: root.ts }).find((m) => blockText(m).includes(`nginx ${lab.secondLayout.nginxConf}`)),
      60_000,
      'the proxy stack',
    );
    expect(buttonsOf(proxy)).toEqual([]);
    expect(buttonsOf(reply).map((b) => b.actionId)).toEqual([RESTART]);
  });

  it('the click restarts that php-fpm; the stray one keeps running with its pid', async () => {
    await lab.repair('pool');
    const own = await livePid(lab.layout.fpmPidFile);
    const stray = await livePid(lab.secondLayout.fpmPidFile);
    if (own === undefined || stray === undefined) throw new Error('both php-fpm masters run in stray_fpm_beside_stack');
    const click = await h.click(reply, RESTART, 'U0ALICE');
    expect(click.status).toBe(200);
    const done = await standIn.waitFor(
      () => {
        const m = standIn.message(reply.channel, reply.ts);
        return m !== undefined && blockText(m).includes('Verification:') ? m : undefined;
      },
      60_000,
      'the remediation result in the message',
    );
    expect(blockText(done)).toContain('done, and the host recovered');
    const commands = h.logs.audit('command').map((l) => String(l.msg));
    expect(commands.filter((c) => c.includes('kill -TERM'))).toEqual([expect.stringContaining(`kill -TERM ${own}`)]);
    expect(isAlive(own)).toBe(false);
    expect(isAlive(stray)).toBe(true);
    expect(await livePid(lab.secondLayout.fpmPidFile)).toBe(stray);
  });
});
