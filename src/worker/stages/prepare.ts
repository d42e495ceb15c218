import fs from 'node:fs/promises';
import path from 'node:path';
import { botCommitIdentity } from '../../github/bot-identity.ts';
import { clip } from '../../util/markdown.ts';
import type { TaskResult } from '../../queue/task-queue.ts';
import { openTaskBox } from '../../sandbox/task-box.ts';
import { restoreHomeCache, saveHomeCache } from '../../sandbox/box-cache.ts';
import { withinOperator } from '../../sandbox/network-policy.ts';
import { adoptEntry, cacheEntry, dependencyKey, usableEntry } from '../../workspace/dependency-cache.ts';
import { findTestCommand, mentionedPaths, programProbe } from '../../workspace/detect-test-command.ts';
import { prepareWorkspace } from '../../workspace/prepare-workspace.ts';
import type { PreparedTask, TaskContext } from '../task-context.ts';

/**
 * Stage 1, on the host: the task's own repository from the mirror, the box's checkout of where
 * the task starts, and the box itself. The token stays here.
 */
export async function prepareTask(ctx: TaskContext, start: { base: string; branch: string; resumeAt?: string }, beforeBox?: (task: Omit<PreparedTask, 'box' | 'shell' | 'testCommand' | 'setupCommand'>) => Promise<void>): Promise<PreparedTask> {
  const { deps, repoData } = ctx;
  const workspace = await prepareWorkspace({
    jobDir: ctx.runDir,
    cloneUrl: repoData.clone_url,
    defaultBranch: start.base,
    resumeAt: start.resumeAt,
    branch: start.branch,
    token: await ctx.token(),
    committer: await botCommitIdentity(ctx.octokit, deps.app, repoData.clone_url),
    signal: ctx.signal,
    mirrors: deps.env.mirrorCacheBytes > 0 ? { root: path.join(deps.env.workdir, 'mirrors'), maxBytes: deps.env.mirrorCacheBytes } : undefined,
  });
  await beforeBox?.({ ...ctx, workspace });
  const { box: dirs } = workspace;
  const box = await openTaskBox(deps.sandbox, { workspace: dirs.dir, home: dirs.home, gitDir: dirs.gitDir, readOnly: [workspace.objects] });
  const commandTimeoutMs = ctx.config.limits.command_timeout_seconds * 1000;
  let found: Awaited<ReturnType<typeof findTestCommand>>;
  try {
    found = await findTestCommand(dirs.dir, { test: ctx.config.test, configured: ctx.config.tests, paths: mentionedPaths(ctx.issue), has: programProbe((command) => box.run(command, { timeoutMs: 10_000, signal: ctx.signal })) });
  } catch (err) {
    // Not handed to the pipeline yet: nobody else would give the task's user back.
    await box.close();
    throw err;
  }
  if (found) ctx.log.info({ testCommand: found.command, reason: found.reason }, 'test command');
  return {
    ...ctx,
    workspace,
    box,
    testCommand: found?.command ?? null,
    // Without a setup command, the dependencies the test command needs are installed (Node).
    setupCommand: ctx.config.setup ?? found?.install ?? null,
    shell: (command, timeoutMs) => box.run(command, { timeoutMs: Math.min(timeoutMs ?? commandTimeoutMs, commandTimeoutMs), signal: ctx.signal }),
  };
}

/**
 * The package caches of this repository's dependency state: an archive to restore, or how to
 * save one. Only a task that starts from the default branch (a new task, not the agent's own
 * earlier work) saves one, so nothing an agent wrote can seed the next task's setup.
 */
async function dependencyCacheFor(task: PreparedTask, setup: string): Promise<{ entry?: string; save?: () => Promise<void> }> {
  const { deps, workspace, request } = task;
  if (deps.env.dependencyCacheBytes <= 0) return {};
  const cache = { root: path.join(deps.env.workdir, 'dependency-cache'), maxBytes: deps.env.dependencyCacheBytes };
  const entry = cacheEntry(cache, request.repo.id, await dependencyKey(workspace, [setup, JSON.stringify(deps.sandbox.toolchains)]));
  const usable = await usableEntry(entry);
  if (usable) return { entry: usable };
  if (request.kind !== 'solve' || workspace.continued) return {};
  return {
    save: async () => {
      await fs.mkdir(cache.root, { recursive: true });
      const archive = `${entry}.${task.jobId}.partial`;
      if (await saveHomeCache(task.box, archive, Math.min(cache.maxBytes, 2 ** 30), task.signal)) await adoptEntry(cache, archive, entry);
    },
  };
}

/**
 * Stage 2, in the box: the setup command, the only phase that may reach the network (the
 * operator's allow-list, narrowed by the repository's `network.setup`); afterwards the box
 * reaches only what both allow for the agent (`network.agent`, nothing by default).
 */
export async function runSetup(task: PreparedTask): Promise<TaskResult | null> {
  const { setupCommand: setup } = task;
  const operator = task.deps.sandbox.networkAllow;
  const { network } = task.config;
  try {
    if (!setup) return null;
    task.box.allowNetwork(network.setup ? withinOperator(network.setup, operator) : operator);
    const started = Date.now();
    const cache = await dependencyCacheFor(task, setup);
    const restored = cache.entry ? await restoreHomeCache(task.box, cache.entry, task.signal) : false;
    const result = await task.shell(setup);
    task.log.info({ durationMs: Date.now() - started, exitCode: result.exitCode, dependencyCache: cache.entry ? (restored ? 'restored' : 'unusable') : 'none' }, 'setup finished');
    if (result.exitCode === 0) {
      if (!cache.entry && cache.save) await cache.save();
      return null;
    }
    const blocked = task.box.blockedHosts();
    const reason = `the setup command \`${setup}\` failed (${result.timedOut ? 'timed out' : `exit code ${result.exitCode}`})`;
    const refused = blocked.length ? `\n\nHosts it tried to reach that are not on the network allow-list: ${blocked.map((h) => `\`${h}\``).join(', ')} (see \`network\` in \`.github/ai-fix.yml\` and \`AI_FIX_NETWORK_ALLOW\`).` : '';
    await task.progress.update({ stage: 'failed', reason, details: `\`\`\`\n${clip(result.output, 2000)}\n\`\`\`${refused}` });
    return { outcome: 'failed', reason };
  } finally {
    task.box.allowNetwork(withinOperator(network.agent, operator));
  }
}
