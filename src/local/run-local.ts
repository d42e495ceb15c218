import fs from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { AgentOutcome } from '../agent/agent-loop.ts';
import { runAgentTask } from '../agent/agent-task.ts';
import { totalTokens } from '../agent/conversation.ts';
import { collectIssueImages, issueTexts, type ImageSource } from '../agent/issue-images.ts';
import { modelInfo } from '../agent/model-catalog.ts';
import { createModelClient } from '../agent/model-client.ts';
import { nameEndpointInErrors } from '../agent/model-endpoint.ts';
import { requireOpenAiKey, type Env } from '../config/env.ts';
import { parseRepoConfig, REPO_CONFIG_PATH, type RepoConfig } from '../config/repo-config.ts';
import { taskLimits } from '../config/task-limits.ts';
import { formatDollars, formatNumber } from '../util/markdown.ts';
import { boxAccess } from '../sandbox/box-access.ts';
import { extractPatch } from '../sandbox/box-git.ts';
import { startSandbox } from '../sandbox/start-sandbox.ts';
import { openTaskBox, type TaskBox } from '../sandbox/task-box.ts';
import { protectedPathGlobs } from '../security/protected-paths.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { commitTree } from '../workspace/commit-and-push.ts';
import { detectTestCommand, mentionedPaths, programProbe } from '../workspace/detect-test-command.ts';
import type { Workspace } from '../workspace/prepare-workspace.ts';
import { verifyChange } from '../workspace/verify-change.ts';
import { createLocalWorkspace, deliverLocalBranch, removeLocalWorkspace } from './local-workspace.ts';
import type { RunOptions } from './run-args.ts';

export interface LocalRunResult {
  outcome: AgentOutcome;
  branch: string;
  commit: { sha: string; files: number } | null;
  model: string;
  testCommand: string | null;
  testsPassed: boolean | null;
  durationMs: number;
}

export interface LocalRunIo {
  log: Logger;
  signal: AbortSignal;
  /** One line per step, for the terminal. */
  progress(line: string): void;
}

// The user's own machine and the user's own issue text: any http(s) image may be fetched, without credentials.
const anyHost: ImageSource = {
  headersFor: (url) => (url.protocol === 'https:' || url.protocol === 'http:' ? {} : undefined),
  followRedirect: (_from, to) => to.protocol === 'https:' || to.protocol === 'http:',
};

async function readRepoConfig(dir: string): Promise<RepoConfig> {
  let raw: unknown = null;
  try {
    raw = parseYaml(await fs.readFile(path.join(dir, REPO_CONFIG_PATH), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${REPO_CONFIG_PATH}: ${(err as Error).message}`);
  }
  // `_extends` needs GitHub; locally only the repository's own file counts.
  if (raw && typeof raw === 'object' && '_extends' in raw) delete (raw as Record<string, unknown>)._extends;
  const parsed = parseRepoConfig(raw);
  if (!parsed.ok) throw new ConfigError(`${REPO_CONFIG_PATH} is invalid: ${parsed.error}`);
  return parsed.config;
}

/**
 * The agent's change, out of the box as a patch and verified as the worker verifies it, then
 * committed on the branch; null when there is nothing to commit. Not cancellable: on Ctrl-C the
 * work so far is kept.
 */
async function commitLocalWork(workspace: Workspace, box: TaskBox, protectedPaths: string[], message: string): Promise<{ sha: string; files: number; leftOut: string[] } | null> {
  const { patch, unstaged } = await extractPatch(box, [workspace.objects], workspace.baseSha, { maxBytes: 64 * 2 ** 20 });
  const change = await verifyChange(workspace, patch, { protectedPaths, knownSecrets: [] });
  const sha = await commitTree(workspace, change.tree, message);
  return sha ? { sha, files: change.files.length, leftOut: [...change.leftOut.map((l) => `${l.path} (${l.why})`), ...unstaged.map((p) => `${p} (could not be staged)`)] } : null;
}

/** `ai-fix run`: the worker's agent on a local checkout, in the same sandbox, its work left on a branch. */
export async function runLocal(options: RunOptions, env: Env, io: LocalRunIo): Promise<LocalRunResult> {
  const startedAt = Date.now();
  // A few quick retries, each announced: a wrong endpoint should end the run in seconds, saying why.
  const maxRetries = 2;
  const endpoint = env.openaiBaseUrl ?? 'the default endpoint';
  const client = nameEndpointInErrors(
    createModelClient({
      apiKey: requireOpenAiKey(env),
      baseURL: env.openaiBaseUrl,
      api: env.modelApi,
      maxRetries,
      onRetry: ({ attempt, waitMs, reason }) =>
        io.progress(`model API at ${endpoint}: ${reason.replace(/\.$/, '')}; retrying in ${(waitMs / 1000).toFixed(1)} s (try ${attempt + 1} of ${maxRetries + 1})`),
    }),
    env.openaiBaseUrl,
  );
  const { workspace, repo } = await createLocalWorkspace(options.repo);
  let commit: LocalRunResult['commit'] = null;
  let box: TaskBox | undefined;
  try {
    const worktree = { dir: workspace.box.dir, branch: workspace.branch, repo };
    const sandbox = await startSandbox({ requested: env.sandbox, limits: env.sandboxLimits, users: env.sandboxUsers, tmpBytes: env.sandboxTmpBytes, passEnv: env.sandboxPassEnv, toolchainPaths: env.sandboxToolchains, networkAllow: env.networkAllow, workdir: workspace.jobDir, log: io.log });
    if (sandbox.mode === 'none') io.progress('WARNING: AI_FIX_SANDBOX=none: the agent\'s commands run on this machine without isolation');
    box = await openTaskBox(sandbox, { workspace: workspace.box.dir, home: workspace.box.home, gitDir: workspace.box.gitDir, readOnly: [workspace.objects] });
    const config = await readRepoConfig(worktree.dir);
    const limits = taskLimits(config.limits, env.limitCaps);
    const access = boxAccess(box, { objects: workspace.objects, baseSha: workspace.baseSha, commandTimeoutMs: config.limits.command_timeout_seconds * 1000, signal: io.signal });
    const shell = access.runShell;
    const protectedPaths = protectedPathGlobs(config.protected_paths);
    if (config.setup) {
      io.progress(`setup: ${config.setup}`);
      const setup = await shell(config.setup);
      if (setup.exitCode !== 0) throw new ConfigError(`the setup command \`${config.setup}\` failed:\n${setup.output.slice(-2000)}`);
    }
    const testCommand = options.test ?? (await detectTestCommand(worktree.dir, { test: config.test, configured: config.tests, paths: mentionedPaths(options.issue), has: programProbe(shell) }));
    const model = options.model ?? config.model ?? env.defaultModel;
    const info = modelInfo(model, env.modelOverrides);
    const issue = { repoFullName: path.basename(worktree.repo), issueNumber: 0, title: options.issue.title, body: options.issue.body, comments: [] };
    io.progress(`working on ${worktree.branch} with ${model} (${env.modelApi} API); tests: ${testCommand ?? 'none found'}`);

    const outcome = await runAgentTask({
      client,
      model,
      modelInfo: info,
      limits,
      startedAt,
      root: worktree.dir,
      fileOwner: box.user,
      protectedPaths,
      ...access,
      testCommand,
      issue,
      images: await collectIssueImages(issueTexts(issue), { acceptsImages: info.images, model, source: anyHost, signal: io.signal }),
      configInstructions: config.instructions,
      promptCacheKey: `ai-fix-local-${worktree.branch}`,
      signal: io.signal,
      log: io.log,
      onStep: ({ step, usage, dollars, compactions }) =>
        io.progress(`step ${step}: ${formatNumber(totalTokens(usage))} tokens${dollars === null ? '' : ` · ${formatDollars(dollars)}`}${compactions ? ` · ${compactions} compaction(s)` : ''}`),
      onPlan: (plan) => io.progress(`plan: ${plan.map(({ step, status }) => `${status === 'completed' ? '✓' : status === 'in_progress' ? '→' : '·'} ${step}`).join('  ')}`),
    });

    let testsPassed = outcome.testsPassed;
    if (testCommand && outcome.status !== 'finished' && outcome.status !== 'cancelled') {
      testsPassed = (await shell(testCommand)).exitCode === 0;
    }
    const why = outcome.status === 'finished' ? (outcome.summary ?? '') : `Stopped: ${outcome.reason ?? outcome.status}.${outcome.summary ? `\n\n${outcome.summary}` : ''}`;
    const committed = await commitLocalWork(workspace, box, protectedPaths, `ai-fix: ${options.issue.title}\n\n${why}`.trim());
    if (committed) {
      await deliverLocalBranch(workspace, repo);
      commit = { sha: committed.sha, files: committed.files };
      if (committed.leftOut.length) io.progress(`left out of the change: ${committed.leftOut.join(', ')}`);
    }
    return { outcome, branch: worktree.branch, commit, model, testCommand, testsPassed, durationMs: Date.now() - startedAt };
  } finally {
    await box?.close();
    await removeLocalWorkspace(workspace);
  }
}
