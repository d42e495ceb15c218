import { DelayedError, UnrecoverableError } from 'bullmq';
import fs from 'node:fs/promises';
import { totalTokens } from '../agent/conversation.ts';
import { AgentPlanNotes } from '../agent/plan-notes.ts';
import { taskLimits } from '../config/task-limits.ts';
import { createInstallationOctokit, installationToken, revokeInstallationToken } from '../github/installation-client.ts';
import { readIssueContext } from '../github/issue-context.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import { taskPageUrl } from '../observability/dashboard-links.ts';
import { cancelFlagKey } from '../state/cancellation.ts';
import { readPullRequestState, updatePullRequestState } from '../state/pull-request-state.ts';
import type { TaskJob, TaskResult } from '../queue/task-queue.ts';
import { branchForIssue, parseTaskRequest } from '../queue/task-request.ts';
import type { AgentSnapshot } from '../agent/agent-snapshot.ts';
import { forgetTask, loadTaskState, pullRequestBaseline } from '../state/task-checkpoint.ts';
import { errorMessage } from '../util/errors.ts';
import { pushBranch } from '../workspace/commit-and-push.ts';
import { restoreCheckpoint, TaskCheckpoints } from './checkpoints.ts';
import { classifyFailure } from './classify-failure.ts';
import { failureReason } from './failure-reason.ts';
import { finishGreen } from './finish-green.ts';
import { fixCiKind } from './kinds/fix-ci.ts';
import { rebaseKind } from './kinds/rebase.ts';
import { reviseKind } from './kinds/revise.ts';
import { solveKind } from './kinds/solve.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { progressKey } from '../state/progress-key.ts';
import type { RepoSlot } from './repo-slots.ts';
import { saveWorkInProgress } from './save-work-in-progress.ts';
import { abortedForShutdown, handBack } from './shutdown.ts';
import { runAgentStage } from './stages/agent.ts';
import { reproduceFirst, testOnBase } from './stages/verify-tests.ts';
import { preflight } from './stages/preflight.ts';
import { prepareTask, runSetup } from './stages/prepare.ts';
import { sealChange } from './stages/seal.ts';
import type { PreparedTask, TaskContext, TaskKind } from './task-context.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import { taskLogFields } from './task-log-fields.ts';
import { planTask, type TaskPlan } from './task-plan.ts';
import { recordTask } from './task-recording.ts';
import { runFolder } from './workdir.ts';

type WorkPlan = Extract<TaskPlan, { kind: 'solve' | 'revise' | 'fix-ci' | 'rebase' }>;

const KINDS: { [K in WorkPlan['kind']]: TaskKind<Extract<WorkPlan, { kind: K }>> } = {
  solve: solveKind,
  revise: reviseKind,
  'fix-ci': fixCiKind,
  rebase: rebaseKind,
};

/** Past its time limit, a task has this long to push what it has before it is stopped, whatever hangs. */
function graceMs(minutes: number): number {
  return Math.min(5 * 60_000, Math.max(30_000, minutes * 6_000));
}

const TIME_LIMIT = 'time limit';

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
  const runDir = runFolder(deps.workdir, jobId);
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
  let inFlight: { task: PreparedTask; checkpoints: TaskCheckpoints } | undefined;
  let prepared: PreparedTask | undefined;
  let repoSlot: RepoSlot | undefined;
  /** The task goes on in a later run (retried, parked, handed back): its checkpoint stays. */
  let continues = false;
  // The time limit, enforced on everything (setup, tests, git), not only between model steps.
  const timeLimit = new AbortController();
  let watchdog: NodeJS.Timeout | undefined;
  const taskSignal = AbortSignal.any([signal, timeLimit.signal]);

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
    const { minutes } = taskLimits(config.limits, deps.env.limitCaps);
    watchdog = setTimeout(() => timeLimit.abort(TIME_LIMIT), minutes * 60_000 + graceMs(minutes));
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
      jobId, runDir, request, deps, log, octokit, progress, repo, repoData, config, signal: taskSignal, startedAt, pageUrl,
      issue: await readIssueContext(octokit, repo, request.issueNumber),
      agentNotes: new AgentPlanNotes(),
      token: freshToken,
    };

    // What earlier runs of this task left: what they spent, and where they stopped.
    const stored = kind.savesWorkInProgress ? await loadTaskState(deps.redis, deps.env.queuePrefix, jobId) : undefined;
    if (stored?.unusable) log.warn({ reason: stored.unusable }, 'checkpoint not used');

    // Stages 1–2: the host repository and the box (with the checkpoint's work), the setup command in the box.
    const task = await prepareTask(context, { base: plan.base, branch: branchForIssue(request.issueNumber), resumeAt: stored?.checkpoint?.startSha }, (ready) => kind.prepare?.(ready, plan) ?? Promise.resolve());
    prepared = task;
    let snapshot: AgentSnapshot | undefined;
    if (stored?.checkpoint && (await restoreCheckpoint(task, stored.checkpoint))) {
      snapshot = stored.checkpoint.agent;
      log.info({ step: snapshot.step, spentSteps: stored.spent.steps }, 'resuming from checkpoint');
      await progress.update({ details: `Resumed from the checkpoint after step ${snapshot.step}.` });
    }
    if (kind.savesWorkInProgress) inFlight = { task, checkpoints: new TaskCheckpoints(task, snapshot && stored?.checkpoint?.baseTests) };
    const stopped = (await preflight(task, 'setup', task.setupCommand)) ?? (await runSetup(task)) ?? (await preflight(task, 'test', task.testCommand));
    if (stopped) return stopped;
    const started = await kind.start(task, plan);
    if ('result' in started) return started.result;
    // The tests on the base, before the agent changes anything: what the change is measured against.
    // A resumed task ran them in its first run (its tree is no longer the base).
    const baseTests = snapshot ? (inFlight?.checkpoints.baseTests ?? null) : plan.kind === 'solve' && !task.workspace.continued ? await testOnBase(task) : null;
    if (inFlight && baseTests) inFlight.checkpoints.baseTests = baseTests;

    // Stage 3: the agent, sealed in the box.
    const pullRequestSpent = config.limits.per === 'pull_request' && plan.kind !== 'solve'
      ? await pullRequestBaseline(deps.redis, deps.env.queuePrefix, jobId, async () => {
          const { tokens, dollars } = await readPullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber);
          return { tokens, dollars };
        })
      : undefined;
    const verdict = await runAgentStage(task, {
      followUp: started.followUp,
      instruction: plan.kind === 'solve' ? request.options.instruction : undefined,
      reproduceFirst: plan.kind === 'solve' && reproduceFirst(task.issue, baseTests),
      recorder,
      resume: stored && { snapshot, spent: stored.spent },
      checkpoints: inFlight?.checkpoints,
      pullRequestSpent,
    });
    const { outcome } = verdict;
    // Only this run's spending: earlier runs added theirs.
    const before = stored?.spent;
    await updatePullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber, {
      set: plan.kind === 'solve' ? { requester: request.trigger.login } : {},
      add: { dollars: (outcome.dollars ?? 0) - (before?.dollars ?? 0), tokens: totalTokens(outcome.usage) - (before ? totalTokens(before.usage) : 0) },
    });

    // Stages 4–5: the patch leaves the box and is verified on the host; nothing in the box can change it now.
    const sealed = await sealChange(task);
    const tokens = totalTokens(outcome.usage);
    if (sealed.refusal) {
      await progress.update({ stage: 'failed', reason: sealed.refusal, details: sealed.notes.join('\n\n') || undefined, tokens, tests: { command: task.testCommand, passed: verdict.testsPassed ?? undefined } });
      return { outcome: 'failed', reason: sealed.refusal };
    }
    if (sealed.notes.length) await progress.update({ details: sealed.notes.join('\n\n') });
    const committed = await kind.commit(task, plan, sealed.change, outcome);
    if ('refusal' in committed) {
      const pullRequestUrl = 'pullUrl' in plan ? plan.pullUrl : undefined;
      await progress.update({ stage: 'failed', reason: committed.refusal, pullRequestUrl, tokens, tests: { command: task.testCommand, passed: verdict.testsPassed ?? undefined } });
      return { outcome: 'failed', reason: committed.refusal, pullRequestUrl };
    }
    if (!committed.sha && !task.workspace.continued) {
      const reason = outcome.reason ?? 'the agent finished without changing any file';
      await progress.update({ stage: 'failed', reason: `no changes were made: ${reason}`, tokens });
      return { outcome: 'no-changes', reason };
    }

    // Stage 6: publish.
    await progress.update({ stage: 'pushing' });
    await pushBranch(task.workspace, repoData.clone_url, await freshToken(), taskSignal);
    await progress.update({ completed: ['pushing'] });
    return await kind.finish(task, plan, { ...verdict, change: sealed.change, sha: committed.sha, notes: sealed.notes, baseTests });
  } catch (err) {
    // Put back to wait for a repository slot: not a failure.
    if (err instanceof DelayedError) {
      continues = true;
      throw err;
    }
    // The task's own signal may be aborted: the box is asked again under a fresh one.
    const saveWork = async () => (inFlight ? inFlight.checkpoints.saveLatest(new AbortController().signal) : false);
    if (abortedForShutdown(signal)) {
      continues = true;
      if (inFlight && !(await saveWork())) await saveWorkInProgress(inFlight.task, log);
      await progress.update({ details: 'The worker running this task is restarting; the task goes back to the queue and continues from where it stopped.' });
      // Awaited here: a bare `return` would leave the rejection unhandled while `finally` runs.
      return await handBack(job, token);
    }
    if (signal.aborted) {
      const reason = typeof signal.reason === 'string' ? signal.reason : 'the task was cancelled';
      await progress.update({ stage: 'cancelled', reason });
      return { outcome: 'cancelled', reason };
    }
    if (timeLimit.signal.aborted) {
      const reason = `the task ran past its time limit and was stopped (${failureReason(err)})`;
      await progress.update({ stage: 'failed', reason, tokens: progress.view.tokens });
      return { outcome: 'failed', reason };
    }
    const failure = classifyFailure(err);
    if (failure.kind === 'park') {
      continues = true;
      await saveWork();
      const at = new Date(Date.now() + failure.retryAfterMs);
      await progress.update({ details: `Waiting: ${failureReason(err)}. The task continues at ${at.toISOString().slice(11, 16)} UTC from where it stopped.` });
      await job.moveToDelayed(at.getTime(), token);
      throw new DelayedError();
    }
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const permanent = failure.kind === 'permanent';
    log.error({ err, permanent, lastAttempt }, 'task failed');
    if (permanent || lastAttempt) {
      await progress.update({ stage: 'failed', reason: failureReason(err), tokens: progress.view.tokens });
      if (permanent) throw new UnrecoverableError(errorMessage(err));
    } else {
      continues = true;
      const saved = await saveWork();
      await progress.update({ details: `Attempt ${job.attemptsMade + 1} hit an error (${failureReason(err)}); retrying${saved ? ' from where it stopped' : ''}.` });
    }
    throw err;
  } finally {
    clearTimeout(watchdog);
    if (!continues) await forgetTask(deps.redis, deps.env.queuePrefix, jobId).catch((err: unknown) => log.warn({ err }, 'could not remove the task checkpoint'));
    // While the token still works: the comment must show the task's last state.
    await progress.flush();
    await prepared?.box.close().catch((err: unknown) => log.warn({ err }, 'could not close the sandbox'));
    await repoSlot?.release();
    await revokeInstallationToken(octokit).catch(() => {});
    for (const minting of minted) deps.secrets.delete(minting);
    await fs.rm(runDir, { recursive: true, force: true }).catch(() => {});
  }
}
