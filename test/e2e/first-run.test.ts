import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue } from '../fixtures/buggy-calculator.ts';
import { freePort, startAppProcess, waitFor, type AppProcess } from '../support/app-process.ts';
import { createHarness, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { fixingCalculatorTurns } from '../support/scripted-agents.ts';
import { startWebhookProxySim, type WebhookProxySim } from '../support/webhook-proxy-sim.ts';
import { issueLabeledPayload } from '../support/webhooks.ts';

/** A `.env` as Probot's registration writes it (`KEY=value`, the key quoted with escaped newlines). */
function probotDotEnv(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${key === 'PRIVATE_KEY' ? `"${value.replace(/\n/g, '\\n')}"` : value}`)
    .join('\n');
}

describe('the first hour, as the README says', () => {
  let h: Harness;
  let proxy: WebhookProxySim;
  let dir: string;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    h = await createHarness('first-run');
    proxy = await startWebhookProxySim();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-first-run-'));
  }, 60_000);

  afterAll(async () => {
    await app?.stop('SIGKILL');
    await proxy?.close();
    await h?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('before registration, `ai-fix start` serves Probot\'s registration page with the proxy channel as the webhook URL', async () => {
    const port = await freePort();
    await fs.writeFile(path.join(dir, '.env'), `WEBHOOK_PROXY_URL=${proxy.url}\nHOST=127.0.0.1\nPORT=${port}\n`);
    const setup = await startAppProcess('start', {}, { cwd: dir, dotEnvPort: port, readyPath: '/ping' });
    try {
      const page = await (await fetch(`${setup.url}/probot`)).text();
      // The manifest GitHub creates the app from: its webhook URL is the channel.
      expect(page).toContain(proxy.url);
      // The "use an existing GitHub App" page tells which webhook URL to set.
      expect(await (await fetch(`${setup.url}/probot/import`)).text()).toContain(proxy.url);
      expect(setup.output()).toContain('add OPENAI_API_KEY to .env and start again');
      expect(setup.output()).not.toContain('SmeeClient');
    } finally {
      await setup.stop('SIGKILL');
    }
  }, 60_000);

  it('`ai-fix start` reads the registration\'s .env, takes webhooks from WEBHOOK_PROXY_URL, and a labelled issue becomes a PR', async () => {
    const { APP_ID, PRIVATE_KEY, WEBHOOK_SECRET: secret, OPENAI_API_KEY, ...simulators } = h.appEnv() as Record<string, string> & {
      APP_ID: string;
      PRIVATE_KEY: string;
      WEBHOOK_SECRET: string;
      OPENAI_API_KEY: string;
    };
    const port = await freePort();
    await fs.writeFile(
      path.join(dir, '.env'),
      // What the registration page wrote (no newline at the end, as Probot writes it) with the
      // webhook proxy channel; then what the README has the user append; then where this test's
      // GitHub, model, Redis prefix and port are.
      probotDotEnv({ WEBHOOK_PROXY_URL: proxy.url, APP_ID, PRIVATE_KEY, WEBHOOK_SECRET: secret, GITHUB_CLIENT_ID: 'Iv1.0123456789abcdef', GITHUB_CLIENT_SECRET: 'f'.repeat(40) }) +
        `\nOPENAI_API_KEY=${OPENAI_API_KEY}\n` +
        probotDotEnv({ ...simulators, HOST: '127.0.0.1', PORT: String(port), AI_FIX_CONCURRENCY: '1' }),
    );

    // Nothing in the environment but PATH and HOME: everything else comes from .env.
    app = await startAppProcess('start', {}, { cwd: dir, dotEnvPort: port });

    // The full app, not Probot's bare server or its registration page (which has no /readyz);
    // ready a moment after alive on a loaded machine.
    await waitFor('the app to be ready', () => fetch(`${app!.url}/readyz`).then((r) => r.ok, () => false), 20_000);
    // Logged once connected to the channel (the registration page's connection may linger a moment).
    await waitFor('the app listening on the proxy channel', () => app?.output().includes('taking webhooks from the proxy channel in WEBHOOK_PROXY_URL'), 30_000);

    const repo = await h.newRepo('calculator-first-run');
    const issueNumber = h.newIssue(repo);
    h.model.script(fixingCalculatorTurns());
    proxy.deliver({
      secret: WEBHOOK_SECRET,
      event: 'issues',
      payload: issueLabeledPayload({ repo, installationId: h.github.installationId, issueNumber, ...addBugIssue, label: 'ai-fix', sender: 'maintainer' }),
    });

    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 90_000);
    expect(pr.head).toBe(`ai-fix/issue-${issueNumber}`);
    expect(pr.body).toContain(`Fixes #${issueNumber}`);
    await waitFor('the final progress comment', () => h.progressComment(repo, issueNumber)?.body.includes('finished'), 60_000);
    expect(app.output()).not.toContain('SmeeClient');
  }, 180_000);
});
