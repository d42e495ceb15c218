import type { ProbotOctokit } from 'probot';
import { PROGRESS_MARKER, renderProgress, type ProgressStage } from '../github/progress-render.ts';
import { loadRepoConfig } from '../github/repo-config-loader.ts';
import { claimDataEpoch } from '../state/data-epoch.ts';
import { taskJobId } from '../queue/job-ids.ts';
import { branchForIssue } from '../queue/task-request.ts';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { progressKey } from '../state/progress-key.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { queueSolve } from './queue-solve.ts';

export interface ReconcileDependencies extends HandlerDependencies {
  /** The app's own client (its JWT), which lists the installations. */
  appAuth: () => Promise<ProbotOctokit>;
  auth: (installationId: number) => Promise<ProbotOctokit>;
  log: Logger;
}

interface Candidate {
  number: number;
  author: string;
  progressCommentId: number;
}

const UNFINISHED: ProgressStage[] = ['queued', 'preparing', 'working', 'testing', 'pushing'];
// Passes over repositories that could not all be checked (GitHub, or the queue's own connection
// still coming back), a few seconds apart; each pass queues only what the previous ones did not.
const PASSES = 5;
const PASS_DELAY_MS = 5000;
// As long as the worker keeps a progress comment's id.
const PROGRESS_ID_TTL_SECONDS = 30 * 24 * 3600;

/** The headlines (the line under the marker) of progress comments whose task has not ended. */
function unfinishedHeadlines(): Set<string> {
  return new Set(UNFINISHED.map((stage) => renderProgress({ stage }).split('\n')[1] ?? ''));
}

/** Open issues carrying the repository's label whose latest progress comment, ai-fix's own, says the task has not ended. */
async function unfinishedIssues(octokit: ProbotOctokit, repo: { owner: string; repo: string }, label: string): Promise<Candidate[]> {
  const unfinished = unfinishedHeadlines();
  const issues = await octokit.paginate('GET /repos/{owner}/{repo}/issues', { ...repo, state: 'open', labels: label, per_page: 100 });
  const candidates: Candidate[] = [];
  for (const issue of issues) {
    if (issue.pull_request) continue;
    const comments = await octokit.paginate('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { ...repo, issue_number: issue.number, per_page: 100 });
    const progress = comments.filter((c) => c.user?.type === 'Bot' && c.body?.startsWith(PROGRESS_MARKER)).at(-1);
    if (!progress || !unfinished.has(progress.body?.split('\n')[1] ?? '')) continue;
    // A pull request already open for it: its task got as far as it needed to.
    const { data: pulls } = await octokit.request('GET /repos/{owner}/{repo}/pulls', { ...repo, state: 'open', head: `${repo.owner}:${branchForIssue(issue.number)}`, per_page: 1 });
    if (pulls.length) continue;
    candidates.push({ number: issue.number, author: issue.user?.login ?? repo.owner, progressCommentId: progress.id });
  }
  return candidates;
}

/**
 * Queues again, as `solve` tasks, the labelled issues whose task ended with the data Redis lost:
 * the same path a label takes once decided, under one delivery id per data epoch so a second
 * pass adds nothing, continuing the issue's progress comment. Answers how many were queued and
 * how many repositories could not be checked.
 */
export async function reconcileLostTasks(deps: ReconcileDependencies, epoch: string): Promise<{ queued: number; unreadable: number }> {
  const deliveryId = `reconcile-${epoch}`;
  const app = await deps.appAuth();
  const installations = await app.paginate('GET /app/installations', { per_page: 100 });
  let queued = 0;
  let unreadable = 0;
  for (const installation of installations) {
    const octokit = await deps.auth(installation.id);
    const repositories = await octokit.paginate('GET /installation/repositories', { per_page: 100 });
    for (const repository of repositories) {
      const repo = { owner: repository.owner.login, repo: repository.name };
      try {
        const config = await loadRepoConfig(octokit, repo);
        // A repository whose config does not validate starts no task anyway.
        if (!config.ok) continue;
        for (const issue of await unfinishedIssues(octokit, repo, config.config.label)) {
          const jobId = taskJobId('solve', repository.id, issue.number, deliveryId);
          await deps.redis.set(progressKey(deps.queuePrefix, jobId), String(issue.progressCommentId), 'EX', PROGRESS_ID_TTL_SECONDS, 'NX');
          const added = await queueSolve({ id: deliveryId, log: deps.log, octokit }, deps, {
            ...repo,
            repoId: repository.id,
            installationId: installation.id,
            issueNumber: issue.number,
            login: issue.author,
            event: 'reconcile',
          });
          if (added) queued++;
        }
      } catch (err) {
        unreadable++;
        deps.log.warn({ repo: `${repo.owner}/${repo.repo}`, err: errorMessage(err) }, 'could not check a repository for tasks Redis lost');
      }
    }
  }
  deps.log.info(
    { queued, unreadable, epoch },
    `Redis had no data-epoch marker (restarted without its data, or new): queued ${queued} labelled issue(s) again whose task had not finished`,
  );
  return { queued, unreadable };
}

/**
 * At start and on every reconnect: when Redis turns out to have lost its data, one server (the
 * one that writes the new epoch marker) queues the lost tasks again.
 */
export function reconcileWhenRedisLosesData(deps: ReconcileDependencies): void {
  const check = () =>
    deps.background.run('reconcile tasks Redis lost', async () => {
      const { epoch, fresh } = await claimDataEpoch(deps.redis, deps.queuePrefix);
      if (!fresh) return;
      for (let pass = 1; pass <= PASSES; pass++) {
        const { unreadable } = await reconcileLostTasks(deps, epoch).catch((err: unknown) => {
          deps.log.warn({ err: errorMessage(err) }, 'could not list the installations to find tasks Redis lost');
          return { unreadable: 1 };
        });
        if (unreadable === 0 || pass === PASSES) return;
        await new Promise((resolve) => setTimeout(resolve, pass * PASS_DELAY_MS));
      }
    });
  deps.redis.on('ready', check);
  if (deps.redis.status === 'ready') check();
}
