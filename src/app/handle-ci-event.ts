import type { Context } from 'probot';
import { enqueueTask } from '../queue/task-queue.ts';
import { TASK_REQUEST_VERSION, type TaskRequest } from '../queue/task-request.ts';
import { issueOfTaskBranch } from './commands.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { logIgnoredPull, pullOwnership, rememberDelivery } from './trigger-guards.ts';

// Check events arrive in bursts (one per check run, then the suite, then the workflow run);
// they are gathered into one fix-ci task that looks at all of the commit's checks at once.
const GATHER_MS = 5000;

export interface CiEvent {
  sha: string;
  branches: string[];
  event: string;
  /** The repository the commit came from, where the event says (workflow runs). */
  headRepoId?: number;
}

type CiContext = Context<'check_suite.completed' | 'check_run.completed' | 'workflow_run.completed' | 'status'>;

/** CI finished something on a commit of an ai-fix branch: queue a look at that commit's checks. */
export async function handleCiEvent(context: CiContext, deps: HandlerDependencies, ci: CiEvent): Promise<void> {
  const { payload } = context;
  const branch = ci.branches.find((name) => issueOfTaskBranch(name) !== null);
  if (!branch || !payload.installation) return;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const log = context.log.child({ repo: `${repo.owner}/${repo.repo}`, deliveryId: context.id, event: ci.event, sha: ci.sha });
  if (ci.headRepoId !== undefined && ci.headRepoId !== payload.repository.id) {
    log.info({ branch }, 'ignored: CI ran on a commit from a fork');
    return;
  }
  // A fork in the same organisation has the same `owner:branch` label, so the list can hold more
  // than ai-fix's own pull request: each one at this commit is checked.
  const { data: pulls } = await context.octokit.rest.pulls.list({ ...repo, head: `${repo.owner}:${branch}`, state: 'open', per_page: 100 });
  if (pulls.length === 0) return;
  const atCommit = pulls.filter((p) => p.head.sha === ci.sha);
  if (atCommit.length === 0) {
    log.info({ head: pulls.map((p) => p.head.sha).join(',') }, 'CI event for an older commit of the pull request; ignored');
    return;
  }
  let target: { pull: (typeof pulls)[number]; issueNumber: number } | undefined;
  for (const candidate of atCommit) {
    const ownership = await pullOwnership(deps.redis, deps.queuePrefix, payload.repository.id, candidate);
    if (ownership.ours) {
      target = { pull: candidate, issueNumber: ownership.issueNumber };
      break;
    }
    logIgnoredPull(log, ownership, { pull: candidate.number });
  }
  if (!target) return;
  const { pull, issueNumber } = target;
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, context.id))) return;
  const request: TaskRequest = {
    version: TASK_REQUEST_VERSION,
    kind: 'fix-ci',
    repo: { id: payload.repository.id, owner: repo.owner, name: repo.repo },
    installationId: payload.installation.id,
    issueNumber,
    pullNumber: pull.number,
    headSha: ci.sha,
    trigger: { login: payload.sender?.login ?? 'ci', event: ci.event, deliveryId: context.id },
    options: {},
    requestedAt: new Date().toISOString(),
  };
  const enqueued = await enqueueTask(deps.queue, request, { delayMs: GATHER_MS });
  log.info({ jobId: enqueued.jobId, added: enqueued.added, pull: pull.number }, 'CI result queued for a look');
}
