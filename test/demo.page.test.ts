import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../src/demo/start-demo.ts';
import { launchChromium } from './helpers/browser.ts';
import { eventually } from './helpers/slack.ts';

const START = 'remediate:start_php_fpm';
const ARTIFACTS = new URL('../test-artifacts/', import.meta.url);

/** Pids of `pids` that ps still lists as running (zombies waiting for their reaper do not count). */
function running(pids: number[]): number[] {
  let text = '';
  try {
    text = execFileSync('ps', ['-o', 'pid=,stat=', '-p', pids.join(',')], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when it lists none
  }
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, stat]) => pid !== undefined && pid !== '' && !String(stat).startsWith('Z'))
    .map(([pid]) => Number(pid));
}

/**
 * The demo end to end, as a person uses it: the page in headless Chromium, the real bot and
 * worker, a real Redis and the lab's web-01 with php-fpm stopped. Typing and clicking go through
 * the page's server, signed like Slack; what the page shows is what the bot sent.
 */
describe('the demo page in a browser', () => {
  let demo: Demo;
  let browser: Browser;
  let page: Page;
  let startedPids: number[] = [];

  beforeAll(async () => {
    [demo, browser] = await Promise.all([startDemo({ envFile: false, logLevel: 'silent' }), launchChromium()]);
    startedPids = await demo.pids();
    page = await browser.newPage({ viewport: { width: 1480, height: 1000 } });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('starts Redis, the broken lab, the stand-in and the bot on 127.0.0.1', async () => {
    expect(demo.mode).toBe('stand-in');
    expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(demo.botUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.ownRedis).toBe(true);
    expect(startedPids).toHaveLength(4); // redis-server, nginx, the Node backend, sshd; php-fpm is down
    const site = await fetch(`http://127.0.0.1:${demo.lab.nginxPort}/`);
    expect(site.status).toBe(502);
    const ready = await fetch(`${demo.botUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, checks: { redis: true, slack: true } });
  });

  it('diagnoses web-01 typed in the composer and shows the threaded report from the Block Kit the bot sent', async () => {
    await page.goto(demo.url as string);
    await page.locator('.empty-title').waitFor();
    await page.fill('#composer', '/502 diagnose web-01');
    await page.press('#composer', 'Enter');

    const root = page.locator('#messages .message', { hasText: 'web-01: PHP-FPM is down' });
    await root.waitFor({ timeout: 20_000 });
    const thread = page.locator('#thread-messages');
    const evidence = thread
      .locator('pre.bk-pre', { hasText: 'php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream' })
      .first();
    await evidence.waitFor({ timeout: 20_000 });

    // mrkdwn became markup, not literal asterisks and fences; the cause id is inline code.
    expect(await root.locator('.bk-header').textContent()).toBe('web-01: PHP-FPM is down');
    expect(await root.locator('code.bk-code', { hasText: 'php_fpm_down' }).count()).toBe(1);
    expect(await thread.locator('strong', { hasText: 'PHP-FPM is not running' }).count()).toBeGreaterThan(0);
    expect(await thread.textContent()).not.toContain('```');
    // The queued notice went to the requester only, through response_url, and reads as such.
    expect(await page.locator('#messages .message.ephemeral', { hasText: 'diagnosis queued' }).count()).toBe(1);

    // The page shows every reply the stand-in recorded in the thread, nothing more.
    const rootMsg = demo.standIn?.messages({ channel: 'C0DEMOOPS', rootsOnly: true }).find((m) => m.visibleTo === undefined);
    if (rootMsg === undefined) expect.unreachable('the stand-in recorded no root message');
    const replies = demo.standIn?.messages({ channel: 'C0DEMOOPS', threadTs: rootMsg.ts }) ?? [];
    expect(replies.length).toBeGreaterThan(0);
    expect(await thread.locator('.message').count()).toBe(1 + replies.length);
  });

  it('refuses a click by someone who is not an approver, and tells only them', async () => {
    await page.selectOption('#viewer', 'U0MALLORY');
    const button = page.locator(`#thread-messages button[data-action-id="${START}"]`);
    await button.waitFor();
    await button.click();
    await page.locator('.bk-confirm .bk-confirm-button').click();
    await page.locator('#thread-messages .message.ephemeral', { hasText: 'not allowed to approve' }).waitFor({ timeout: 10_000 });
    await page.selectOption('#viewer', 'U0ALICE');
    await page.locator('#thread-messages .message', { hasText: 'Needs an approver' }).waitFor();
    expect(await page.locator('.message', { hasText: 'not allowed to approve' }).count()).toBe(0);
  });

  it('asks for confirmation, then runs start_php_fpm, verifies, and updates the message in place', async () => {
    const button = page.locator(`#thread-messages button[data-action-id="${START}"]`);
    await button.click();
    const dialog = page.locator('.bk-confirm');
    await dialog.waitFor();
    expect(await dialog.locator('.bk-confirm-title').textContent()).toBe('Start PHP-FPM on web-01?');
    expect(await dialog.textContent()).toContain('then checks again');
    // Cancel first: nothing may run.
    await dialog.locator('.bk-deny').click();
    await dialog.waitFor({ state: 'detached' });
    expect(demo.standIn?.calls.filter((c) => c.method === '(ack)' || c.method === '(response_url)')).not.toContainEqual(
      expect.objectContaining({ args: expect.objectContaining({ text: expect.stringContaining('Approved') }) }),
    );

    await button.click();
    await page.screenshot({ path: new URL('demo-confirm.png', ARTIFACTS).pathname });
    await dialog.locator('.bk-confirm-button').click();

    const thread = page.locator('#thread-messages');
    await thread.locator('.message', { hasText: 'Verification:' }).first().waitFor({ timeout: 30_000 });
    await thread.locator('.message', { hasText: 'done; the host recovered' }).waitFor({ timeout: 10_000 });
    await page.locator('#messages .message', { hasText: 'done, the host recovered' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#messages .message', { hasText: 'done, the host recovered' }).locator('.edited').count()).toBe(1);
    // The buttons are gone from the updated finding, and the site really answers again.
    expect(await page.locator(`button[data-action-id="${START}"]`).count()).toBe(0);
    expect((await fetch(`http://127.0.0.1:${demo.lab.nginxPort}/`)).status).toBe(200);
    await page.screenshot({ path: new URL('demo-report.png', ARTIFACTS).pathname });
  });

  it('counts it all in /metrics: jobs by outcome, duration, queue depth, remediations, refusals', async () => {
    const metrics = await eventually(
      async () => {
        const text = await (await fetch(`${demo.botUrl}/metrics`)).text();
        return text.includes('medic_jobs_total{queue="remediate",outcome="completed"} 1') ? text : undefined;
      },
      10_000,
      'the remediate job in /metrics',
    );
    expect(metrics).toContain('medic_jobs_total{queue="diagnose",outcome="completed"} 1');
    expect(metrics).toContain('medic_diagnosis_duration_seconds_count{cause="php_fpm_down"} 1');
    expect(metrics).toMatch(/medic_diagnosis_duration_seconds_bucket\{le="60",cause="php_fpm_down"\} 1/);
    expect(metrics).toContain('medic_queue_depth{queue="diagnose",state="waiting"} 0');
    expect(metrics).toContain('medic_queue_depth{queue="remediate",state="active"} 0');
    expect(metrics).toContain('medic_remediations_total{remediation="start_php_fpm",outcome="recovered"} 1');
    expect(metrics).toContain('medic_refusals_total{reason="not_approver"} 1');
    expect(metrics).toContain('medic_approvals_total{remediation="start_php_fpm"} 1');
    expect(metrics).toMatch(/^# TYPE medic_ssh_errors_total counter$/m);
  });

  it('breaks the lab another way from the page, and the next report says so', async () => {
    await page.selectOption('#scenario', 'socket_mismatch');
    await page.click('#apply-scenario');
    await page.locator('#lab-status', { hasText: 'Now: socket_mismatch' }).waitFor({ timeout: 20_000 });
    await page.fill('#composer', '/502 diagnose web-01');
    await page.press('#composer', 'Enter');
    await page.locator('#messages .message .bk-header', { hasText: 'web-01: Socket mismatch' }).waitFor({ timeout: 20_000 });
    // The thread that opened is the new report's.
    await page.locator('#thread-messages button[data-action-id="remediate:reload_nginx"]').waitFor();
    expect(await page.locator('#thread-messages .bk-header').textContent()).toBe('web-01: Socket mismatch');
  });

  it('renders hostile mrkdwn as text: entities decoded, no markup from the message', async () => {
    const input =
      '*bold* a&amp;b &lt;script&gt;alert(1)&lt;/script&gt; `&lt;img src=x onerror=alert(1)&gt;`\n```&lt;b&gt;not bold&lt;/b&gt;\n*not bold either*```<https://example.com/x?a=1&amp;b=2|a link> <javascript:alert(1)|bad> <@U0ALICE> x*y*z';
    // A string, not a function: the test's transform must not rewrite the browser's import().
    const html = await page.evaluate<{ html: string; text: string; scripts: number }>(`import('/block-kit.js').then((bk) => {
      const node = bk.mrkdwn(${JSON.stringify(input)});
      return { html: node.innerHTML, text: node.textContent, scripts: node.querySelectorAll('script,img,b').length };
    })`);
    expect(html.scripts).toBe(0);
    expect(html.text).toContain('a&b <script>alert(1)</script> <img src=x onerror=alert(1)>');
    expect(html.text).toContain('<b>not bold</b>\n*not bold either*');
    expect(html.html).toContain('<strong>bold</strong>');
    expect(html.html).toContain('<a class="bk-link" href="https://example.com/x?a=1&amp;b=2"');
    expect(html.html).not.toMatch(/href="javascript/i);
    expect(html.text).toContain('<javascript:alert(1)|bad>');
    expect(html.text).toContain('x*y*z');
    expect(html.text).toContain('@U0ALICE');
  });

  it('takes orders from its own page only: JSON, addressed to 127.0.0.1', async () => {
    const form = await fetch(new URL('/api/command', demo.url), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ text: '/502 diagnose web-01' }),
    });
    expect(form.status).toBe(415);
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(new URL('/api/state', demo.url), { headers: { host: 'attacker.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject).end();
    });
    expect(rebound).toBe(421);
  });

  it('stops everything it started, by pid', async () => {
    const pids = [...new Set([...startedPids, ...(await demo.pids())])];
    expect(running(pids).length).toBeGreaterThan(0);
    await demo.stop();
    await eventually(() => running(pids).length === 0, 5000, `pids ${pids.join(',')} to be gone`);
    await expect(fetch(`${demo.botUrl}/healthz`)).rejects.toThrow();
    await expect(fetch(demo.url as string)).rejects.toThrow();
  });
});
