import type { AgentOutcome } from '../agent/agent-loop.ts';
import type { AgentPlanNotes } from '../agent/plan-notes.ts';
import type { FollowUp, IssueContext } from '../agent/prompts.ts';
import type { RepoConfig } from '../config/repo-config.ts';
import type { InstallationOctokit } from '../github/installation-client.ts';
import type { TaskResult } from '../queue/task-queue.ts';
import type { TaskRequest } from '../queue/task-request.ts';
import type { CommandResult } from '../sandbox/run-command.ts';
import type { TaskBox } from '../sandbox/task-box.ts';
import type { Logger } from '../util/logger.ts';
import type { Workspace } from '../workspace/prepare-workspace.ts';
import type { TestRun } from '../workspace/test-outcomes.ts';
import type { VerifiedChange } from '../workspace/verify-change.ts';
import type { ProgressReporter } from './progress-reporter.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import type { TaskPlan } from './task-plan.ts';

/** Everything one run of one task holds; it travels through the stages, never in module state. */
export interface TaskContext {
  jobId: string;
  /** This run's own folder under the worker's directory (a job that runs twice gets two). */
  runDir: string;
  request: TaskRequest;
  deps: TaskDependencies;
  log: Logger;
  octokit: InstallationOctokit;
  progress: ProgressReporter;
  repo: { owner: string; repo: string };
  repoData: { clone_url: string; html_url: string; url: string; default_branch: string };
  config: RepoConfig;
  issue: IssueContext;
  signal: AbortSignal;
  startedAt: number;
  pageUrl?: string;
  agentNotes: AgentPlanNotes;
  /** A fresh installation token (each is redacted everywhere until revoked). */
  token(): Promise<string>;
}

/** The prepared task: the host repository and the box the agent works in. */
export interface PreparedTask extends TaskContext {
  workspace: Workspace;
  box: TaskBox;
  testCommand: string | null;
  /** The repository's `setup`, or what installs the test command's dependencies. */
  setupCommand: string | null;
  /** Runs a command in the box, within the repository's command time limit. */
  shell(command: string, timeoutMs?: number): Promise<CommandResult>;
}

/** What the agent left, frozen: the verified tree and the words about it. */
export interface FinishedWork {
  outcome: AgentOutcome;
  model: string;
  passing: boolean;
  testsPassed: boolean | null;
  testOutput?: string;
  change: VerifiedChange;
  /** The commit pushed (null: no new commit). */
  sha: string | null;
  notes: string[];
  /** The worker's own run of the test command on the base, before the agent (null: no test command). */
  baseTests?: TestRun | null;
}

/**
 * What differs between task kinds: where they start, what the agent is told, how the change
 * is committed and how the task ends. The stages around them are the same for every kind.
 */
export interface TaskKind<P extends Exclude<TaskPlan, { kind: 'green' | 'skip' | 'stop' }>> {
  /** Work in progress is saved to the branch when the worker stops mid-task. */
  readonly savesWorkInProgress: boolean;
  /** Before the box runs anything: may move the starting point (a merge). */
  prepare?(task: Omit<PreparedTask, 'box' | 'shell' | 'testCommand' | 'setupCommand'>, plan: P): Promise<void>;
  /** After setup, before the agent: ends the task, or says what the agent is to do. */
  start(task: PreparedTask, plan: P): Promise<{ result: TaskResult } | { followUp?: FollowUp }>;
  /** Commits the verified tree; a refusal ends the task with nothing pushed. */
  commit(task: PreparedTask, plan: P, change: VerifiedChange, outcome: AgentOutcome): Promise<{ sha: string | null } | { refusal: string }>;
  finish(task: PreparedTask, plan: P, work: FinishedWork): Promise<TaskResult>;
}
