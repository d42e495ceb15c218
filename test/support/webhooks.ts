import crypto from 'node:crypto';
import { createRequire } from 'node:module';

// Real payload shapes from @octokit/webhooks-examples, rewritten to point at simulator objects.
const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, any>> }>;

export function examplePayload(event: string, action?: string): Record<string, any> {
  const definition = examples.find((entry) => entry.name === event);
  const example = definition?.examples.find((e) => action === undefined || e.action === action);
  if (!example) throw new Error(`no example payload for ${event}.${action}`);
  return structuredClone(example);
}

function hasExample(event: string, action: string): boolean {
  return !!examples.find((entry) => entry.name === event)?.examples.some((e) => e.action === action);
}

export interface SimRepoRef {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  cloneUrl: string;
  htmlUrl: string;
}

function repositoryPayload(base: Record<string, any>, repo: SimRepoRef): Record<string, any> {
  return {
    ...base,
    id: repo.id,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: { ...base.owner, login: repo.owner },
    default_branch: repo.defaultBranch,
    clone_url: repo.cloneUrl,
    html_url: repo.htmlUrl,
  };
}

export interface IssueEventOptions {
  repo: SimRepoRef;
  installationId: number;
  issueNumber: number;
  title: string;
  body: string;
  sender: string;
  senderType?: 'User' | 'Bot';
}

/** An `issues` event (labeled, unlabeled, closed, …) for an issue of a simulated repository. */
export function issueEventPayload(action: string, options: IssueEventOptions & { label?: string }): Record<string, any> {
  // Some actions (closed) have no example; their shape is an `opened` payload's.
  const payload = hasExample('issues', action) ? examplePayload('issues', action) : { ...examplePayload('issues', 'opened'), action };
  if (options.label !== undefined) payload.label = { ...(payload.label ?? examplePayload('issues', 'labeled').label), name: options.label };
  payload.issue = { ...payload.issue, number: options.issueNumber, title: options.title, body: options.body, labels: payload.label ? [payload.label] : [] };
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: options.sender, type: options.senderType ?? 'User' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

export function issueLabeledPayload(options: IssueEventOptions & { label: string }): Record<string, any> {
  return issueEventPayload('labeled', options);
}

/** `issue_comment.created` on an issue (or, with `isPullRequest`, a PR) of a simulated repository. */
export function issueCommentPayload(options: IssueEventOptions & { commentBody: string; commentId?: number; isPullRequest?: boolean }): Record<string, any> {
  const payload = examplePayload('issue_comment', 'created');
  payload.issue = { ...payload.issue, number: options.issueNumber, title: options.title, body: options.body };
  if (options.isPullRequest) payload.issue.pull_request = { url: `${options.repo.htmlUrl}/pull/${options.issueNumber}` };
  else delete payload.issue.pull_request;
  payload.comment = { ...payload.comment, id: options.commentId ?? Math.floor(Math.random() * 1e9), body: options.commentBody, user: { ...payload.comment.user, login: options.sender, type: options.senderType ?? 'User' } };
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: options.sender, type: options.senderType ?? 'User' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

export function sign(secret: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs a webhook the way GitHub does: JSON body, event and delivery headers, HMAC signature. */
export async function sendWebhook(options: {
  url: string;
  secret: string;
  event: string;
  payload: unknown;
  deliveryId?: string;
  signature?: string;
}): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(options.payload);
  const response = await fetch(options.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': options.event,
      'x-github-delivery': options.deliveryId ?? crypto.randomUUID(),
      'x-hub-signature-256': options.signature ?? sign(options.secret, body),
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}

interface PullRef {
  number: number;
  head: string;
  base: string;
  /** The fork holding the head branch; null once that fork is deleted; absent for this repository. */
  headRepo?: SimRepoRef | null;
}

function pullRequestPayload(base: Record<string, any>, repo: SimRepoRef, pull: PullRef): Record<string, any> {
  const headRepo = pull.headRepo === undefined ? repo : pull.headRepo;
  const headOwner = headRepo?.owner ?? 'ghost';
  return {
    ...base,
    number: pull.number,
    html_url: `${repo.htmlUrl}/pull/${pull.number}`,
    head: {
      ...base.head,
      ref: pull.head,
      label: `${headOwner}:${pull.head}`,
      user: { ...base.head.user, login: headOwner },
      repo: headRepo ? repositoryPayload(base.head.repo, headRepo) : null,
    },
    base: { ...base.base, ref: pull.base, label: `${repo.owner}:${pull.base}`, repo: repositoryPayload(base.base.repo, repo) },
  };
}

/** `pull_request_review.submitted` for a review the simulator already holds. */
export function reviewSubmittedPayload(options: {
  repo: SimRepoRef;
  installationId: number;
  pull: PullRef;
  review: { id: number; state: string; body: string; user: string; userType?: 'User' | 'Bot' };
}): Record<string, any> {
  const payload = examplePayload('pull_request_review', 'submitted');
  payload.review = { ...payload.review, id: options.review.id, state: options.review.state.toLowerCase(), body: options.review.body, user: { ...payload.review.user, login: options.review.user, type: options.review.userType ?? 'User' } };
  payload.pull_request = pullRequestPayload(payload.pull_request, options.repo, options.pull);
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: options.review.user, type: options.review.userType ?? 'User' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

/** `pull_request_review_comment.<action>` for an inline comment the simulator already holds. */
export function reviewCommentPayload(options: {
  repo: SimRepoRef;
  installationId: number;
  pull: PullRef;
  comment: { id: number; body: string; user: string; path: string; userType?: 'User' | 'Bot' };
  action?: 'created' | 'edited' | 'deleted';
}): Record<string, any> {
  const payload = examplePayload('pull_request_review_comment', 'created');
  payload.action = options.action ?? 'created';
  payload.comment = { ...payload.comment, id: options.comment.id, body: options.comment.body, path: options.comment.path, user: { ...payload.comment.user, login: options.comment.user, type: options.comment.userType ?? 'User' } };
  payload.pull_request = pullRequestPayload(payload.pull_request, options.repo, options.pull);
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: options.comment.user, type: options.comment.userType ?? 'User' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

/** `check_suite.completed` for a commit of a simulated repository. */
export function checkSuiteCompletedPayload(options: { repo: SimRepoRef; installationId: number; sha: string; branch: string; conclusion: string }): Record<string, any> {
  const payload = examplePayload('check_suite', 'completed');
  payload.check_suite = { ...payload.check_suite, head_sha: options.sha, head_branch: options.branch, status: 'completed', conclusion: options.conclusion, app: { ...payload.check_suite.app, slug: 'github-actions' } };
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: 'github-actions[bot]', type: 'Bot' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

/** A `push` of commits `before`..`after` to a branch of a simulated repository. */
export function pushPayload(options: { repo: SimRepoRef; installationId: number; branch: string; before: string; after: string; sender: string }): Record<string, any> {
  const payload = examplePayload('push');
  payload.ref = `refs/heads/${options.branch}`;
  payload.before = options.before;
  payload.after = options.after;
  payload.deleted = false;
  payload.created = false;
  payload.repository = { ...repositoryPayload(payload.repository, options.repo), master_branch: options.repo.defaultBranch };
  payload.sender = { ...payload.sender, login: options.sender, type: 'User' };
  payload.pusher = { name: options.sender, email: `${options.sender}@users.noreply.example` };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

/**
 * `check_run.completed` for a check run the simulator holds (its JSON, as `addCheckRun` returns
 * it); `branch` is the suite's head branch (GitHub gives null for a fork's branch).
 */
export function checkRunCompletedPayload(options: { repo: SimRepoRef; installationId: number; checkRun: Record<string, any>; branch: string | null }): Record<string, any> {
  const payload = examplePayload('check_run', 'completed');
  const run = options.checkRun;
  payload.check_run = {
    ...payload.check_run,
    ...run,
    check_suite: { ...payload.check_run.check_suite, id: run.check_suite.id, head_branch: options.branch, head_sha: run.head_sha, pull_requests: run.pull_requests, app: run.app },
  };
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: 'github-actions[bot]', type: 'Bot' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

/** `workflow_run.completed` for a commit; `headRepo` is the repository the commit came from (a fork's for a fork's pull request). */
export function workflowRunCompletedPayload(options: {
  repo: SimRepoRef;
  installationId: number;
  sha: string;
  branch: string;
  conclusion: string;
  headRepo?: SimRepoRef;
}): Record<string, any> {
  const payload = examplePayload('workflow_run', 'completed');
  const repository = repositoryPayload(payload.repository, options.repo);
  payload.workflow_run = {
    ...payload.workflow_run,
    head_sha: options.sha,
    head_branch: options.branch,
    status: 'completed',
    conclusion: options.conclusion,
    event: 'pull_request',
    // GitHub lists no pull requests for a run on a fork's commit.
    pull_requests: [],
    repository,
    head_repository: repositoryPayload(payload.workflow_run.head_repository, options.headRepo ?? options.repo),
  };
  payload.repository = repository;
  payload.sender = { ...payload.sender, login: 'github-actions[bot]', type: 'Bot' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}

/** `pull_request.<action>` (closed, reopened, …) for a pull request the simulator holds, opened by `author`. */
export function pullRequestEventPayload(
  action: string,
  options: { repo: SimRepoRef; installationId: number; pull: PullRef; author: string; authorType?: 'User' | 'Bot'; sender: string },
): Record<string, any> {
  const payload = examplePayload('pull_request', action);
  const authorType = options.authorType ?? (options.author.endsWith('[bot]') ? 'Bot' : 'User');
  payload.pull_request = pullRequestPayload(payload.pull_request, options.repo, options.pull);
  payload.pull_request.user = { ...payload.pull_request.user, login: options.author, type: authorType };
  payload.pull_request.state = action === 'closed' ? 'closed' : 'open';
  payload.number = options.pull.number;
  payload.repository = repositoryPayload(payload.repository, options.repo);
  payload.sender = { ...payload.sender, login: options.sender, type: options.sender.endsWith('[bot]') ? 'Bot' : 'User' };
  payload.installation = { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}
