import fs from 'node:fs/promises';
import type { AgentOutcome } from '../../agent/agent-loop.ts';
import { runAgentTask } from '../../agent/agent-task.ts';
import { totalTokens } from '../../agent/conversation.ts';
import { collectIssueImages, issueTexts } from '../../agent/issue-images.ts';
import { modelInfo } from '../../agent/model-catalog.ts';
import type { FollowUp } from '../../agent/prompts.ts';
import { fanOut, type TranscriptSink } from '../../agent/transcript-tap.ts';
import { taskLimits } from '../../config/task-limits.ts';
import { formatDollars } from '../../util/markdown.ts';
import { boxAccess } from '../../sandbox/box-access.ts';
import { protectedPathGlobs } from '../../security/protected-paths.ts';
import type { AgentRun } from '../../agent/agent-loop.ts';
import type { TaskCheckpoints } from '../checkpoints.ts';
import { githubImageSource } from '../github-image-source.ts';
import type { PreparedTask } from '../task-context.ts';

export interface AgentVerdict {
  outcome: AgentOutcome;
  model: string;
  testsPassed: boolean | null;
  testOutput?: string;
  /** Finished, and the tests (if any) pass. */
  passing: boolean;
}

/** Stage 3, sealed in the box: the agent until it finishes or a limit stops it, then the tests' last word. */
export async function runAgentStage(
  task: PreparedTask,
  input: {
    followUp?: FollowUp;
    instruction?: string;
    reproduceFirst?: boolean;
    recorder: TranscriptSink;
    /** Where an earlier run stopped. */
    resume?: AgentRun['resume'];
    /** Saves the conversation and the tree as the agent goes (kinds that save work in progress). */
    checkpoints?: TaskCheckpoints;
    /** What the pull request cost before this task, when the caps hold for the pull request (`limits.per`). */
    pullRequestSpent?: { tokens: number; dollars: number };
  },
): Promise<AgentVerdict> {
  const { deps, config, request, workspace } = task;
  const model = request.options.model ?? config.model ?? deps.env.defaultModel;
  const info = modelInfo(model, deps.env.modelOverrides);
  const caps = taskLimits(config.limits, deps.env.limitCaps);
  const before = input.pullRequestSpent;
  // Caps for the pull request: this task gets what its earlier tasks left.
  const limits = before ? { ...caps, tokens: Math.max(0, caps.tokens - before.tokens), dollars: Math.max(0, caps.dollars - before.dollars) } : caps;
  if (before) task.log.info({ tokens: before.tokens, dollars: before.dollars }, 'pull request spending so far counts against this task');
  await task.progress.update({ stage: 'working', step: 0, maxSteps: limits.steps });
  const outcome = await runAgentTask({
    client: deps.modelClient,
    model,
    modelInfo: info,
    limits,
    startedAt: task.startedAt,
    root: await fs.realpath(workspace.box.dir),
    fileOwner: task.box.user,
    protectedPaths: protectedPathGlobs(config.protected_paths),
    ...boxAccess(task.box, { objects: workspace.objects, baseSha: workspace.baseSha, commandTimeoutMs: config.limits.command_timeout_seconds * 1000, signal: task.signal }),
    testCommand: task.testCommand,
    issue: task.issue,
    images: await collectIssueImages(issueTexts(task.issue), {
      acceptsImages: info.images,
      model,
      source: githubImageSource(task.repoData, await task.token()),
      signal: task.signal,
    }),
    configInstructions: config.instructions,
    instruction: input.instruction,
    followUp: input.followUp,
    reproduceFirst: input.reproduceFirst,
    promptCacheKey: `ai-fix-${request.repo.id}-${request.issueNumber}`,
    secrets: deps.secrets,
    signal: task.signal,
    log: task.log,
    transcript: fanOut(input.recorder, task.agentNotes),
    onStep: async ({ step, usage, dollars }) => {
      await input.checkpoints?.onSpent({ steps: step, usage, dollars: dollars ?? 0 });
      await task.progress.update({ step, tokens: totalTokens(usage), dollars: dollars ?? undefined });
    },
    resume: input.resume,
    onCheckpoint: input.checkpoints?.onSnapshot,
    onPlan: (plan) => task.progress.update({ plan }),
  });
  if (before && outcome.status === 'limit' && /^(cost|token) limit/.test(outcome.reason ?? '')) {
    outcome.reason = `${outcome.reason}, after the ${formatDollars(before.dollars)} and ${before.tokens.toLocaleString('en-US')} tokens this pull request's earlier tasks used (\`limits.per: pull_request\`)`;
  }
  task.log.info({ status: outcome.status, steps: outcome.steps, usage: outcome.usage, dollars: outcome.dollars, compactions: outcome.compactions }, 'agent stopped');
  // Cancelled and shut-down tasks are told apart and reported in one place, in runTask.
  if (outcome.status === 'cancelled') throw task.signal.reason ?? new Error('cancelled');
  let testsPassed = outcome.testsPassed;
  let testOutput = outcome.lastTestOutput;
  if (task.testCommand && outcome.status !== 'finished') {
    await task.progress.update({ stage: 'testing' });
    const verdict = await task.shell(task.testCommand);
    testsPassed = verdict.exitCode === 0;
    testOutput = verdict.output;
  }
  return { outcome, model, testsPassed, testOutput, passing: outcome.status === 'finished' && testsPassed !== false };
}
