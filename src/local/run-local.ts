import fs from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { AgentOutcome } from '../agent/agent-loop.ts';
import { runAgentTask } from '../agent/agent-task.ts';
import { totalTokens } from '../agent/conversation.ts';
import { collectIssueImages, issueTexts, type ImageSource } from '../agent/issue-images.ts';
import { modelInfo } from '../agent/model-catalog.ts';
import { createModelClient } from '../agent/model-client.ts';
import { requireOpenAiKey, type Env } from '../config/env.ts';
import { parseRepoConfig, REPO_CONFIG_PATH, type RepoConfig } from '../config/repo-config.ts';
import { taskLimits } from '../config/task-limits.ts';
import { formatDollars, formatNumber } from '../github/markdown.ts';
import { runCommand } from '../sandbox/run-command.ts';
import { sandboxEnv } from '../sandbox/sandbox-env.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { protectedPathGlobs } from '../security/protected-paths.ts';
import { detectTestCommand } from '../workspace/detect-test-command.ts';
import { git } from '../workspace/git.ts';
import { commitLocalWork, createLocalWorktree, removeLocalWorktree } from './local-worktree.ts';
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

/** `ai-fix run`: the worker's agent on a local checkout, its work left on a branch. */
export async function runLocal(options: RunOptions, env: Env, io: LocalRunIo): Promise<LocalRunResult> {
  const startedAt = Date.now();
  const client = createModelClient({ apiKey: requireOpenAiKey(env), baseURL: env.openaiBaseUrl, api: env.modelApi });
  const worktree = await createLocalWorktree(options.repo);
  let commit: LocalRunResult['commit'] = null;
  try {
    const config = await readRepoConfig(worktree.dir);
    const limits = taskLimits(config.limits, env.limitCaps);
    const commandTimeoutMs = config.limits.command_timeout_seconds * 1000;
    const shell = (command: string, timeoutMs?: number) =>
      runCommand(command, {
        cwd: worktree.dir,
        env: sandboxEnv(worktree.home),
        timeoutMs: Math.min(timeoutMs ?? commandTimeoutMs, commandTimeoutMs),
        signal: io.signal,
      });
    if (config.setup) {
      io.progress(`setup: ${config.setup}`);
      const setup = await shell(config.setup);
      if (setup.exitCode !== 0) throw new ConfigError(`the setup command \`${config.setup}\` failed:\n${setup.output.slice(-2000)}`);
    }
    const testCommand = options.test ?? config.test ?? (await detectTestCommand(worktree.dir));
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
      gitDir: (await git(['rev-parse', '--absolute-git-dir'], { cwd: worktree.dir })).trim(),
      protectedPaths: protectedPathGlobs(config.protected_paths),
      runShell: shell,
      testCommand,
      issue,
      images: await collectIssueImages(issueTexts(issue), { acceptsImages: info.images, model, source: anyHost, signal: io.signal }),
      configInstructions: config.instructions,
      promptCacheKey: `ai-fix-local-${worktree.branch}`,
      signal: io.signal,
      log: io.log,
      onStep: ({ step, usage, dollars, compactions }) =>
        io.progress(`step ${step}: ${formatNumber(totalTokens(usage))} tokens${dollars === null ? '' : ` · ${formatDollars(dollars)}`}${compactions ? ` · ${compactions} compaction(s)` : ''}`),
    });

    let testsPassed = outcome.testsPassed;
    if (testCommand && outcome.status !== 'finished' && outcome.status !== 'cancelled') {
      testsPassed = (await shell(testCommand)).exitCode === 0;
    }
    const why = outcome.status === 'finished' ? (outcome.summary ?? '') : `Stopped: ${outcome.reason ?? outcome.status}.${outcome.summary ? `\n\n${outcome.summary}` : ''}`;
    commit = await commitLocalWork(worktree, `ai-fix: ${options.issue.title}\n\n${why}`.trim());
    return { outcome, branch: worktree.branch, commit, model, testCommand, testsPassed, durationMs: Date.now() - startedAt };
  } finally {
    await removeLocalWorktree(worktree, commit !== null);
  }
}
