import { ciFixFollowUp, revisionFollowUp } from '../agent/follow-ups.ts';
import { readCiState } from '../ci/ci-state.ts';
import { failureFingerprint, renderFailures } from '../ci/failure-report.ts';
import type { RepoConfig } from '../config/repo-config.ts';
import type { FollowUp } from '../agent/prompts.ts';
import type { InstallationOctokit } from '../github/installation-client.ts';
import { readPullFeedback, type PullFeedback } from '../github/review-feedback.ts';
import { openPulls } from '../state/open-pulls.ts';
import { readPullRequestState, updatePullRequestState } from '../state/pull-request-state.ts';
import { branchForIssue, type TaskRequest } from '../queue/task-request.ts';
import type { MergeOutcome } from '../workspace/merge-base.ts';
import type { TaskDependencies } from './task-dependencies.ts';

/** Where a task starts and what it is told: the only things that differ between task kinds. */
export type TaskPlan =
  | { kind: 'solve'; base: string }
  | {
      kind: 'revise';
      base: string;
      pullNumber: number;
      pullUrl: string;
      feedback: PullFeedback;
      /** Feedback up to this time is answered by this revision. */
      answeredUpTo: string;
      followUp: FollowUp;
    }
  | {
      kind: 'fix-ci';
      base: string;
      pullNumber: number;
      pullUrl: string;
      followUp: FollowUp;
    }
  /** Merge the base branch in; the agent is told what to do once the merge shows what is needed. */
  | {
      kind: 'rebase';
      base: string;
      pullNumber: number;
      pullUrl: string;
      ifConflicting: boolean;
      /** The merge, once the rebase kind made it (each run plans afresh). */
      merged?: MergeOutcome;
    }
  /** Every check passed: no agent, just the finishing touches. */
  | { kind: 'green'; pullNumber: number; pullUrl: string; draft: boolean; nodeId: string; checks: number }
  /** Nothing to do (checks still running, a newer commit, a closed PR): no comment either. */
  | { kind: 'skip'; reason: string }
  /** The task ends here and says why. */
  | { kind: 'stop'; reason: string; stage: 'failed' | 'cancelled' };

export async function planTask(
  octokit: InstallationOctokit,
  deps: TaskDependencies,
  request: TaskRequest,
  defaultBranch: string,
  config: RepoConfig,
): Promise<TaskPlan> {
  if (request.kind === 'solve') return { kind: 'solve', base: defaultBranch };
  if (request.pullNumber === undefined) return { kind: 'stop', reason: `a ${request.kind} task needs a pull request`, stage: 'failed' };
  const repo = { owner: request.repo.owner, repo: request.repo.name };
  const { data: pull } = await octokit.rest.pulls.get({ ...repo, pull_number: request.pullNumber });
  if (pull.state !== 'open') return { kind: 'skip', reason: 'the pull request is closed' };
  const foreign = await whyNotOurs(deps, request, pull);
  if (foreign) return { kind: 'skip', reason: foreign };
  if (request.kind === 'fix-ci') return planCiFix(octokit, deps, request, config, pull);
  if (request.kind === 'rebase') return planRebase(octokit, request, pull);
  const answeredUpTo = new Date().toISOString();
  const since = (await readPullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber)).feedbackSince;
  const feedback = await readPullFeedback(octokit, repo, request.pullNumber, since);
  const diff = await octokit.rest.pulls.get({ ...repo, pull_number: request.pullNumber, mediaType: { format: 'diff' } });
  await updatePullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber, { add: { revisions: 1 } });
  return {
    kind: 'revise',
    base: pull.base.ref,
    pullNumber: request.pullNumber,
    pullUrl: pull.html_url,
    feedback,
    answeredUpTo,
    followUp: revisionFollowUp({
      pullNumber: request.pullNumber,
      feedback: feedback.items,
      instruction: request.options.instruction,
      // Asked for as a diff, the body is text (Octokit types it as the JSON pull request).
      diff: diff.data as unknown as string,
    }),
  };
}

type Pull = Awaited<ReturnType<InstallationOctokit['rest']['pulls']['get']>>['data'];

/**
 * The queue is not trusted: before anything is pushed, the pull request read from GitHub must be
 * one ai-fix opened, on its branch in this repository. A fork's head would have ai-fix push to a
 * same-named branch here; a PR someone else opened on an `ai-fix/` branch is not ai-fix's to work on.
 */
async function whyNotOurs(deps: TaskDependencies, request: TaskRequest, pull: Pull): Promise<string | null> {
  if (pull.head.ref !== branchForIssue(request.issueNumber)) return `the pull request's branch is ${pull.head.ref}, not ai-fix's`;
  if (pull.head.repo === null) return 'ignored: pull request head is a deleted fork';
  if (pull.base.repo.id !== request.repo.id) return 'ignored: pull request is into another repository';
  if (pull.head.repo.id !== request.repo.id) return 'ignored: pull request head is a fork';
  const opened = await openPulls(deps.redis, deps.env.queuePrefix, request.repo.id);
  if (!opened.some((p) => p.pullNumber === pull.number && p.issueNumber === request.issueNumber)) return 'ignored: not an open pull request opened by ai-fix';
  return null;
}

// GitHub answers `mergeable: null` while it is still working it out after a push.
const MERGEABILITY_POLLS = 5;
const MERGEABILITY_POLL_MS = 2000;

/** An automatic rebase goes ahead only when GitHub says the pull request no longer merges. */
async function planRebase(octokit: InstallationOctokit, request: TaskRequest, pull: Pull): Promise<TaskPlan> {
  const plan: TaskPlan = { kind: 'rebase', base: pull.base.ref, pullNumber: pull.number, pullUrl: pull.html_url, ifConflicting: request.options.ifConflicting === true };
  if (!plan.ifConflicting) return plan;
  let mergeable = pull.mergeable;
  for (let poll = 0; mergeable === null && poll < MERGEABILITY_POLLS; poll++) {
    await new Promise((resolve) => setTimeout(resolve, MERGEABILITY_POLL_MS));
    ({ mergeable } = (await octokit.rest.pulls.get({ owner: request.repo.owner, repo: request.repo.name, pull_number: pull.number })).data);
  }
  // Still unknown: the local merge decides, and a clean one is not pushed.
  return mergeable === true ? { kind: 'skip', reason: 'the pull request still merges cleanly' } : plan;
}

/**
 * After CI finished on the pull request's head: green → finish; red → a bounded fix, unless the
 * same failure came back, the attempts are used up, or the base branch fails the same way.
 */
async function planCiFix(octokit: InstallationOctokit, deps: TaskDependencies, request: TaskRequest, config: RepoConfig, pull: Pull): Promise<TaskPlan> {
  const repo = { owner: request.repo.owner, repo: request.repo.name };
  if (request.headSha && pull.head.sha !== request.headSha) return { kind: 'skip', reason: 'CI finished for an older commit' };
  const ci = await readCiState(octokit, repo, pull.head.sha, { withLogs: true });
  if (ci.pending > 0) return { kind: 'skip', reason: 'checks are still running' };
  if (ci.failures.length === 0) {
    if (ci.passed === 0) return { kind: 'skip', reason: 'no checks ran' };
    return { kind: 'green', pullNumber: pull.number, pullUrl: pull.html_url, draft: pull.draft ?? false, nodeId: pull.node_id, checks: ci.passed };
  }
  const state = await readPullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber);
  const names = ci.failures.map((f) => f.name).join(', ');
  if (state.ciAttempts >= config.ci.max_attempts) {
    return { kind: 'stop', stage: 'failed', reason: `CI still fails (${names}) after ${state.ciAttempts} fix attempts (\`ci.max_attempts\`); a human needs to look` };
  }
  const fingerprint = failureFingerprint(ci.failures);
  if (fingerprint === state.ciFingerprint) {
    return { kind: 'stop', stage: 'failed', reason: `CI failed the same way again (${names}) after a fix; stopping rather than looping — a human needs to look` };
  }
  const onBase = await readCiState(octokit, repo, pull.base.sha);
  const failingOnBase = new Set(onBase.failures.map((f) => f.name));
  if (ci.failures.every((f) => failingOnBase.has(f.name))) {
    return { kind: 'stop', stage: 'failed', reason: `${names} also fails on \`${pull.base.ref}\`: the failure is pre-existing, so ai-fix does not chase it` };
  }
  await updatePullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber, { set: { ciFingerprint: fingerprint }, add: { ciAttempts: 1 } });
  return {
    kind: 'fix-ci',
    base: pull.base.ref,
    pullNumber: pull.number,
    pullUrl: pull.html_url,
    followUp: ciFixFollowUp({ pullNumber: pull.number, failures: renderFailures(ci.failures.filter((f) => !failingOnBase.has(f.name))), attempt: state.ciAttempts + 1, maxAttempts: config.ci.max_attempts }),
  };
}
