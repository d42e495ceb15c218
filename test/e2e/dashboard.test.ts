import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type BrowserContext } from 'playwright-core';
import { freePort, waitFor, type AppProcess } from '../support/app-process.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import type { ScriptedTurn } from '../support/model-sim.ts';
import { fixingCalculatorScript, fixingCalculatorTurns } from '../support/scripted-agents.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(ROOT, 'test-results');
const TOKEN = 'dashboard-token-0123456789abcdef';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run', '--disable-component-update', '--disable-sync'];
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`SKIPPED the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)\n`);
const itWithBrowser = haveChromium ? it : it.skip;

/** Prometheus text format → value of one series, e.g. `ai_fix_tasks_total{kind="solve",outcome="pr-opened"}`. */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

function sumOf(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((total, l) => total + Number(l.split(' ').at(-1)), 0);
}

describe('operators: dashboard, metrics, CLI and logs', () => {
  let h: Harness;
  let app: AppProcess;
  let publicUrl: string;
  let context: BrowserContext | undefined;
  let userDataDir: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const cli = (args: string[]) =>
    run(process.execPath, [path.join(ROOT, 'bin/ai-fix.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', REDIS_URL: h.redisUrl, AI_FIX_QUEUE_PREFIX: h.prefix },
    });

  beforeAll(async () => {
    h = await createHarness('dash');
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    app = await h.start('start', { PORT: String(port), AI_FIX_PUBLIC_URL: publicUrl, AI_FIX_DASHBOARD_TOKEN: TOKEN, LOG_LEVEL: 'debug' });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ai-fix-chromium-'));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await h?.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  it('refuses the dashboard, a task page, Bull Board and /metrics without the token (401)', async () => {
    for (const route of ['/dashboard', '/dashboard/tasks/solve-r1-n1-dx', '/dashboard/usage', '/dashboard/queues', '/dashboard/queues/api/queues', '/metrics']) {
      const anonymous = await fetch(`${app.url}${route}`);
      expect(`${route} ${anonymous.status}`).toBe(`${route} 401`);
      expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
      const wrong = await fetch(`${app.url}${route}`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } });
      expect(`${route} ${wrong.status}`).toBe(`${route} 401`);
    }
    const basic = Buffer.from(`anyone:${TOKEN}`).toString('base64');
    expect((await fetch(`${app.url}/dashboard`, { headers: { authorization: `Basic ${basic}` } })).status).toBe(200);
    expect((await fetch(`${app.url}/metrics`, { headers: auth })).status).toBe(200);
    // Bull Board's actions refuse a post from another site, even with the browser's credentials.
    const crossSite = await fetch(`${app.url}/dashboard/queues/api/queues/tasks/pause`, { method: 'PUT', headers: { ...auth, origin: 'http://elsewhere.example' } });
    expect(crossSite.status).toBe(403);
  });

  itWithBrowser(
    'a task run moves the metrics, links its dashboard page, and the page shows its transcript, timeline and cost',
    async () => {
      const repo = await h.newRepo('calculator-dash');
      const issueNumber = h.newIssue(repo);
      // A plan first, then a command that prints a secret the worker knows (the model key).
      const turns: ScriptedTurn[] = [
        { text: 'Plan: run the tests, read calc.js, fix `add`, run the tests again.', toolCalls: [{ name: 'run_shell', arguments: { command: `echo ${h.model.apiKey}`, timeout_seconds: null } }] },
        ...fixingCalculatorTurns(),
      ];
      h.model.script(turns);
      const before = await (await fetch(`${app.url}/metrics`, { headers: auth })).text();

      await h.label(app, repo, issueNumber);
      const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
      const comment = await waitFor('the final progress comment', () => {
        const c = h.progressComment(repo, issueNumber);
        return c?.body.includes('finished') ? c : undefined;
      }, 60_000);

      // GitHub: the comment links the task page; the PR body has the plan and the commands run.
      const pageUrl = /\[Task page\]\(([^)]+)\)/.exec(comment.body)?.[1];
      expect(pageUrl).toMatch(new RegExp(`^${publicUrl}/dashboard/tasks/solve-`));
      expect(pr.body).toContain("<details><summary>The agent's plan and steps (6 tool calls)</summary>");
      expect(pr.body).toContain('> Plan: run the tests, read calc.js');
      expect(pr.body).toContain('3. `read_file calc.js`');
      expect(pr.body).toContain('- `npm test` → passed');
      expect(pr.body).toContain(`([task page](${pageUrl}))`);
      expect(pr.body).not.toContain(h.model.apiKey);

      // Metrics moved in the process where things happened (here one process does both).
      const after = await waitFor('the task counted', async () => {
        const text = await (await fetch(`${app.url}/metrics`, { headers: auth })).text();
        return metric(text, 'ai_fix_tasks_total{kind="solve",outcome="pr-opened"}') > metric(before, 'ai_fix_tasks_total{kind="solve",outcome="pr-opened"}') ? text : undefined;
      }, 20_000);
      const handled = 'ai_fix_webhooks_total{event="issues.labeled",outcome="handled"}';
      expect(metric(after, handled)).toBe(metric(before, handled) + 1);
      expect(sumOf(after, 'ai_fix_task_duration_seconds_count')).toBe(sumOf(before, 'ai_fix_task_duration_seconds_count') + 1);
      expect(metric(after, 'ai_fix_model_tokens_total{model="gpt-5-codex",type="input"}')).toBeGreaterThan(metric(before, 'ai_fix_model_tokens_total{model="gpt-5-codex",type="input"}'));
      expect(metric(after, 'ai_fix_model_dollars_total{model="gpt-5-codex"}')).toBeGreaterThan(metric(before, 'ai_fix_model_dollars_total{model="gpt-5-codex"}'));
      expect(after).toMatch(/ai_fix_tasks\{queue="[^"]+",state="waiting"\} 0/);
      expect(metric(after, 'ai_fix_tasks_active')).toBe(0);

      // The task page in a real browser.
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        httpCredentials: { username: 'operator', password: TOKEN },
        viewport: { width: 1200, height: 900 },
      });
      const outside: string[] = [];
      context.on('request', (request) => {
        if (!request.url().startsWith(publicUrl) && !request.url().startsWith('data:')) outside.push(request.url());
      });
      const page = context.pages()[0] ?? (await context.newPage());
      await waitFor('the finished task page', async () => {
        await page.goto(pageUrl!);
        return (await page.locator('h1 .badge').textContent()) === 'succeeded';
      }, 20_000, 500);
      const text = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
      expect(text).toContain(`acme/${repo.name}#${issueNumber}`);
      expect(text).toContain('Model turn 1');
      expect(text).toContain('Plan: run the tests, read calc.js');
      expect(text).toContain('edit_file');
      expect(text).toContain('return a + b;');
      expect(text).toContain('Tool run_tests passed');
      expect(text).toMatch(/Cost \$0\.\d{3}/);
      expect(text).toMatch(/Tokens \d[\d,]*/);
      expect(text).toContain('Agent working');
      expect(text).toContain('Done');
      // The printed secret is redacted in the transcript (and the page).
      expect(text).toContain('[REDACTED]');
      expect(await page.content()).not.toContain(h.model.apiKey);
      expect(await page.locator('a', { hasText: 'Pull request' }).getAttribute('href')).toMatch(new RegExp(`/pull/${pr.number}$`));
      expect(await page.locator('a', { hasText: `Issue #${issueNumber}` }).getAttribute('href')).toContain(`/issues/${issueNumber}`);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-task.png'), fullPage: true });

      // The usage page and its chart.
      await page.goto(`${publicUrl}/dashboard/usage?since=7d`);
      const bars = page.locator('svg#spend-chart rect.bar');
      expect(await bars.count()).toBeGreaterThanOrEqual(7);
      const heights = await bars.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('height'))));
      expect(Math.max(...heights)).toBeGreaterThan(0);
      const usage = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
      expect(usage).toContain('Success rate 100%');
      expect(usage).toContain(`acme/${repo.name} 1 100%`);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-usage.png'), fullPage: true });

      // The task list and Bull Board.
      await page.goto(`${publicUrl}/dashboard`);
      expect(await page.locator(`a[href$="${new URL(pageUrl!).pathname.split('/').at(-1)}"]`).count()).toBe(1);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-tasks.png'), fullPage: true });
      await page.goto(`${publicUrl}/dashboard/queues`);
      // Bull Board's own UI: its queue list, then the queue's counts from its API, through our auth.
      await page.getByText('tasks', { exact: true }).first().waitFor({ timeout: 15_000 });
      await page.getByText(/completed/i).first().waitFor({ timeout: 15_000 });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-queues.png'), fullPage: true });
      expect(outside).toEqual([]);

      // Every log line about the task carries its repository, issue, job and delivery ids.
      const jobId = decodeURIComponent(new URL(pageUrl!).pathname.split('/').at(-1)!);
      const lines = app
        .output()
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
      const taskLines = lines.filter((line) => line.jobId === jobId);
      expect(taskLines.length).toBeGreaterThan(5);
      expect(taskLines.map((line) => line.msg)).toEqual(expect.arrayContaining(['task started', 'agent stopped', 'pull request ready', 'job completed']));
      for (const line of taskLines) {
        expect({ msg: line.msg, repo: line.repo, issue: line.issue, delivery: typeof line.deliveryId }).toEqual({
          msg: line.msg,
          repo: `acme/${repo.name}`,
          issue: issueNumber,
          delivery: 'string',
        });
      }
      expect(app.output()).not.toContain(h.model.apiKey);

      // The CLI reports the same usage.
      const { stdout: report } = await cli(['usage', '--since', '7d']);
      expect(report).toMatch(/tasks 1 · success rate 100% · median time to PR \d+s/);
      expect(report).toMatch(new RegExp(`acme/${repo.name}\\s+1\\s+100%\\s+[\\d,]+\\s+\\$0\\.\\d{3}`));
    },
    150_000,
  );

  it('ai-fix status lists the queue and an active task with its stage and step', async () => {
    const repo = await h.newRepo('calculator-status');
    const issueNumber = h.newIssue(repo);
    // The third model call waits, so the task stays active at a known step while we look.
    h.model.script(fixingCalculatorScript({ slowStep: 2, delayMs: 60_000 }));
    await h.label(app, repo, issueNumber);
    const status = await waitFor('the active task in ai-fix status', async () => {
      const { stdout } = await cli(['status']);
      return stdout.includes(`acme/${repo.name}#${issueNumber}`) && / working +2 of \d+/.test(stdout) ? stdout : undefined;
    }, 30_000, 500);
    expect(status).toContain('active 1');
    // The worker says how it isolates the agent and which toolchains its sandbox found.
    expect(status).toMatch(/Workers \(sandbox/);
    expect(status).toMatch(/ (bwrap|none) +\S.* node \d+\.\d+/);
    expect(status).toMatch(new RegExp(`acme/${repo.name}#${issueNumber} +solve +working +2 of 200 +\\d+s +solve-`));
    const { stdout: help } = await cli(['status', '--help']);
    expect(help).toContain('Usage: ai-fix status');
  }, 60_000);
});

describe('metrics with a separate server and worker', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness('metrics-split');
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('each process serves its own /metrics: webhooks and queue depth on the server, tasks and tokens on the worker', async () => {
    const metricsPort = await freePort();
    const server = await h.start('serve', { AI_FIX_METRICS_TOKEN: TOKEN });
    await h.start('worker', { AI_FIX_METRICS_PORT: String(metricsPort), AI_FIX_METRICS_TOKEN: TOKEN });
    const workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    await waitFor('the worker metrics listener', () => fetch(workerMetrics).then(() => true, () => false), 10_000);
    expect((await fetch(workerMetrics)).status).toBe(401);
    // The metrics token opens /metrics only, not the dashboard (no dashboard token is set).
    expect((await fetch(`${server.url}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(403);

    const repo = await h.newRepo('calculator-split');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorTurns());
    await h.label(server, repo, issueNumber);
    await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);

    const fromWorker = await waitFor('the task counted by the worker', async () => {
      const text = await (await fetch(workerMetrics, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      return metric(text, 'ai_fix_tasks_total{kind="solve",outcome="pr-opened"}') === 1 ? text : undefined;
    }, 20_000);
    expect(metric(fromWorker, 'ai_fix_model_tokens_total{model="gpt-5-codex",type="output"}')).toBeGreaterThan(0);
    expect(fromWorker).not.toContain('ai_fix_webhooks_total{');
    const fromServer = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metric(fromServer, 'ai_fix_webhooks_total{event="issues.labeled",outcome="handled"}')).toBe(1);
    expect(fromServer).toMatch(/ai_fix_tasks\{queue="[^"]+",state="active"\}/);
    expect(fromServer).not.toContain('ai_fix_tasks_total{');
  }, 120_000);
});
