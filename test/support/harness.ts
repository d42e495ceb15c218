import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { addBugIssue, buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { startAppProcess, waitFor, type AppProcess } from './app-process.ts';
import { startGitHubSim, type GitHubSim, type SimComment, type SimRepo } from './github-sim.ts';
import { startModelSim, type ModelSim } from './model-sim.ts';
import { connectTestRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from './redis.ts';
import { issueLabeledPayload, sendWebhook } from './webhooks.ts';

export const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789';
export const PROGRESS_MARKER = '<!-- ai-fix:progress -->';

/** Everything an end-to-end test needs: simulators, a Redis prefix, app processes, helpers. */
export interface Harness {
  github: GitHubSim;
  model: ModelSim;
  redis: Redis;
  prefix: string;
  queue: Queue;
  workdir: string;
  redisUrl: string;
  /** What an app process needs to reach the simulators and this harness's Redis prefix and work dir. */
  appEnv(): Record<string, string>;
  /** Starts `ai-fix <command>` with the harness's environment plus `overrides`. */
  start(command: string, overrides?: Record<string, string>): Promise<AppProcess>;
  newRepo(name: string, files?: Record<string, string>): Promise<SimRepo>;
  newIssue(repo: SimRepo, user?: string): number;
  /** `installationId` defaults to the simulator's first installation (`github.addInstallation()` makes more). */
  label(
    app: AppProcess,
    repo: SimRepo,
    issueNumber: number,
    options?: { sender?: string; deliveryId?: string; label?: string; installationId?: number },
  ): Promise<{ status: number; body: string }>;
  progressComment(repo: SimRepo, issueNumber: number): SimComment | undefined;
  /**
   * A barrier instead of a fixed sleep before asserting that something did not happen: labels an
   * issue as someone without write access and waits for the app's polite refusal, which comes
   * after the deliveries sent before it were answered, decided by the intake, and written.
   */
  settle(app: AppProcess): Promise<void>;
  /** Kills every app process started so far, so a failed test leaves no worker to steal the next test's jobs. */
  stopApps(): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(name: string, options: { redisUrl?: string } = {}): Promise<Harness> {
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const redis = await connectTestRedis(redisUrl);
  const github = await startGitHubSim();
  const model = await startModelSim();
  const prefix = uniquePrefix(name);
  const workdir = await fs.mkdtemp(path.join(os.tmpdir(), `ai-fix-${name}-`));
  const url = new URL(redisUrl);
  const queue = new Queue('tasks', { connection: { host: url.hostname, port: Number(url.port || 6379) }, prefix });
  queue.on('error', () => {});
  const apps: AppProcess[] = [];

  const harness: Harness = {
    github,
    model,
    redis,
    prefix,
    queue,
    workdir,
    redisUrl,
    appEnv: () => ({
      APP_ID: String(github.appId),
      PRIVATE_KEY: github.privateKey,
      WEBHOOK_SECRET,
      GHE_HOST: github.host,
      GHE_PROTOCOL: 'http',
      REDIS_URL: redisUrl,
      AI_FIX_QUEUE_PREFIX: prefix,
      AI_FIX_WORKDIR: workdir,
      OPENAI_API_KEY: model.apiKey,
      OPENAI_BASE_URL: model.url,
    }),
    async start(command, overrides = {}) {
      const app = await startAppProcess(command, { ...harness.appEnv(), AI_FIX_CONCURRENCY: '1', ...overrides });
      apps.push(app);
      return app;
    },
    async newRepo(repoName, files = buggyCalculator) {
      const repo = await github.createRepo({ owner: 'acme', name: repoName, files });
      github.setPermission('acme', repoName, 'maintainer', 'write');
      github.setPermission('acme', repoName, 'visitor', 'read');
      return repo;
    },
    newIssue(repo, user = 'maintainer') {
      return github.createIssue('acme', repo.name, { ...addBugIssue, user });
    },
    label(app, repo, issueNumber, labelOptions = {}) {
      return sendWebhook({
        url: app.webhookUrl,
        secret: WEBHOOK_SECRET,
        event: 'issues',
        deliveryId: labelOptions.deliveryId ?? crypto.randomUUID(),
        payload: issueLabeledPayload({
          repo,
          installationId: labelOptions.installationId ?? github.installationId,
          issueNumber,
          ...addBugIssue,
          label: labelOptions.label ?? 'ai-fix',
          sender: labelOptions.sender ?? 'maintainer',
        }),
      });
    },
    progressComment(repo, issueNumber) {
      return github.issueComments('acme', repo.name, issueNumber).find((c) => c.body.includes(PROGRESS_MARKER));
    },
    async settle(app) {
      const marker = await harness.newRepo(`settle-${crypto.randomBytes(3).toString('hex')}`);
      const issueNumber = harness.newIssue(marker, 'visitor');
      await harness.label(app, marker, issueNumber, { sender: 'visitor' });
      await waitFor('the settle comment', () => github.issueComments('acme', marker.name, issueNumber)[0], 30_000);
    },
    async stopApps() {
      await Promise.all(apps.splice(0).map((app) => app.stop('SIGKILL')));
    },
    async close() {
      await harness.stopApps();
      await queue.close();
      await model.close();
      await github.close();
      // A test may have killed its own Redis; there is nothing left to clean there then.
      await deletePrefix(redis, prefix).catch(() => {});
      // A connection that Redis already dropped has nothing to close: disconnect() would arm a
      // 2 s timer for a 'close' that never comes, and hold the jest worker past its exit.
      if (redis.status !== 'end') redis.disconnect();
      await fs.rm(workdir, { recursive: true, force: true });
    },
  };
  return harness;
}
