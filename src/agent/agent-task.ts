import type { TaskLimits } from '../config/task-limits.ts';
import type { Logger } from '../util/logger.ts';
import { runAgent, type AgentOutcome, type AgentRun } from './agent-loop.ts';
import type { IssueImages } from './issue-images.ts';
import type { ModelInfo } from './model-catalog.ts';
import type { ModelClient } from './model-client.ts';
import { AGENT_INSTRUCTIONS, renderTaskPrompt, type FollowUp, type IssueContext } from './prompts.ts';
import { readRepoInstructions, repositoryMap } from './repository-context.ts';
import { defaultTools } from './tools/index.ts';
import { tapModelClient, tapTools, type TranscriptSink } from './transcript-tap.ts';
import type { WorkspaceAccess } from '../sandbox/workspace-access.ts';

export interface AgentTask {
  client: ModelClient;
  model: string;
  modelInfo: ModelInfo;
  limits: TaskLimits;
  /** Epoch ms the task started; the time limit counts from here. */
  startedAt: number;
  /** The checkout (a real path). */
  root: string;
  /** Who owns files the tools create, when commands run as another user than this process. */
  fileOwner?: WorkspaceAccess['fileOwner'];
  /** Paths the edit tools refuse (workflows plus the config's `protected_paths`). */
  protectedPaths: string[];
  /** Values redacted from everything the model reads. */
  secrets?: Iterable<string>;
  runShell: WorkspaceAccess['runShell'];
  runGit: WorkspaceAccess['runGit'];
  workTreeId: WorkspaceAccess['workTreeId'];
  testCommand: string | null;
  issue: IssueContext;
  images: IssueImages;
  /** The repository config's `instructions`. */
  configInstructions?: string;
  /** An extra instruction from the trigger. */
  instruction?: string;
  /** For revisions and CI fixes: what to do now, and the material for it. */
  followUp?: FollowUp;
  /** The issue reports a bug that no test shows yet: the agent reproduces it with a test first. */
  reproduceFirst?: boolean;
  promptCacheKey: string;
  signal: AbortSignal;
  log: Logger;
  onStep?: AgentRun['onStep'];
  onPlan?: AgentRun['onPlan'];
  resume?: AgentRun['resume'];
  onCheckpoint?: AgentRun['onCheckpoint'];
  /** Receives every model turn and tool result (the task's transcript). */
  transcript?: TranscriptSink;
}

async function trackedFiles(runGit: WorkspaceAccess['runGit']): Promise<string[]> {
  const listed = await runGit(['ls-files']);
  return listed.exitCode === 0 ? listed.output.split('\n').filter(Boolean) : [];
}

/** The agent on a prepared checkout: the same for the worker and for local mode. */
export async function runAgentTask(task: AgentTask): Promise<AgentOutcome> {
  const { root, limits } = task;
  const taskPrompt = renderTaskPrompt({
    issue: task.issue,
    repoInstructions: [
      ...(await readRepoInstructions(root)),
      ...(task.configInstructions ? [{ source: '.github/ai-fix.yml', text: task.configInstructions }] : []),
    ],
    testCommand: task.testCommand,
    repositoryMap: repositoryMap(await trackedFiles(task.runGit)),
    instruction: task.instruction,
    imageNotes: task.images.notes,
    followUp: task.followUp,
    reproduceFirst: task.reproduceFirst,
  });
  const { transcript } = task;
  return runAgent({
    client: transcript ? tapModelClient(task.client, transcript) : task.client,
    model: task.model,
    modelInfo: task.modelInfo,
    instructions: AGENT_INSTRUCTIONS,
    taskPrompt,
    taskImages: task.images.dataUrls,
    tools: transcript ? tapTools(defaultTools, transcript) : defaultTools,
    context: {
      root,
      fileOwner: task.fileOwner,
      runShell: task.runShell,
      runGit: task.runGit,
      workTreeId: task.workTreeId,
      testCommand: task.testCommand,
      signal: task.signal,
      protectedPaths: task.protectedPaths,
    },
    limits: {
      steps: limits.steps,
      deadline: task.startedAt + limits.minutes * 60_000,
      tokens: limits.tokens,
      dollars: limits.dollars,
      repeatedFailures: limits.repeatedFailures,
      repeatedCalls: limits.repeatedCalls,
      stepsWithoutEdit: limits.stepsWithoutEdit,
    },
    promptCacheKey: task.promptCacheKey,
    secrets: task.secrets ? [...task.secrets] : undefined,
    log: task.log,
    onStep: task.onStep,
    onPlan: task.onPlan,
    resume: task.resume,
    onCheckpoint: task.onCheckpoint,
  });
}
