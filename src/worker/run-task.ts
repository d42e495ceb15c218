import fs from 'node:fs/promises';
import path from 'node:path';
import { DelayedError, UnrecoverableError } from 'bullmq';
import type { AgentOutcome } from '../agent/agent-loop.ts';
import { runAgentTask } from '../agent/agent-task.ts';
import { AgentPlanNotes } from '../agent/plan-notes.ts';
import { fanOut } from '../agent/transcript-tap.ts';
import { totalTokens } from '../agent/conversation.ts';
import { collectIssueImages, issueTexts } from '../agent/issue-images.ts';
import { modelInfo } from '../agent/model-catalog.ts';
import { ModelError } from '../agent/model-client.ts';
import { detectCi } from '../ci/ci-presence.ts';
import { taskLimits } from '../config/task-limits.ts';
import { createInstallationOctokit, installationToken, revokeInstallationToken } from '../github/installation-client.ts';
import { readIssueContext } from '../github/issue-context.ts';
import { clip } from '../github/markdown.ts';
import { pullRequestTitle, renderPullRequestBody } from '../github/pull-request-body.ts';
import { ensurePullRequest } from '../github/pull-request.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import { taskPageUrl } from '../observability/dashboard-links.ts';
import { branchForIssue, parseTaskRequest } from '../queue/task-request.ts';
import type { TaskJob, TaskResult } from '../queue/task-queue.ts';
import { handOverToSandbox } from '../sandbox/hand-over.ts';
import { runSandboxed } from '../sandbox/run-sandboxed.ts';
import { protectedPathGlobs } from '../security/protected-paths.ts';
import { errorMessage } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { changedFiles, commitAll, pushBranch } from '../workspace/commit-and-push.ts';
import { detectTestCommand } from '../workspace/detect-test-command.ts';
import { prepareWorkspace, type Workspace } from '../workspace/prepare-workspace.ts';
import { cancelFlagKey } from '../queue/cancellation.ts';
import { rememberOpenPull } from '../queue/open-pulls.ts';
import { githubImageSource } from './github-image-source.ts';
import { abortedForShutdown, handBack } from './shutdown.ts';
import { saveWorkInProgress } from './save-work-in-progress.ts';
import { finishRevision } from './finish-revision.ts';
import { planTask, type TaskPlan } from './task-plan.ts';
import { updatePullRequestState } from '../queue/pull-request-state.ts';
import { finishGreen } from './finish-green.ts';
import { mergeMessage, sealResolution, startRebase, type MergedBase } from './rebase-step.ts';
import { finalReview } from './final-review.ts';
import { ProgressReporter, progressKey } from './progress-reporter.ts';
import type { RepoSlot } from './repo-slots.ts';
import type { TaskDependencies } from './task-dependencies.ts';
import { taskLogFields } from './task-log-fields.ts';
import { recordTask } from './task-recording.ts';

function commitSubject(plan: TaskPlan, issueNumber: number): string {
  if (plan.kind === 'revise') return `Address review on #${plan.pullNumber}`;
  if (plan.kind === 'fix-ci') return `Fix CI on #${plan.pullNumber}`;
  if (plan.kind === 'rebase') return `Fix tests after merging ${plan.base} into #${plan.pullNumber}`;
  return `Fix #${issueNumber}`;
}

function isPermanent(err: unknown): boolean {
  if (err instanceof ModelError) return err.permanent;
  const status = (err as { status?: number }).status;
  return status === 404 || status === 401 || status === 410;
}

/** One task, start to finish: the same pipeline for every kind, differing in branch and prompt. */
export async function runTask(
  job: TaskJob,
  token: string | undefined,
  signal: AbortSignal,
  deps: TaskDependencies,
): Promise<TaskResult> {
  let request;
  try {
    request = parseTaskRequest(job.data);
  } catch (err) {
    throw new UnrecoverableError(`malformed task data: ${errorMessage(err)}`);
  }
  const jobId = job.id ?? 'unknown';
  const log = deps.log.child(taskLogFields(jobId, request));
  const recorder = recordTask(job, request, deps, log);
  const agentNotes = new AgentPlanNotes();
  const pageUrl = deps.env.publicUrl ? taskPageUrl(deps.env.publicUrl, jobId) : undefined;
  const repo = { owner: request.repo.owner, repo: request.repo.name };
  const octokit = createInstallationOctokit(deps.app, request.installationId, log, deps.secrets);
  // Every token this task holds is redacted wherever it could surface, until it is revoked.
  const minted = new Set<string>();
  const freshToken = async () => {
    const token = await installationToken(octokit);
    minted.add(token);
    deps.secrets.add(token);
    return token;
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
  const jobDir = path.join(deps.workdir, jobId);
  const startedAt = Date.now();
  log.info({ attempt: job.attemptsMade + 1 }, 'task started');
  // What a shutdown needs to save the work so far.
  const inFlight: { workspace?: Workspace; cloneUrl?: string } = {};
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
    repoSlot = await deps.repoSlots?.take(job, token, request.repo.id, config.limits.concurrent_tasks, (message) =>
      progress.update({ stage: 'queued', details: message }),
    );
    await progress.update({ stage: 'preparing' });
    const protectedPaths = protectedPathGlobs(config.protected_paths);
    const issue = await readIssueContext(octokit, repo, request.issueNumber);
    const gitToken = await freshToken();
    const branch = branchForIssue(request.issueNumber);
    const host = new URL(repoData.clone_url).host;
    const workspace = await prepareWorkspace({
      jobDir,
      cloneUrl: repoData.clone_url,
      defaultBranch: plan.base,
      branch,
      token: gitToken,
      committer: { name: 'ai-fix[bot]', email: `${deps.app.appId}+ai-fix[bot]@users.noreply.${host}` },
      signal,
      mirrors: deps.env.mirrorCacheBytes > 0 ? { root: path.join(deps.env.workdir, 'mirrors'), maxBytes: deps.env.mirrorCacheBytes } : undefined,
    });
    // A rebase is not saved on shutdown: its merge commit may still hold conflict markers, and
    // the next worker simply merges again.
    if (plan.kind !== 'rebase') Object.assign(inFlight, { workspace, cloneUrl: repoData.clone_url });
    await handOverToSandbox(deps.sandbox, [workspace.dir, workspace.home]);
    const commandTimeoutMs = config.limits.command_timeout_seconds * 1000;
    const dirs = { workspace: workspace.dir, home: workspace.home, gitDir: workspace.gitDir };
    const shell = (command: string, timeoutMs?: number) =>
      runSandboxed(deps.sandbox, command, { dirs, timeoutMs: Math.min(timeoutMs ?? commandTimeoutMs, commandTimeoutMs), signal });

    if (config.setup) {
      const setup = await shell(config.setup);
      if (setup.exitCode !== 0) {
        const reason = `the setup command \`${config.setup}\` failed (${setup.timedOut ? 'timed out' : `exit code ${setup.exitCode}`})`;
        await progress.update({ stage: 'failed', reason, details: `\`\`\`\n${clip(setup.output, 2000)}\n\`\`\`` });
        return { outcome: 'failed', reason };
      }
    }
    const testCommand = config.test ?? (await detectTestCommand(workspace.dir));
    const model = request.options.model ?? config.model ?? deps.env.defaultModel;
    const info = modelInfo(model, deps.env.modelOverrides);
    const limits = taskLimits(config.limits, deps.env.limitCaps);

    let followUp = plan.kind === 'solve' || plan.kind === 'rebase' ? undefined : plan.followUp;
    let merged: MergedBase | undefined;
    if (plan.kind === 'rebase') {
      const started = await startRebase({ plan, workspace, cloneUrl: repoData.clone_url, token: freshToken, testCommand, shell, progress, signal });
      if ('result' in started) return started.result;
      ({ followUp, merge: merged } = started);
    }

    await progress.update({ stage: 'working', step: 0, maxSteps: limits.steps });
    const outcome: AgentOutcome = await runAgentTask({
      client: deps.modelClient,
      model,
      modelInfo: info,
      limits,
      startedAt,
      root: await fs.realpath(workspace.dir),
      gitDir: workspace.gitDir,
      fileOwner: deps.sandbox.user,
      protectedPaths,
      runShell: shell,
      testCommand,
      issue,
      images: await collectIssueImages(issueTexts(issue), {
        acceptsImages: info.images,
        model,
        source: githubImageSource(repoData, gitToken),
        signal,
      }),
      configInstructions: config.instructions,
      instruction: plan.kind === 'solve' ? request.options.instruction : undefined,
      followUp,
      promptCacheKey: `ai-fix-${request.repo.id}-${request.issueNumber}`,
      secrets: deps.secrets,
      signal,
      log,
      transcript: fanOut(recorder, agentNotes),
      onStep: ({ step, usage, dollars }) => progress.update({ step, tokens: totalTokens(usage), dollars: dollars ?? undefined }),
    });
    log.info({ status: outcome.status, steps: outcome.steps, usage: outcome.usage, dollars: outcome.dollars, compactions: outcome.compactions }, 'agent stopped');
    // Cancelled and shut-down tasks are told apart and reported in one place, below.
    if (outcome.status === 'cancelled') throw signal.reason ?? new Error('cancelled');
    await updatePullRequestState(deps.redis, deps.env.queuePrefix, request.repo.id, request.issueNumber, {
      set: plan.kind === 'solve' ? { requester: request.trigger.login } : {},
      add: { dollars: outcome.dollars ?? 0, tokens: totalTokens(outcome.usage) },
    });

    let testsPassed = outcome.testsPassed;
    let testOutput = outcome.lastTestOutput;
    if (testCommand && outcome.status !== 'finished') {
      await progress.update({ stage: 'testing' });
      const verdict = await shell(testCommand);
      testsPassed = verdict.exitCode === 0;
      testOutput = verdict.output;
    }
    const passing = outcome.status === 'finished' && testsPassed !== false;

    const review = await finalReview(workspace, protectedPaths, deps.secrets);
    if (review.refusal) {
      await progress.update({ stage: 'failed', reason: review.refusal, details: review.notes.join('\n\n') || undefined, tokens: totalTokens(outcome.usage) });
      return { outcome: 'failed', reason: review.refusal };
    }
    if (review.notes.length) await progress.update({ details: review.notes.join('\n\n') });
    let sha: string | null;
    if (plan.kind === 'rebase' && merged?.status === 'conflicts') {
      const message = redact(`${mergeMessage(plan, branch)}\n\n${outcome.summary ?? ''}\n\nai-fix task ${jobId}`, deps.secrets);
      const sealed = await sealResolution(workspace, merged, message);
      if ('refusal' in sealed) {
        await progress.update({ stage: 'failed', reason: sealed.refusal, pullRequestUrl: plan.pullUrl, tokens: totalTokens(outcome.usage) });
        return { outcome: 'failed', reason: sealed.refusal, pullRequestUrl: plan.pullUrl };
      }
      sha = sealed.sha;
    } else {
      sha = await commitAll(
        workspace,
        redact(`${commitSubject(plan, request.issueNumber)}: ${issue.title}\n\n${outcome.summary ?? 'Work in progress by ai-fix.'}\n\nai-fix task ${jobId}`, deps.secrets),
      );
    }
    const files = await changedFiles(workspace);
    if (!sha && !workspace.continued) {
      const reason = outcome.reason ?? 'the agent finished without changing any file';
      await progress.update({ stage: 'failed', reason: `no changes were made: ${reason}`, tokens: totalTokens(outcome.usage) });
      return { outcome: 'no-changes', reason };
    }
    await progress.update({ stage: 'pushing' });
    await pushBranch(workspace, repoData.clone_url, await freshToken(), signal);
    if (plan.kind === 'revise') {
      return await finishRevision({ octokit, deps, request, plan, outcome, sha, passing, progress, log });
    }
    if (plan.kind === 'rebase') {
      const verdict = passing ? 'the tests pass' : `the local tests still fail (${outcome.reason ?? 'unknown'}); pushed anyway so CI and reviewers can tell`;
      const what = merged?.status === 'conflicts' ? `resolved conflicts in ${merged.conflicts.map((f) => `\`${f}\``).join(', ')}` : 'fixed what the merge broke';
      await progress.update({ stage: passing ? 'done' : 'failed', reason: passing ? undefined : verdict, pullRequestUrl: plan.pullUrl, details: `Merged the latest \`${plan.base}\` into the branch and ${what} (${sha ? sha.slice(0, 7) : 'no new commit'}); ${verdict}.\n\n${outcome.summary ?? ''}`, tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined });
      return passing ? { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl } : { outcome: 'failed', reason: verdict, pullRequestUrl: plan.pullUrl };
    }
    if (plan.kind === 'fix-ci') {
      const verdict = passing ? 'pushed; waiting for CI to run again' : `the local tests still fail (${outcome.reason ?? 'unknown'}); pushed anyway so CI can tell`;
      await progress.update({ stage: 'done', pullRequestUrl: plan.pullUrl, details: `CI fix ${sha ? sha.slice(0, 7) : '(no new commit)'} ${verdict}.\n\n${outcome.summary ?? ''}`, tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined });
      return { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl };
    }

    const ci = { presence: await detectCi(octokit, repo, repoData.default_branch, workspace.dir), base: repoData.default_branch, maxAttempts: config.ci.max_attempts };
    const pr = await ensurePullRequest(octokit, {
      ...repo,
      head: branch,
      base: repoData.default_branch,
      title: pullRequestTitle(request.issueNumber, issue.title, passing),
      // The summary and the commands come from the model: a secret it printed must not reach GitHub.
      body: redact(renderPullRequestBody({
        issueNumber: request.issueNumber,
        summary: outcome.summary ?? `The agent stopped before finishing: ${outcome.reason ?? 'unknown reason'}.`,
        files,
        testCommand,
        testsPassed,
        testOutput,
        stopReason: outcome.reason,
        usage: outcome.usage,
        dollars: outcome.dollars,
        steps: outcome.steps,
        model,
        durationMs: Date.now() - startedAt,
        notes: review.notes,
        plan: agentNotes.plan(),
        commands: agentNotes.commands(),
        taskPageUrl: pageUrl,
        ci,
      }), deps.secrets),
      draft: config.draft || !passing,
    });
    log.info({ pullRequest: pr.url, created: pr.created, passing }, 'pull request ready');
    await rememberOpenPull(deps.redis, deps.env.queuePrefix, request.repo.id, { pullNumber: pr.number, issueNumber: request.issueNumber });
    if (passing) {
      await progress.update({ stage: 'done', pullRequestUrl: pr.url, tokens: totalTokens(outcome.usage), dollars: outcome.dollars ?? undefined });
      return { outcome: pr.created ? 'pr-opened' : 'pr-updated', pullRequestUrl: pr.url };
    }
    const reason = outcome.reason ?? 'the tests still fail';
    await progress.update({
      stage: 'failed',
      reason: `${reason}. The work so far is in the draft pull request ${pr.url}, marked as not passing.`,
      pullRequestUrl: pr.url,
      tokens: totalTokens(outcome.usage),
      dollars: outcome.dollars ?? undefined,
    });
    return { outcome: 'failed', reason, pullRequestUrl: pr.url };
  } catch (err) {
    // Put back to wait for a repository slot: not a failure.
    if (err instanceof DelayedError) throw err;
    if (abortedForShutdown(signal)) {
      await saveWorkInProgress(inFlight, octokit, log);
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
    await repoSlot?.release();
    await revokeInstallationToken(octokit).catch(() => {});
    for (const token of minted) deps.secrets.delete(token);
    await fs.rm(jobDir, { recursive: true, force: true }).catch(() => {});
  }
}
