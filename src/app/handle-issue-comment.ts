import type { Context } from 'probot';
import { parseCommand } from './commands.ts';
import { handleStopCommand } from './handle-cancel.ts';
import { requestRevision } from './handle-feedback.ts';
import { requestRebase } from './handle-rebase.ts';
import type { HandlerDependencies } from './handle-issue-labeled.ts';
import { authoriseTrigger } from './allow-list.ts';
import { badConfigMessage } from './messages.ts';
import { queueSolve } from './queue-solve.ts';
import { isBot, rememberDelivery } from './trigger-guards.ts';

/** `/ai-fix …` commands and mentions of the app in issue and pull request comments. */
export async function handleIssueComment(
  context: Context<'issue_comment.created'>,
  deps: HandlerDependencies,
  appSlug: () => Promise<string | undefined>,
): Promise<void> {
  const { payload } = context;
  if (isBot(payload.comment.user) || !payload.installation) return;
  const command = parseCommand(payload.comment.body, await appSlug());
  if (!command) return;
  if (command.type === 'stop') {
    await handleStopCommand(context, deps);
    return;
  }
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  if (!payload.issue.pull_request) {
    if (command.type === 'instruction') await rerunIssue(context, deps, command.text);
    return;
  }
  const { data: pull } = await context.octokit.rest.pulls.get({ ...repo, pull_number: payload.issue.number });
  if (command.type === 'rebase') {
    await requestRebase(context, deps, pull);
    return;
  }
  await requestRevision(context, deps, {
    ...repo,
    repoId: payload.repository.id,
    installationId: payload.installation.id,
    pull,
    login: payload.comment.user?.login ?? '',
    userType: payload.comment.user?.type,
    event: 'issue_comment.created',
    instruction: command.text,
    react: (content) => context.octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: payload.comment.id, content }),
  });
}

/** `/ai-fix <instruction>` on an issue: run the issue again, with the instruction. */
async function rerunIssue(context: Context<'issue_comment.created'>, deps: HandlerDependencies, instruction: string): Promise<void> {
  const { payload } = context;
  const repo = { owner: payload.repository.owner.login, repo: payload.repository.name };
  const login = payload.comment.user?.login ?? '';
  if (!payload.installation) return;
  const config = await authoriseTrigger(context.octokit, repo, login, context.log, 'an instruction');
  if (!config) return;
  if (!(await rememberDelivery(deps.redis, deps.queuePrefix, context.id))) return;
  if (!config.ok) {
    deps.background.run('bad-config comment', () =>
      context.octokit.rest.issues.createComment({ ...repo, issue_number: payload.issue.number, body: badConfigMessage(config.error) }),
    );
    return;
  }
  await queueSolve(context, deps, {
    ...repo,
    repoId: payload.repository.id,
    installationId: payload.installation.id,
    issueNumber: payload.issue.number,
    login,
    event: 'issue_comment.created',
    instruction: instruction || undefined,
  });
}
