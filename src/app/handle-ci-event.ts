import type { Context } from 'probot';
import { enqueueTask } from '../queue/task-queue.ts';
import { TASK_REQUEST_VERSION, type TaskRequest } from '../queue/task-request.ts';
import { issueOfTaskBranch } from './commands.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { rememberDelivery } from './trigger-guards.ts';

// Check events arrive in bursts (one per check run, then the suite, then the workflow run);
// they are gathered into one fix-ci task that looks at all of the commit's checks at once.
const GATHER_MS = 5000;

export interface CiEvent {
  sha: string;
  branches: string[];
  event: string;
}

type CiContext = Context<'check_suite.completed' | 'check_run.completed' | 'workflow_run.completed' | 'status'>;

/** CI finished something on a commit of an ai-fix branch: queue a look at that commit's checks. */
export async function handleCiEvent(context: CiContext, deps: HandlerDependencies, ci: CiEvent): Promise<void> {
  const { payload } = context;
  const branch = ci.branches.find((name) => issueOfTaskBranch(name) !== null);
  if (!branch || !payload.installation) return;
  const issueNumber = issueOfTaskBranch(branch)!;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const { data: pulls } = await context.octokit.rest.pulls.list({ ...repo, head: `${repo.owner}:${branch}`, state: 'open', per_page: 1 });
  const pull = pulls[0];
  if (!pull) return;
  if (pull.head.sha !== ci.sha) {
    context.log.info({ sha: ci.sha, head: pull.head.sha }, 'CI event for an older commit of the pull request; ignored');
    return;
  }
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
  context.log.info({ jobId: enqueued.jobId, added: enqueued.added, sha: ci.sha }, 'CI result queued for a look');
}
