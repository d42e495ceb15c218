import { DelayedError, UnrecoverableError } from 'bullmq';
import fs from 'node:fs/promises';
import path from 'node:path';
import { totalTokens } from '../agent/conversation.ts';
import { ModelError } from '../agent/model-client.ts';
import { AgentPlanNotes } from '../agent/plan-notes.ts';
import { createInstallationOctokit, installationToken, revokeInstallationToken } from '../github/installation-client.ts';
import { readIssueContext } from '../github/issue-context.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import { taskPageUrl } from '../observability/dashboard-links.ts';
import { cancelFlagKey } from '../queue/cancellation.ts';
import { updatePullRequestState } from '../queue/pull-request-state.ts';
import type { TaskJob, TaskResult } from '../queue/task-queue.ts';
import { branchForIssue, parseTaskRequest } from '../queue/task-request.ts';
import { errorMessage } from '../util/errors.ts';
import { pushBranch } from '../workspace/commit-and-push.ts';
import { finishGreen } from './finish-green.ts';
import { fixCiKind } from './kinds/fix-ci.ts';
import { rebaseKind } from './kinds/rebase.ts';
import { reviseKind } from './kinds/revise.ts';
import { solveKind } from './kinds/solve.ts';
import { ProgressReporter, progressKey } from './progress-reporter.ts';
import type { RepoSlot } from './repo-slots.ts';
import { saveWorkInProgress } from './save-work-in-progress.ts';
import { abortedForShutdown, handBack } from './shutdown.ts';
import { runAgentStage } from './stages/agent.ts';
import { preflight } from './stages/preflight.ts';
import { prepareTask, runSetup } from './stages/prepare.ts';
import { sealChange } from './stages/seal.ts';
import type { PreparedTask, TaskContext, TaskKind } from './task-context.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import { taskLogFields } from './task-log-fields.ts';
import { planTask, type TaskPlan } from './task-plan.ts';
import { recordTask } from './task-recording.ts';

type WorkPlan = Extract<TaskPlan, { kind: 'solve' | 'revise' | 'fix-ci' | 'rebase' }>;

const KINDS: { [K in WorkPlan['kind']]: TaskKind<Extract<WorkPlan, { kind: K }>> } = {
  solve: solveKind,
  revise: reviseKind,
  'fix-ci': fixCiKind,
  rebase: rebaseKind,
};

function isPermanent(err: unknown): boolean {
  if (err instanceof ModelError) return err.permanent;
  const status = (err as { status?: number }).status;
  return status === 404 || status === 401 || status === 410;
}

/**
 * One task, start to finish, as stages: prepare (host) → setup and agent (box) → seal (the patch
 * leaves the box and is verified on the host) → publish (commit, push, pull request). The task's
 * kind decides where it starts, what the agent is told and how it ends.
 */
export async function runTask(job: TaskJob, token: string | undefined, signal: AbortSignal, deps: TaskDependencies): Promise<TaskResult> {
  let request;
  try {
    request = parseTaskRequest(job.data);
  } catch (err) {
    throw new UnrecoverableError(`malformed task data: ${errorMessage(err)}`);
  }
  const jobId = job.id ?? 'unknown';
  const log = deps.log.child(taskLogFields(jobId, request));
  const recorder = recordTask(job, request, deps, log);
  const pageUrl = deps.env.publicUrl ? taskPageUrl(deps.env.publicUrl, jobId) : undefined;
  const repo = { owner: request.repo.owner, repo: request.repo.name };
  const octokit = createInstallationOctokit(deps.app, request.installationId, log, deps.secrets);
  // Every token this task holds is redacted wherever it could surface, until it is revoked.
  const minted = new Set<string>();
  const freshToken = async () => {
    const minting = await installationToken(octokit);
    minted.add(minting);
    deps.secrets.add(minting);
    return minting;
  };
  const progress = new ProgressReporter({
    octokit,
    redis: deps.redis,
    key: progressKey(deps.env.queuePrefix, jobId),
    // A revision reports on its pull request; a new task on its issue.
    target: { ...repo, issueNumber: request.pullNumber ?? request.issueNumber },
    log,
    secrets: deps.secrets,
    observer: recorder,
    taskPageUrl: pageUrl,
  });
  const startedAt = Date.now();
  log.info({ attempt: job.attemptsMade + 1 }, 'task started');
  // What a shutdown needs to save the work so far.
  let inFlight: PreparedTask | undefined;
  let prepared: PreparedTask | undefined;
  let repoSlot: RepoSlot | undefined;

  try {
    const cancelled = await deps.redis.get(cancelFlagKey(deps.env.queuePrefix, jobId));
    if (cancelled) {
      await progress.update({ stage: 'cancelled', reason: cancelled });
      return { outcome: 'cancelled', reason: cancelled };
    }
    const { data: repoData } = await octokit.request('GET /repos/{owner}/{repo}', repo);
    recorder.links({ issueUrl: `${repoData.html_url}/issues/${request.issueNumber}` });
    const configResult = await loadRepoConfig(octokit, repo);
    if (!configResult.ok) {
      const reason = `\`.github/ai-fix.yml\` is invalid: ${configResult.error}`;
      await progress.update({ stage: 'failed', reason });
      return { outcome: 'failed', reason };
    }
    const config = configResult.config;
    const plan = await planTask(octokit, deps, request, repoData.default_branch, config);
    if (plan.kind === 'skip') {
      log.info({ reason: plan.reason }, 'nothing to do');
      return { outcome: 'skipped', reason: plan.reason };
    }
    if (plan.kind === 'stop') {
      await progress.update({ stage: plan.stage, reason: plan.reason });
      return { outcome: plan.stage, reason: plan.reason };
    }
    if (plan.kind === 'green') return await finishGreen({ octokit, deps, request, plan, config, progress, log });
    const kind = KINDS[plan.kind] as TaskKind<WorkPlan>;
    repoSlot = await deps.repoSlots?.take(job, token, request.repo.id, config.limits.concurrent_tasks, (message) => progress.update({ stage: 'queued', details: message }));
    await progress.update({ stage: 'preparing' });
    const context: TaskContext = {
      jobId, request, deps, log, octokit, progress, repo, repoData, config, signal, startedAt, pageUrl,
      issue: await readIssueContext(octokit, repo, request.issueNumber),
      agentNotes: new AgentPlanNotes(),
      token: freshToken,
    };

    // Stages 1–2: the host repository and the box, the setup command in the box.
    const task = await prepareTask(context, { base: plan.base, branch: branchForIssue(request.issueNumber) }, (ready) => kind.prepare?.(ready, plan) ?? Promise.resolve());
    prepared = task;
    if (kind.savesWorkInProgress) inFlight = task;
    const stopped = (await preflight(task, 'setup', task.setupCommand)) ?? (await runSetup(task)) ?? (await preflight(task, 'test', task.testCommand));
    if (stopped) return stopped;
    const started = await kind.start(task, plan);
    if ('result' in started) return started.result;

    // Stage 3: the agent, sealed in the box.
    const verdict = await runAgentStage(task, { followUp: started.followUp, instruction: plan.kind === 'solve' ? request.options.instruction : undefined, recorder });
    const { outcome } = verdict;
    await updatePullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber, {
      set: plan.kind === 'solve' ? { requester: request.trigger.login } : {},
      add: { dollars: outcome.dollars ?? 0, tokens: totalTokens(outcome.usage) },
    });

    // Stages 4–5: the patch leaves the box and is verified on the host; nothing in the box can change it now.
    const sealed = await sealChange(task);
    const tokens = totalTokens(outcome.usage);
    if (sealed.refusal) {
      await progress.update({ stage: 'failed', reason: sealed.refusal, details: sealed.notes.join('\n\n') || undefined, tokens });
      return { outcome: 'failed', reason: sealed.refusal };
    }
    if (sealed.notes.length) await progress.update({ details: sealed.notes.join('\n\n') });
    const committed = await kind.commit(task, plan, sealed.change, outcome);
    if ('refusal' in committed) {
      const pullRequestUrl = 'pullUrl' in plan ? plan.pullUrl : undefined;
      await progress.update({ stage: 'failed', reason: committed.refusal, pullRequestUrl, tokens });
      return { outcome: 'failed', reason: committed.refusal, pullRequestUrl };
    }
    if (!committed.sha && !task.workspace.continued) {
      const reason = outcome.reason ?? 'the agent finished without changing any file';
      await progress.update({ stage: 'failed', reason: `no changes were made: ${reason}`, tokens });
      return { outcome: 'no-changes', reason };
    }

    // Stage 6: publish.
    await progress.update({ stage: 'pushing' });
    await pushBranch(task.workspace, repoData.clone_url, await freshToken(), signal);
    return await kind.finish(task, plan, { ...verdict, change: sealed.change, sha: committed.sha, notes: sealed.notes });
  } catch (err) {
    // Put back to wait for a repository slot: not a failure.
    if (err instanceof DelayedError) throw err;
    if (abortedForShutdown(signal)) {
      if (inFlight) await saveWorkInProgress(inFlight, log);
      await progress.update({ details: 'The worker running this task is restarting; the task goes back to the queue and continues from the work pushed so far.' });
      // Awaited here: a bare `return` would leave the rejection unhandled while `finally` runs.
      return await handBack(job, token);
    }
    if (signal.aborted) {
      const reason = typeof signal.reason === 'string' ? signal.reason : 'the task was cancelled';
      await progress.update({ stage: 'cancelled', reason });
      return { outcome: 'cancelled', reason };
    }
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const permanent = isPermanent(err);
    log.error({ err, permanent, lastAttempt }, 'task failed');
    if (permanent || lastAttempt) {
      await progress.update({ stage: 'failed', reason: errorMessage(err), tokens: progress.view.tokens });
      if (permanent) throw new UnrecoverableError(errorMessage(err));
    } else {
      await progress.update({ details: `Attempt ${job.attemptsMade + 1} hit an error (${errorMessage(err)}); retrying.` });
    }
    throw err;
  } finally {
    // While the token still works: the comment must show the task's last state.
    await progress.flush();
    await prepared?.box.close().catch((err: unknown) => log.warn({ err }, 'could not close the sandbox'));
    await repoSlot?.release();
    await revokeInstallationToken(octokit).catch(() => {});
    for (const minting of minted) deps.secrets.delete(minting);
    await fs.rm(path.join(deps.workdir, jobId), { recursive: true, force: true }).catch(() => {});
  }
}
