// A local stand-in for GitHub (Enterprise layout): the REST endpoints ai-fix uses, with GitHub's
// JSON shapes and auth rules, plus git smart HTTP served by `git http-backend`, plus the app's
// webhook deliveries (sent, recorded, listed and redelivered over REST). Tests point the app at it
// with GHE_HOST/GHE_PROTOCOL so nothing reaches the internet.
// Pull request reviews, review comments and review requests, PR files/diffs and compares, checks,
// commit statuses and Actions runs/jobs/logs are read over REST; tests create them with helpers
// (addReview, addCheckRun, …). /api/graphql answers the draft/ready-for-review mutations.
import { spawn, execFile } from 'node:child_process';
import {
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  randomUUID,
  verify as verifySignature,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { answerGraphql, GqlError, type GqlObject, type GqlResolver } from './github-sim-graphql.ts';

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface SimRepo {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  defaultBranch: string;
  cloneUrl: string;
  htmlUrl: string;
  bareDir: string;
}

export interface SimComment {
  id: number;
  body: string;
  user: { login: string; type: 'User' | 'Bot' };
  createdAt: string;
  updatedAt: string;
  reactions: string[];
}

export interface SimPull {
  number: number;
  title: string;
  body: string;
  head: string /* branch name */;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  user: { login: string };
  /** Set when the head lives in a fork: the fork's full name (it may since have been deleted). */
  headRepo?: string;
}

export type ReviewState = 'CHANGES_REQUESTED' | 'COMMENTED' | 'APPROVED';
export type CheckStatus = 'queued' | 'in_progress' | 'completed';
export type CheckConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required';
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

// The JSON types below name the fields tests look at; the objects carry GitHub's full shape, so
// they can go straight into webhook payloads.

export interface SimUserJson {
  login: string;
  id: number;
  node_id: string;
  type: string;
  html_url: string;
  [key: string]: unknown;
}

export interface SimIssueCommentJson {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: SimUserJson;
  created_at: string;
  updated_at: string;
  author_association: string;
  [key: string]: unknown;
}

export interface SimReviewJson {
  id: number;
  node_id: string;
  user: SimUserJson;
  body: string;
  state: ReviewState;
  html_url: string;
  pull_request_url: string;
  commit_id: string;
  submitted_at: string;
  author_association: string;
  [key: string]: unknown;
}

export interface SimReviewCommentJson {
  id: number;
  node_id: string;
  url: string;
  pull_request_review_id: number;
  /** Only on replies, as on GitHub (absent, not null, on a thread's first comment). */
  in_reply_to_id?: number;
  diff_hunk: string;
  path: string;
  position: number;
  original_position: number;
  line: number;
  original_line: number;
  side: 'RIGHT';
  commit_id: string;
  original_commit_id: string;
  user: SimUserJson;
  body: string;
  html_url: string;
  pull_request_url: string;
  created_at: string;
  updated_at: string;
  author_association: string;
  [key: string]: unknown;
}

export interface SimAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'failure' | 'warning' | 'notice';
  message: string;
  title?: string;
}

export interface SimCheckOutput {
  title: string;
  summary: string;
  text?: string;
}

export interface SimCheckRunInit {
  headSha: string;
  name: string;
  status: CheckStatus;
  /** Required when status is 'completed', not allowed otherwise. */
  conclusion?: CheckConclusion;
  output?: SimCheckOutput;
  annotations?: SimAnnotation[];
  /**
   * Makes the check run a GitHub Actions job: check runs with the same head sha and workflow name
   * are jobs of one workflow run (and one check suite), as on GitHub.
   */
  workflowRun?: {
    name: string;
    /** Served verbatim by the job-logs download URL. */
    jobLog: string;
    /** The job's steps once completed; default: one `Run <name>` step with the job's conclusion. */
    steps?: Array<{ name: string; conclusion: CheckConclusion }>;
  };
  /** Slug of the app reporting a non-Actions check run; default 'sim-ci'. */
  app?: string;
  /** Default: the check run's html_url. */
  detailsUrl?: string;
  /** Default: the branch whose tip is headSha when the check run is added. */
  headBranch?: string;
}

export interface SimCheckRunJson {
  id: number;
  node_id: string;
  name: string;
  head_sha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  url: string;
  html_url: string;
  details_url: string;
  started_at: string;
  completed_at: string | null;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    annotations_count: number;
    annotations_url: string;
  };
  check_suite: { id: number };
  app: { id: number; slug: string; name: string; [key: string]: unknown };
  pull_requests: Array<{ number: number; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface SimCommitStatusJson {
  id: number;
  node_id: string;
  url: string;
  state: CommitState;
  context: string;
  description: string | null;
  target_url: string | null;
  created_at: string;
  updated_at: string;
  creator: SimUserJson;
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  /** Percent-decoded, without the query, e.g. /api/v3/repos/o/r/issues/1/comments or /o/r.git/info/refs. */
  path: string;
  query: Record<string, string>;
  status: number;
  body: unknown;
  /** The kind of credential presented (valid or not; `status` tells whether it was accepted). */
  auth: 'jwt' | 'installation' | 'basic' | 'none';
}

export interface FailOptions {
  /** Overrides the error body's message. */
  message?: string;
  /** Extra response headers, e.g. { 'retry-after': '1' }. */
  headers?: Record<string, string>;
}

export interface WebhookOptions {
  /** Where deliveries are POSTed, e.g. http://127.0.0.1:3000/api/github/webhooks. */
  url: string;
  secret: string;
  /** How long a delivery may take before it counts as failed; GitHub's limit is 10 s. */
  timeoutMs?: number;
}

export interface DeliveryResult {
  id: number;
  guid: string;
  /** The receiver's HTTP status, 0 when it timed out or could not be reached. */
  status: number;
  /** The receiver's response body ('' when there was none). */
  body: string;
}

/**
 * One delivery attempt, shaped like GitHub's `GET /app/hook/deliveries/{id}` answer (the list
 * endpoint returns the same minus url/request/response).
 */
export interface SimHookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  /** 'OK' for 2xx, 'Invalid HTTP Response: 503', 'timed out', 'failed to connect to host', … */
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at: null;
  url: string;
  /** `payload` is what a redelivery re-sends. */
  request: { headers: Record<string, string>; payload: unknown };
  response: { headers: Record<string, string>; payload: string | null };
}

export interface GitHubSim {
  url: string;
  host: string;
  apiUrl: string;
  appId: number;
  appSlug: string;
  privateKey: string;
  installationId: number;
  /** `${appSlug}[bot]`, the author of everything written with an installation token. */
  botLogin: string;
  /** The user id GitHub shows for `login` (the bot's is in its commits' noreply address). */
  userId(login: string): number;
  createRepo(init: {
    owner: string;
    name: string;
    files: Record<string, string>;
    defaultBranch?: string;
    ownerType?: 'Organization' | 'User';
  }): Promise<SimRepo>;
  setPermission(owner: string, repo: string, login: string, permission: Permission): void;
  /** Team membership as `GET /orgs/{org}/teams/{slug}/memberships/{login}` reports it. */
  setTeamMember(org: string, slug: string, login: string, state?: 'active' | 'pending'): void;
  createIssue(
    owner: string,
    repo: string,
    issue: { title: string; body: string; user?: string; labels?: string[] },
  ): number;
  issueComments(owner: string, repo: string, issueNumber: number): SimComment[];
  issueReactions(owner: string, repo: string, issueNumber: number): string[];
  issueLabels(owner: string, repo: string, issueNumber: number): string[];
  pulls(owner: string, repo: string): SimPull[];
  branchSha(owner: string, repo: string, branch: string): Promise<string | null>;
  cloneWithToken(owner: string, repo: string, dir: string, branch?: string): Promise<void>;
  /** Someone pushes a commit with `files` (path → content) to `branch`; returns the ref's old and new sha. */
  pushCommit(owner: string, repo: string, branch: string, files: Record<string, string>, message: string): Promise<{ before: string; after: string }>;
  /** A new branch at `from`'s tip (default: the default branch), as a push of an existing commit makes it. */
  createBranch(owner: string, repo: string, branch: string, from?: string): Promise<string>;
  /** A fork of `owner/repo` (all its branches) owned by `fork.owner`, with `fork: true` in its JSON. */
  forkRepo(owner: string, repo: string, fork: { owner: string; name?: string }): Promise<SimRepo>;
  /**
   * A pull request opened by a person (not the app) from `head` into `base` (default: the default
   * branch). With `headRepo` the head is that fork's branch, mirrored as refs/pull/N/head, as on GitHub.
   */
  openPull(
    owner: string,
    repo: string,
    pull: { user: string; head: string; base?: string; title: string; body?: string; draft?: boolean; headRepo?: { owner: string; name: string } },
  ): Promise<SimPull>;
  /** Deletes a repository (a fork, say): its pull requests into other repositories get `head.repo: null`. */
  deleteRepo(owner: string, repo: string): Promise<void>;
  /** A pull request's head sha now (a fork's head included), as the REST API reports it. */
  pullRequestHead(owner: string, repo: string, pullNumber: number): Promise<string | null>;
  /** Closes or reopens a pull request, as someone pressing the button does (no webhook is sent). */
  setPullState(owner: string, repo: string, pullNumber: number, state: 'open' | 'closed'): Promise<void>;
  /** Mints an installation token without going through the REST API (counts in issuedTokens). */
  mintToken(): string;
  /**
   * Another installation of the app, whose id mints tokens like `installationId`'s. Every
   * installation sees every repository: it only gives webhooks a different installation id.
   */
  addInstallation(): number;
  requests: RecordedRequest[];
  issuedTokens(): string[];
  /** Matches `pathPattern` against the full path (with /api/v3); also applies to git requests. */
  failNext(method: string, pathPattern: RegExp, status: number, times?: number, options?: FailOptions): void;
  /** Where the app's webhooks go; changing it later keeps the hook id, as editing the app does. */
  configureWebhook(options: WebhookOptions): void;
  /** Sends one webhook the way GitHub does and records the delivery. */
  deliver(event: string, payload: unknown, options?: { guid?: string }): Promise<DeliveryResult>;
  /** Every recorded delivery attempt, oldest first. */
  deliveries(): SimHookDelivery[];
  /** Resolves once deliveries under way (including redeliveries asked for over REST) are recorded. */
  deliveriesSettled(): Promise<void>;

  // -- pull request reviews --
  /** A comment in the issue's (or PR's: they share the store, as on GitHub) conversation. */
  addIssueComment(owner: string, repo: string, number: number, comment: { user: string; body: string }): SimIssueCommentJson;
  /**
   * A submitted review, with line comments on the PR's current diff (RIGHT side, new-file line
   * numbers); throws when a line is not part of the diff. Fulfils a review request from `user`.
   */
  addReview(
    owner: string,
    repo: string,
    pullNumber: number,
    review: {
      user: string;
      state: ReviewState;
      body: string;
      comments?: Array<{ path: string; line: number; body: string }>;
    },
  ): Promise<{ review: SimReviewJson; comments: SimReviewCommentJson[] }>;
  /**
   * One review comment outside a review (GitHub still wraps it in a COMMENTED review with an
   * empty body). With `inReplyTo` it joins that comment's thread and path/line are not needed.
   */
  addPullComment(
    owner: string,
    repo: string,
    pullNumber: number,
    comment: { user: string; body: string; path?: string; line?: number; inReplyTo?: number },
  ): Promise<SimReviewCommentJson>;
  pullReviews(owner: string, repo: string, pullNumber: number): SimReviewJson[];
  /** Every review comment on the PR, oldest first. */
  pullReviewComments(owner: string, repo: string, pullNumber: number): SimReviewCommentJson[];
  /** The review comments that are replies (in_reply_to_id set), oldest first. */
  reviewReplies(owner: string, repo: string, pullNumber: number): SimReviewCommentJson[];
  /** Logins whose review is requested (team requests are not included). */
  requestedReviewers(owner: string, repo: string, pullNumber: number): string[];

  // -- CI --
  addCheckRun(owner: string, repo: string, init: SimCheckRunInit): Promise<SimCheckRunJson>;
  completeCheckRun(
    owner: string,
    repo: string,
    checkRunId: number,
    result: { conclusion: CheckConclusion; output?: SimCheckOutput; annotations?: SimAnnotation[]; jobLog?: string },
  ): Promise<SimCheckRunJson>;
  setCommitStatus(
    owner: string,
    repo: string,
    sha: string,
    status: { state: CommitState; context: string; description?: string; target_url?: string; user?: string },
  ): SimCommitStatusJson;

  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
const REACTIONS = new Set(['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes']);
const STATUS_MESSAGES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Bad credentials',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  422: 'Validation Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Server Error',
  503: 'Service Unavailable',
};
// What app.yml asks for, so tokens and the installation report the same permissions.
const TOKEN_PERMISSIONS = {
  contents: 'write',
  issues: 'write',
  pull_requests: 'write',
  metadata: 'read',
  checks: 'read',
  actions: 'read',
  statuses: 'read',
};
const APP_EVENTS = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'check_suite',
  'check_run',
  'workflow_run',
];
const REVIEW_STATES = new Set<string>(['CHANGES_REQUESTED', 'COMMENTED', 'APPROVED']);
const CHECK_STATUSES = new Set<string>(['queued', 'in_progress', 'completed']);
const CHECK_CONCLUSIONS = new Set<string>(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']);
const COMMIT_STATES = new Set<string>(['pending', 'success', 'failure', 'error']);
const TOKEN_TTL_MS = 60 * 60 * 1000;
const WEBHOOK_TIMEOUT_MS = 10_000;
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// Fixed identity and date so the initial commit (and its sha) is the same on every run.
const COMMIT_ENV = {
  GIT_AUTHOR_NAME: 'GitHub Sim',
  GIT_AUTHOR_EMAIL: 'sim@example.invalid',
  GIT_COMMITTER_NAME: 'GitHub Sim',
  GIT_COMMITTER_EMAIL: 'sim@example.invalid',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
};

const execFileAsync = promisify(execFile);

/** The process env minus GIT_* (a caller's GIT_DIR etc. must not leak in) and minus user/system config. */
function gitEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

async function git(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<Buffer> {
  try {
    const { stdout } = await execFileAsync('git', args, {
      cwd: options.cwd,
      env: options.env,
      encoding: 'buffer',
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`git ${args.join(' ')} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

async function tryGit(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<Buffer | null> {
  try {
    return await git(args, options);
  } catch {
    return null;
  }
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(`sim:${id}`).toString('base64url')}`;
}

/**
 * The path as recorded and matched by failNext: percent-decoded, because octokit sends
 * `contents/.github%2Fai-fix.yml` and tests want to match `contents/.github/ai-fix.yml`.
 */
function decodedPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface PostOutcome {
  statusCode: number;
  status: string;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * One POST with its own connection (GitHub does not reuse them, and a pooled socket would keep
 * the receiver's close() waiting). Never rejects: failures become status 0, as GitHub records them.
 */
function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    // Set once the request is under way; finish() may come first (a bad URL).
    // eslint-disable-next-line prefer-const
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: PostOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const failed = (status: string): PostOutcome => ({ statusCode: 0, status, headers: {}, body: null });
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      finish(failed('failed to connect to host'));
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        agent: false,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const statusCode = res.statusCode ?? 0;
          const responseHeaders: Record<string, string> = {};
          // rawHeaders keeps the receiver's casing, which is what GitHub shows.
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            const key = res.rawHeaders[i] ?? '';
            const value = res.rawHeaders[i + 1] ?? '';
            responseHeaders[key] = key in responseHeaders ? `${responseHeaders[key]}, ${value}` : value;
          }
          finish({
            statusCode,
            status: statusCode >= 200 && statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
            headers: responseHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        // Connection dropped mid-body (after 'end' this is a no-op).
        res.on('close', () => finish(failed("We couldn't deliver this payload: connection closed")));
      },
    );
    timer = setTimeout(() => {
      finish(failed('timed out'));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish(failed(CONNECT_ERRORS.has(err.code ?? '') ? 'failed to connect to host' : `We couldn't deliver this payload: ${err.message}`));
    });
    req.end(body);
  });
}

type AuthKind = RecordedRequest['auth'];
interface PresentedAuth {
  kind: AuthKind;
  credential: string;
  basicUser?: string;
}

function parseAuthorization(header: string | undefined): PresentedAuth {
  if (!header) return { kind: 'none', credential: '' };
  const match = /^(\S+)\s+(.+)$/.exec(header.trim());
  if (!match) return { kind: 'none', credential: '' };
  const scheme = (match[1] ?? '').toLowerCase();
  const value = (match[2] ?? '').trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString();
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { kind: 'basic', credential: '', basicUser: decoded }
      : { kind: 'basic', credential: decoded.slice(colon + 1), basicUser: decoded.slice(0, colon) };
  }
  if (scheme !== 'bearer' && scheme !== 'token') return { kind: 'none', credential: '' };
  // Installation tokens (ghs_...) never contain dots; a JWT is three base64url parts.
  const kind = /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value) ? 'jwt' : 'installation';
  return { kind, credential: value };
}

class ApiError extends Error {
  status: number;
  body: Record<string, unknown>;
  constructor(status: number, message?: string, extra: Record<string, unknown> = {}) {
    super(message ?? STATUS_MESSAGES[status] ?? 'Error');
    this.status = status;
    this.body = { message: this.message, ...extra, documentation_url: DOCS, status: String(status) };
  }
}

function validationFailed(errors: Record<string, unknown>[]): ApiError {
  return new ApiError(422, 'Validation Failed', { errors });
}

interface Reply {
  status: number;
  json?: unknown;
  raw?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

interface Actor {
  login: string;
  type: 'User' | 'Bot';
}

interface Ctx {
  method: string;
  /** Raw path after /api/v3, for building Link headers. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingHttpHeaders;
  actor: Actor;
  token: string;
}

type Handler = (ctx: Ctx, params: string[]) => Reply | Promise<Reply>;
interface Route {
  method: string;
  pattern: RegExp;
  auth: 'jwt' | 'installation';
  handler: Handler;
}

interface Reaction {
  id: number;
  content: string;
  user: Actor;
  createdAt: string;
}

interface CommentState {
  id: number;
  issueNumber: number;
  body: string;
  user: Actor;
  createdAt: string;
  updatedAt: string;
  reactions: Reaction[];
}

interface PullState {
  head: string;
  base: string;
  draft: boolean;
  /** Last head sha seen, kept for when the branch is deleted (GitHub keeps it too). */
  headSha: string;
  requestedReviewers: string[];
  requestedTeams: string[];
  /** Set when the head is a fork's branch; `key` finds the fork while it exists. */
  headRepo?: { key: string; id: number; owner: string; ownerType: 'Organization' | 'User'; name: string };
}

interface ReviewRecord {
  id: number;
  pullNumber: number;
  user: Actor;
  state: ReviewState;
  body: string;
  commitId: string;
  submittedAt: string;
}

interface ReviewCommentRecord {
  id: number;
  pullNumber: number;
  reviewId: number;
  inReplyTo: number | undefined;
  user: Actor;
  body: string;
  path: string;
  line: number;
  position: number;
  diffHunk: string;
  commitId: string;
  createdAt: string;
  updatedAt: string;
  reactions: Reaction[];
}

interface JobRecord {
  runId: number;
  log: string;
  /** Stands in for the signature of GitHub's pre-signed log URLs. */
  logKey: string;
  steps: Array<{ name: string; conclusion: CheckConclusion }> | undefined;
  attempt: number;
}

interface CheckRunRecord {
  id: number;
  suiteId: number;
  app: string;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  startedAt: string;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: SimAnnotation[];
  detailsUrl: string | undefined;
  job: JobRecord | undefined;
}

interface CheckSuiteRecord {
  id: number;
  app: string;
  headSha: string;
  headBranch: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set for the suite of a workflow run (one suite per run, as on GitHub). */
  runId: number | undefined;
}

interface WorkflowRunRecord {
  id: number;
  name: string;
  workflowId: number;
  runNumber: number;
  headSha: string;
  headBranch: string | null;
  suiteId: number;
  createdAt: string;
  updatedAt: string;
  jobIds: number[];
}

interface StatusRecord {
  id: number;
  sha: string;
  state: CommitState;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: Actor;
  createdAt: string;
}

interface IssueState {
  id: number;
  number: number;
  title: string;
  body: string;
  user: Actor;
  labels: string[];
  state: 'open' | 'closed';
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  reactions: Reaction[];
  commentIds: number[];
  pull?: PullState;
}

/** A new repository's issues, reviews, checks and the rest: nothing yet. */
function emptyRepoRecords() {
  return {
    createdAt: isoNow(),
    nextNumber: 1,
    issues: new Map(),
    comments: new Map(),
    permissions: new Map(),
    labelIds: new Map(),
    reviews: new Map(),
    reviewComments: new Map(),
    checkRuns: new Map(),
    checkSuites: new Map(),
    workflowRuns: new Map(),
    workflows: new Map(),
    statuses: [],
  };
}

interface RepoState {
  repo: SimRepo;
  ownerType: 'Organization' | 'User';
  createdAt: string;
  nextNumber: number;
  issues: Map<number, IssueState>;
  comments: Map<number, CommentState>;
  permissions: Map<string, Permission>;
  labelIds: Map<string, number>;
  reviews: Map<number, ReviewRecord>;
  reviewComments: Map<number, ReviewCommentRecord>;
  checkRuns: Map<number, CheckRunRecord>;
  checkSuites: Map<number, CheckSuiteRecord>;
  workflowRuns: Map<number, WorkflowRunRecord>;
  /** Workflow name → [workflow id, last run number]. */
  workflows: Map<string, { id: number; runs: number }>;
  statuses: StatusRecord[];
  /** The parent's key when this repository is a fork. */
  forkOf?: string;
}

interface Fault {
  method: string;
  pattern: RegExp;
  status: number;
  remaining: number;
  options: FailOptions;
}

interface WebhookConfig {
  url: string;
  secret: string;
  timeoutMs: number;
  hookId: number;
}

interface DeliveryState {
  id: number;
  guid: string;
  deliveredAt: string;
  redelivery: boolean;
  duration: number;
  status: string;
  statusCode: number;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
  url: string;
  requestHeaders: Record<string, string>;
  /** The exact bytes sent, so a redelivery carries the same body (and signature, same secret). */
  body: string;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
}

interface TokenState {
  expiresAt: number;
  revoked: boolean;
}

const SEG = '([^/]+)';
const REPO = `^/repos/${SEG}/${SEG}`;

/** Logins ending in [bot] are apps, as on GitHub. */
function actorFor(login: string): Actor {
  return { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' };
}

interface DiffFile {
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed';
  path: string;
  previousPath: string | undefined;
  sha: string;
  /** The hunks only (from the first @@), as in GitHub's `patch`; undefined for binary files. */
  patch: string | undefined;
  additions: number;
  deletions: number;
}

const DIFF_STATUS: Record<string, DiffFile['status']> = {
  A: 'added',
  D: 'removed',
  M: 'modified',
  R: 'renamed',
  C: 'copied',
  T: 'changed',
};

/**
 * Where a new-file line sits in a file's patch: GitHub's diff_hunk (the hunk header through that
 * line) and the legacy `position` (lines below the file's first @@). Null when not in the diff.
 */
function hunkAt(patch: string, line: number): { diffHunk: string; position: number } | null {
  const lines = patch.split('\n');
  let hunkStart = -1;
  let next = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    const header = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (header) {
      hunkStart = i;
      next = Number(header[1]);
      continue;
    }
    if (hunkStart < 0) continue;
    if (text.startsWith('+') || text.startsWith(' ')) {
      if (next === line) return { diffHunk: lines.slice(hunkStart, i + 1).join('\n'), position: i };
      next++;
    }
  }
  return null;
}

/** A check suite's or workflow run's status and conclusion from its (latest) check runs. */
function rollup(runs: Array<{ status: CheckStatus; conclusion: CheckConclusion | null }>): {
  status: CheckStatus;
  conclusion: CheckConclusion | null;
} {
  if (runs.length === 0) return { status: 'queued', conclusion: null };
  if (runs.every((r) => r.status === 'queued')) return { status: 'queued', conclusion: null };
  if (!runs.every((r) => r.status === 'completed')) return { status: 'in_progress', conclusion: null };
  const conclusions = runs.map((r) => r.conclusion);
  for (const bad of ['action_required', 'timed_out', 'cancelled', 'failure'] as const) {
    if (conclusions.includes(bad)) return { status: 'completed', conclusion: bad };
  }
  if (conclusions.every((c) => c === 'skipped')) return { status: 'completed', conclusion: 'skipped' };
  if (conclusions.includes('success')) return { status: 'completed', conclusion: 'success' };
  return { status: 'completed', conclusion: 'neutral' };
}

/** The newest check run per suite and name: what GitHub's `filter=latest` keeps after re-runs. */
function latestCheckRuns(runs: CheckRunRecord[]): CheckRunRecord[] {
  const latest = new Map<string, CheckRunRecord>();
  for (const r of runs) {
    const key = `${r.suiteId}\0${r.name}`;
    const seen = latest.get(key);
    if (!seen || seen.id < r.id) latest.set(key, r);
  }
  return [...latest.values()].sort((a, b) => a.id - b.id);
}

function isoFromGit(date: string): string {
  const parsed = new Date(date);
  return Number.isNaN(parsed.getTime()) ? date : parsed.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  authorDate: string;
  committerName: string;
  committerEmail: string;
  committerDate: string;
  message: string;
}

/** The hypermedia links GitHub puts in every user object. */
function userUrls(api: string): Record<string, string> {
  return {
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
  };
}

/** The hypermedia links GitHub puts in every repository object (the sim serves some of them). */
function repositoryUrls(api: string): Record<string, string> {
  const links: Record<string, string> = {
    forks_url: 'forks',
    keys_url: 'keys{/key_id}',
    collaborators_url: 'collaborators{/collaborator}',
    teams_url: 'teams',
    hooks_url: 'hooks',
    issue_events_url: 'issues/events{/number}',
    events_url: 'events',
    assignees_url: 'assignees{/user}',
    tags_url: 'tags',
    blobs_url: 'git/blobs{/sha}',
    git_tags_url: 'git/tags{/sha}',
    git_refs_url: 'git/refs{/sha}',
    trees_url: 'git/trees{/sha}',
    statuses_url: 'statuses/{sha}',
    languages_url: 'languages',
    stargazers_url: 'stargazers',
    contributors_url: 'contributors',
    subscribers_url: 'subscribers',
    subscription_url: 'subscription',
    commits_url: 'commits{/sha}',
    git_commits_url: 'git/commits{/sha}',
    issue_comment_url: 'issues/comments{/number}',
    compare_url: 'compare/{base}...{head}',
    merges_url: 'merges',
    archive_url: '{archive_format}{/ref}',
    downloads_url: 'downloads',
    milestones_url: 'milestones{/number}',
    notifications_url: 'notifications{?since,all,participating}',
    releases_url: 'releases{/id}',
    deployments_url: 'deployments',
  };
  return Object.fromEntries(Object.entries(links).map(([key, rest]) => [key, `${api}/${rest}`]));
}

class Sim implements GitHubSim {
  url = '';
  host = '';
  apiUrl = '';
  appId: number;
  appSlug = 'ai-fix';
  privateKey: string;
  installationId: number;
  botLogin: string;
  requests: RecordedRequest[] = [];

  private publicKey: KeyObject;
  private root: string;
  private reposRoot: string;
  private server: Server | undefined;
  // One id sequence for everything, starting far above issue numbers, so code that confuses an
  // issue number with a comment id hits a 404 instead of a lucky match.
  private nextIdValue = 1_000_000;
  private userIds = new Map<string, number>();
  private repos = new Map<string, RepoState>();
  private teamMembers = new Map<string, 'active' | 'pending'>();
  private tokens = new Map<string, TokenState>();
  private installations = new Set<number>();
  private faults: Fault[] = [];
  private routes: Route[];
  private startedAt = isoNow();
  private webhook: WebhookConfig | undefined;
  private hookDeliveries: DeliveryState[] = [];
  private inflight = new Set<Promise<void>>();
  private deliveryError: Error | undefined;
  // Aborts deliveries still under way when the sim closes, so close() never waits out a timeout.
  private closing = new AbortController();

  constructor(opts: { appId: number; installationId: number; privateKey: string; publicKey: KeyObject; root: string }) {
    this.appId = opts.appId;
    this.installationId = opts.installationId;
    this.installations.add(opts.installationId);
    this.privateKey = opts.privateKey;
    this.publicKey = opts.publicKey;
    this.root = opts.root;
    this.reposRoot = join(opts.root, 'repos');
    this.botLogin = `${this.appSlug}[bot]`;
    this.routes = this.buildRoutes();
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.dispatch(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ message: `github-sim: ${(err as Error).message}`, documentation_url: DOCS }));
        } else {
          res.destroy();
        }
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    this.apiUrl = `${this.url}/api/v3`;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.inflight]);
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets from fetch/undici would otherwise hold close() open.
        server.closeAllConnections();
      });
    }
    await rm(this.root, { recursive: true, force: true });
  }

  // ---- test-side API ----

  async createRepo(init: {
    owner: string;
    name: string;
    files: Record<string, string>;
    defaultBranch?: string;
    ownerType?: 'Organization' | 'User';
  }): Promise<SimRepo> {
    const key = `${init.owner}/${init.name}`.toLowerCase();
    if (this.repos.has(key)) throw new Error(`github-sim: repo ${init.owner}/${init.name} already exists`);
    if (!/^[\w.-]+$/.test(init.owner) || !/^[\w.-]+$/.test(init.name)) {
      throw new Error(`github-sim: bad repo name ${init.owner}/${init.name}`);
    }
    const defaultBranch = init.defaultBranch ?? 'main';
    const env = gitEnv(this.root, COMMIT_ENV);
    const work = await mkdtemp(join(this.root, 'work-'));
    try {
      await git(['-c', `init.defaultBranch=${defaultBranch}`, 'init', '-q', work], { env });
      for (const [path, content] of Object.entries(init.files)) {
        const file = join(work, path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
      }
      await git(['add', '-A'], { cwd: work, env });
      await git(['commit', '-q', '--allow-empty', '-m', 'Initial commit'], { cwd: work, env });
      const bareDir = join(this.reposRoot, init.owner, `${init.name}.git`);
      await mkdir(dirname(bareDir), { recursive: true });
      await git(['clone', '-q', '--bare', work, bareDir], { env });
      await git(['config', 'http.receivepack', 'true'], { cwd: bareDir, env });
      // The clone's origin points at the temp work dir; a bare repo on GitHub has no remotes.
      await git(['remote', 'remove', 'origin'], { cwd: bareDir, env });
      const repo: SimRepo = {
        id: this.nextId(),
        owner: init.owner,
        name: init.name,
        fullName: `${init.owner}/${init.name}`,
        defaultBranch,
        cloneUrl: `${this.url}/${init.owner}/${init.name}.git`,
        htmlUrl: `${this.url}/${init.owner}/${init.name}`,
        bareDir,
      };
      this.repos.set(key, {
        repo,
        ownerType: init.ownerType ?? 'Organization',
        ...emptyRepoRecords(),
      });
      return { ...repo };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  setPermission(owner: string, repo: string, login: string, permission: Permission): void {
    this.mustRepo(owner, repo).permissions.set(login.toLowerCase(), permission);
  }

  setTeamMember(org: string, slug: string, login: string, state: 'active' | 'pending' = 'active'): void {
    this.teamMembers.set(`${org}/${slug}/${login}`.toLowerCase(), state);
  }

  createIssue(
    owner: string,
    repo: string,
    issue: { title: string; body: string; user?: string; labels?: string[] },
  ): number {
    const state = this.mustRepo(owner, repo);
    const now = isoNow();
    const number = state.nextNumber++;
    state.issues.set(number, {
      id: this.nextId(),
      number,
      title: issue.title,
      body: issue.body,
      user: { login: issue.user ?? 'octocat', type: 'User' },
      labels: [...(issue.labels ?? [])],
      state: 'open',
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      reactions: [],
      commentIds: [],
    });
    return number;
  }

  issueComments(owner: string, repo: string, issueNumber: number): SimComment[] {
    const state = this.mustRepo(owner, repo);
    const issue = this.mustIssue(state, issueNumber);
    return issue.commentIds.flatMap((id) => {
      const c = state.comments.get(id);
      if (!c) return [];
      return [
        {
          id: c.id,
          body: c.body,
          user: { ...c.user },
          createdAt: c.createdAt,
          updatedAt: c.updatedAt,
          reactions: c.reactions.map((r) => r.content),
        },
      ];
    });
  }

  issueReactions(owner: string, repo: string, issueNumber: number): string[] {
    return this.mustIssue(this.mustRepo(owner, repo), issueNumber).reactions.map((r) => r.content);
  }

  issueLabels(owner: string, repo: string, issueNumber: number): string[] {
    return [...this.mustIssue(this.mustRepo(owner, repo), issueNumber).labels];
  }

  pulls(owner: string, repo: string): SimPull[] {
    const state = this.mustRepo(owner, repo);
    return [...state.issues.values()].flatMap((i) =>
      i.pull
        ? [
            {
              number: i.number,
              title: i.title,
              body: i.body,
              head: i.pull.head,
              base: i.pull.base,
              draft: i.pull.draft,
              state: i.state,
              user: { login: i.user.login },
              ...(i.pull.headRepo ? { headRepo: `${i.pull.headRepo.owner}/${i.pull.headRepo.name}` } : {}),
            },
          ]
        : [],
    );
  }

  async branchSha(owner: string, repo: string, branch: string): Promise<string | null> {
    return this.refSha(this.mustRepo(owner, repo), branch);
  }

  /** Someone pushes a commit with `files` (path → content) to `branch`; returns the ref's old and new sha. */
  async pushCommit(owner: string, repo: string, branch: string, files: Record<string, string>, message: string): Promise<{ before: string; after: string }> {
    const state = this.mustRepo(owner, repo);
    const env = gitEnv(this.root, COMMIT_ENV);
    const work = await mkdtemp(join(this.root, 'push-'));
    try {
      await git(['clone', '-q', '--branch', branch, state.repo.bareDir, work], { env });
      for (const [path, content] of Object.entries(files)) {
        const file = join(work, path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
      }
      await git(['add', '-A'], { cwd: work, env });
      await git(['commit', '-q', '-m', message], { cwd: work, env });
      const before = (await this.refSha(state, branch))!;
      await git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`], { cwd: work, env });
      return { before, after: (await this.refSha(state, branch))! };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async cloneWithToken(owner: string, repo: string, dir: string, branch?: string): Promise<void> {
    const state = this.mustRepo(owner, repo);
    const token = this.mintToken();
    const args = ['clone', '-q', ...(branch ? ['--branch', branch] : []), state.repo.cloneUrl, dir];
    await git(args, { env: gitEnv(this.root, gitAuthEnv(token)) });
  }

  async createBranch(owner: string, repo: string, branch: string, from?: string): Promise<string> {
    const state = this.mustRepo(owner, repo);
    const sha = await this.refSha(state, from ?? state.repo.defaultBranch);
    if (!sha) throw new Error(`github-sim: no branch ${from ?? state.repo.defaultBranch} in ${state.repo.fullName}`);
    if (await this.refSha(state, branch)) throw new Error(`github-sim: branch ${branch} already exists in ${state.repo.fullName}`);
    await git(['update-ref', `refs/heads/${branch}`, sha], { cwd: state.repo.bareDir, env: gitEnv(this.root) });
    return sha;
  }

  async forkRepo(owner: string, repo: string, fork: { owner: string; name?: string }): Promise<SimRepo> {
    const parent = this.mustRepo(owner, repo);
    const name = fork.name ?? parent.repo.name;
    const key = `${fork.owner}/${name}`.toLowerCase();
    if (this.repos.has(key)) throw new Error(`github-sim: repo ${fork.owner}/${name} already exists`);
    if (!/^[\w.-]+$/.test(fork.owner) || !/^[\w.-]+$/.test(name)) throw new Error(`github-sim: bad repo name ${fork.owner}/${name}`);
    const env = gitEnv(this.root);
    const bareDir = join(this.reposRoot, fork.owner, `${name}.git`);
    await mkdir(dirname(bareDir), { recursive: true });
    await git(['clone', '-q', '--bare', parent.repo.bareDir, bareDir], { env });
    await git(['config', 'http.receivepack', 'true'], { cwd: bareDir, env });
    await git(['remote', 'remove', 'origin'], { cwd: bareDir, env });
    const forked: SimRepo = {
      id: this.nextId(),
      owner: fork.owner,
      name,
      fullName: `${fork.owner}/${name}`,
      defaultBranch: parent.repo.defaultBranch,
      cloneUrl: `${this.url}/${fork.owner}/${name}.git`,
      htmlUrl: `${this.url}/${fork.owner}/${name}`,
      bareDir,
    };
    this.repos.set(key, {
      repo: forked,
      ownerType: fork.owner.toLowerCase() === parent.repo.owner.toLowerCase() ? parent.ownerType : 'User',
      ...emptyRepoRecords(),
      forkOf: `${parent.repo.owner}/${parent.repo.name}`.toLowerCase(),
    });
    return { ...forked };
  }

  async openPull(
    owner: string,
    repo: string,
    init: { user: string; head: string; base?: string; title: string; body?: string; draft?: boolean; headRepo?: { owner: string; name: string } },
  ): Promise<SimPull> {
    const state = this.mustRepo(owner, repo);
    const headState = init.headRepo ? this.mustRepo(init.headRepo.owner, init.headRepo.name) : state;
    if (headState !== state && headState.forkOf !== `${state.repo.owner}/${state.repo.name}`.toLowerCase()) {
      throw new Error(`github-sim: ${headState.repo.fullName} is not a fork of ${state.repo.fullName}`);
    }
    const base = init.base ?? state.repo.defaultBranch;
    const headSha = await this.refSha(headState, init.head);
    if (!headSha) throw new Error(`github-sim: no branch ${init.head} in ${headState.repo.fullName}`);
    if (!(await this.refSha(state, base))) throw new Error(`github-sim: no branch ${base} in ${state.repo.fullName}`);
    const headRepo =
      headState === state
        ? undefined
        : { key: `${headState.repo.owner}/${headState.repo.name}`.toLowerCase(), id: headState.repo.id, owner: headState.repo.owner, ownerType: headState.ownerType, name: headState.repo.name };
    this.assertNoOpenDuplicate(state, init.head, base, undefined, headRepo?.key);
    const now = isoNow();
    const number = state.nextNumber++;
    const issue: IssueState = {
      id: this.nextId(),
      number,
      title: init.title,
      body: init.body ?? '',
      user: actorFor(init.user),
      labels: [],
      state: 'open',
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      reactions: [],
      commentIds: [],
      pull: { head: init.head, base, draft: init.draft === true, headSha, requestedReviewers: [], requestedTeams: [], ...(headRepo ? { headRepo } : {}) },
    };
    state.issues.set(number, issue);
    await this.pullHeadSha(state, issue);
    return this.pulls(owner, repo).find((p) => p.number === number)!;
  }

  async pullRequestHead(owner: string, repo: string, pullNumber: number): Promise<string | null> {
    const state = this.mustRepo(owner, repo);
    return this.pullHeadSha(state, this.mustPullIssue(state, pullNumber));
  }

  async setPullState(owner: string, repo: string, pullNumber: number, wanted: 'open' | 'closed'): Promise<void> {
    const state = this.mustRepo(owner, repo);
    const issue = this.mustPullIssue(state, pullNumber);
    if (issue.state === wanted) return;
    if (wanted === 'open') this.assertNoOpenDuplicate(state, issue.pull!.head, issue.pull!.base, issue.number, issue.pull!.headRepo?.key);
    issue.state = wanted;
    issue.closedAt = wanted === 'closed' ? isoNow() : null;
    issue.updatedAt = isoNow();
  }

  async deleteRepo(owner: string, repo: string): Promise<void> {
    const state = this.mustRepo(owner, repo);
    this.repos.delete(`${state.repo.owner}/${state.repo.name}`.toLowerCase());
    await rm(state.repo.bareDir, { recursive: true, force: true });
  }

  mintToken(): string {
    const token = `ghs_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
    this.tokens.set(token, { expiresAt: Date.now() + TOKEN_TTL_MS, revoked: false });
    return token;
  }

  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  addInstallation(): number {
    const id = this.installationId + this.installations.size;
    this.installations.add(id);
    return id;
  }

  failNext(method: string, pathPattern: RegExp, status: number, times = 1, options: FailOptions = {}): void {
    this.faults.push({ method: method.toUpperCase(), pattern: pathPattern, status, remaining: times, options });
  }

  configureWebhook(options: WebhookOptions): void {
    new URL(options.url); // throws on a malformed URL now rather than at delivery time
    this.webhook = {
      url: options.url,
      secret: options.secret,
      timeoutMs: options.timeoutMs ?? WEBHOOK_TIMEOUT_MS,
      hookId: this.webhook?.hookId ?? this.nextId(),
    };
  }

  async deliver(event: string, payload: unknown, options: { guid?: string } = {}): Promise<DeliveryResult> {
    if (!this.webhook) throw new Error('github-sim: configureWebhook() before deliver()');
    if (this.closing.signal.aborted) throw new Error('github-sim: closed');
    const body = JSON.stringify(payload);
    if (body === undefined) throw new Error('github-sim: webhook payload must be JSON-serialisable');
    const sending = this.sendWebhook(event, options.guid ?? randomUUID(), body, false);
    this.track(sending);
    const delivery = await sending;
    return { id: delivery.id, guid: delivery.guid, status: delivery.statusCode, body: delivery.responseBody ?? '' };
  }

  deliveries(): SimHookDelivery[] {
    return [...this.hookDeliveries].sort((a, b) => a.id - b.id).map((d) => this.deliveryDetailJson(d));
  }

  async deliveriesSettled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    if (this.deliveryError !== undefined) {
      const err = this.deliveryError;
      this.deliveryError = undefined;
      throw err;
    }
  }

  // ---- test-side API: reviews ----

  addIssueComment(owner: string, repo: string, number: number, comment: { user: string; body: string }): SimIssueCommentJson {
    const state = this.mustRepo(owner, repo);
    const issue = this.mustIssue(state, number);
    const now = isoNow();
    const c: CommentState = {
      id: this.nextId(),
      issueNumber: issue.number,
      body: comment.body,
      user: actorFor(comment.user),
      createdAt: now,
      updatedAt: now,
      reactions: [],
    };
    state.comments.set(c.id, c);
    issue.commentIds.push(c.id);
    issue.updatedAt = now;
    return this.commentJson(state, c) as SimIssueCommentJson;
  }

  async addReview(
    owner: string,
    repo: string,
    pullNumber: number,
    review: {
      user: string;
      state: ReviewState;
      body: string;
      comments?: Array<{ path: string; line: number; body: string }>;
    },
  ): Promise<{ review: SimReviewJson; comments: SimReviewCommentJson[] }> {
    const state = this.mustRepo(owner, repo);
    const issue = this.mustPullIssue(state, pullNumber);
    if (!REVIEW_STATES.has(review.state)) throw new Error(`github-sim: bad review state ${review.state}`);
    if (review.state !== 'COMMENTED' && review.user.toLowerCase() === issue.user.login.toLowerCase()) {
      // GitHub's 422 "Can not approve your own pull request" (or request changes on it).
      throw new Error(`github-sim: ${review.user} cannot ${review.state} their own pull request`);
    }
    const { head, base } = await this.pullShas(state, issue);
    const wanted = review.comments ?? [];
    const files = wanted.length > 0 ? await this.diffFiles(state, base, head) : [];
    // Anchor every comment before storing anything, so a bad line leaves no half-made review.
    const anchored = wanted.map((c) => ({ ...c, ...this.anchor(files, c.path, c.line, pullNumber) }));
    const user = actorFor(review.user);
    const record = this.storeReview(state, issue, user, review.state, review.body, head);
    const comments = anchored.map((c) =>
      this.storeReviewComment(state, record, {
        inReplyTo: undefined,
        body: c.body,
        path: c.path,
        line: c.line,
        position: c.position,
        diffHunk: c.diffHunk,
        commitId: head,
      }),
    );
    return {
      review: this.reviewJson(state, record),
      comments: comments.map((c) => this.reviewCommentJson(state, c)),
    };
  }

  async addPullComment(
    owner: string,
    repo: string,
    pullNumber: number,
    comment: { user: string; body: string; path?: string; line?: number; inReplyTo?: number },
  ): Promise<SimReviewCommentJson> {
    const state = this.mustRepo(owner, repo);
    const issue = this.mustPullIssue(state, pullNumber);
    const user = actorFor(comment.user);
    if (comment.inReplyTo !== undefined) {
      const parent = state.reviewComments.get(comment.inReplyTo);
      if (!parent || parent.pullNumber !== pullNumber) {
        throw new Error(`github-sim: no review comment ${comment.inReplyTo} on #${pullNumber}`);
      }
      return this.reviewCommentJson(state, this.storeReply(state, issue, parent, user, comment.body));
    }
    if (comment.path === undefined || comment.line === undefined) {
      throw new Error('github-sim: addPullComment needs path and line (or inReplyTo)');
    }
    const { head, base } = await this.pullShas(state, issue);
    const at = this.anchor(await this.diffFiles(state, base, head), comment.path, comment.line, pullNumber);
    const review = this.storeReview(state, issue, user, 'COMMENTED', '', head);
    const c = this.storeReviewComment(state, review, {
      inReplyTo: undefined,
      body: comment.body,
      path: comment.path,
      line: comment.line,
      position: at.position,
      diffHunk: at.diffHunk,
      commitId: head,
    });
    return this.reviewCommentJson(state, c);
  }

  pullReviews(owner: string, repo: string, pullNumber: number): SimReviewJson[] {
    const state = this.mustRepo(owner, repo);
    this.mustPullIssue(state, pullNumber);
    return this.reviewsOf(state, pullNumber).map((r) => this.reviewJson(state, r));
  }

  pullReviewComments(owner: string, repo: string, pullNumber: number): SimReviewCommentJson[] {
    const state = this.mustRepo(owner, repo);
    this.mustPullIssue(state, pullNumber);
    return this.reviewCommentsOf(state, pullNumber).map((c) => this.reviewCommentJson(state, c));
  }

  reviewReplies(owner: string, repo: string, pullNumber: number): SimReviewCommentJson[] {
    return this.pullReviewComments(owner, repo, pullNumber).filter((c) => c.in_reply_to_id !== undefined);
  }

  requestedReviewers(owner: string, repo: string, pullNumber: number): string[] {
    const pull = this.mustPullIssue(this.mustRepo(owner, repo), pullNumber).pull;
    return [...(pull?.requestedReviewers ?? [])];
  }

  // ---- test-side API: CI ----

  async addCheckRun(owner: string, repo: string, init: SimCheckRunInit): Promise<SimCheckRunJson> {
    const state = this.mustRepo(owner, repo);
    if (!/^[0-9a-f]{40}$/.test(init.headSha)) throw new Error(`github-sim: headSha must be a full sha, got ${init.headSha}`);
    this.checkOutcome(init.status, init.conclusion);
    const now = isoNow();
    const headBranch = init.headBranch ?? (await this.branchAt(state, init.headSha));
    let job: JobRecord | undefined;
    let suite: CheckSuiteRecord;
    const app = init.workflowRun ? 'github-actions' : (init.app ?? 'sim-ci');
    const newSuite = (runId: number | undefined): CheckSuiteRecord => {
      const created: CheckSuiteRecord = {
        id: this.nextId(),
        app,
        headSha: init.headSha,
        headBranch,
        createdAt: now,
        updatedAt: now,
        runId,
      };
      state.checkSuites.set(created.id, created);
      return created;
    };
    const id = this.nextId();
    if (init.workflowRun) {
      const workflowName = init.workflowRun.name;
      let run = [...state.workflowRuns.values()].find((r) => r.headSha === init.headSha && r.name === workflowName);
      if (!run) {
        let workflow = state.workflows.get(workflowName);
        if (!workflow) {
          workflow = { id: this.nextId(), runs: 0 };
          state.workflows.set(workflowName, workflow);
        }
        const runId = this.nextId();
        run = {
          id: runId,
          name: workflowName,
          workflowId: workflow.id,
          runNumber: ++workflow.runs,
          headSha: init.headSha,
          headBranch,
          suiteId: newSuite(runId).id,
          createdAt: now,
          updatedAt: now,
          jobIds: [],
        };
        state.workflowRuns.set(run.id, run);
      }
      const jobsSoFar = run.jobIds.flatMap((jobId) => state.checkRuns.get(jobId) ?? []);
      // The same job name again in a run is a re-run: its attempt number goes up, as on GitHub.
      const attempt = 1 + jobsSoFar.filter((r) => r.name === init.name).length;
      run.jobIds.push(id);
      run.updatedAt = now;
      const existing = state.checkSuites.get(run.suiteId);
      if (!existing) throw new Error('github-sim: workflow run without a check suite');
      suite = existing;
      job = {
        runId: run.id,
        log: init.workflowRun.jobLog,
        logKey: randomBytes(12).toString('hex'),
        steps: init.workflowRun.steps?.map((step) => ({ ...step })),
        attempt,
      };
    } else {
      suite =
        [...state.checkSuites.values()].find((s) => s.app === app && s.headSha === init.headSha && s.runId === undefined) ??
        newSuite(undefined);
    }
    suite.updatedAt = now;
    const record: CheckRunRecord = {
      id,
      suiteId: suite.id,
      app,
      name: init.name,
      headSha: init.headSha,
      status: init.status,
      conclusion: init.conclusion ?? null,
      startedAt: now,
      completedAt: init.status === 'completed' ? now : null,
      output: {
        title: init.output?.title ?? null,
        summary: init.output?.summary ?? null,
        text: init.output?.text ?? null,
      },
      annotations: (init.annotations ?? []).map((a) => ({ ...a })),
      detailsUrl: init.detailsUrl,
      job,
    };
    state.checkRuns.set(id, record);
    return this.checkRunJson(state, record, await this.openPullRefs(state));
  }

  async completeCheckRun(
    owner: string,
    repo: string,
    checkRunId: number,
    result: { conclusion: CheckConclusion; output?: SimCheckOutput; annotations?: SimAnnotation[]; jobLog?: string },
  ): Promise<SimCheckRunJson> {
    const state = this.mustRepo(owner, repo);
    const record = state.checkRuns.get(checkRunId);
    if (!record) throw new Error(`github-sim: no check run ${checkRunId} in ${state.repo.fullName}`);
    this.checkOutcome('completed', result.conclusion);
    const now = isoNow();
    record.status = 'completed';
    record.conclusion = result.conclusion;
    record.completedAt = now;
    if (result.output) {
      record.output = { title: result.output.title, summary: result.output.summary, text: result.output.text ?? null };
    }
    if (result.annotations) record.annotations.push(...result.annotations.map((a) => ({ ...a })));
    if (record.job && result.jobLog !== undefined) record.job.log = result.jobLog;
    const suite = state.checkSuites.get(record.suiteId);
    if (suite) suite.updatedAt = now;
    const run = record.job ? state.workflowRuns.get(record.job.runId) : undefined;
    if (run) run.updatedAt = now;
    return this.checkRunJson(state, record, await this.openPullRefs(state));
  }

  setCommitStatus(
    owner: string,
    repo: string,
    sha: string,
    status: { state: CommitState; context: string; description?: string; target_url?: string; user?: string },
  ): SimCommitStatusJson {
    const state = this.mustRepo(owner, repo);
    if (!COMMIT_STATES.has(status.state)) throw new Error(`github-sim: bad commit status state ${status.state}`);
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`github-sim: sha must be a full sha, got ${sha}`);
    const record: StatusRecord = {
      id: this.nextId(),
      sha,
      state: status.state,
      context: status.context,
      description: status.description ?? null,
      targetUrl: status.target_url ?? null,
      creator: actorFor(status.user ?? 'sim-ci'),
      createdAt: isoNow(),
    };
    state.statuses.push(record);
    return this.statusJson(state, record);
  }

  // ---- internals ----

  /** Keeps a delivery in `inflight` until it settles, for close() and deliveriesSettled(). */
  private track(promise: Promise<unknown>): void {
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
  }

  private async sendWebhook(event: string, guid: string, body: string, redelivery: boolean): Promise<DeliveryState> {
    const hook = this.webhook;
    if (!hook) throw new Error('github-sim: no webhook configured');
    const id = this.nextId();
    const hmac = (algorithm: string): string => createHmac(algorithm, hook.secret).update(body).digest('hex');
    // GitHub's casing; Node lowercases on receipt anyway, but the delivery record shows these.
    const requestHeaders: Record<string, string> = {
      Accept: '*/*',
      'Content-Type': 'application/json',
      'User-Agent': 'GitHub-Hookshot/sim',
      'X-GitHub-Delivery': guid,
      'X-GitHub-Event': event,
      'X-GitHub-Hook-ID': String(hook.hookId),
      'X-GitHub-Hook-Installation-Target-ID': String(this.appId),
      'X-GitHub-Hook-Installation-Target-Type': 'integration',
      'X-Hub-Signature': `sha1=${hmac('sha1')}`,
      'X-Hub-Signature-256': `sha256=${hmac('sha256')}`,
    };
    const deliveredAt = isoNow();
    const started = performance.now();
    const outcome = await postOnce(hook.url, requestHeaders, body, hook.timeoutMs, this.closing.signal);
    const payload = JSON.parse(body) as unknown;
    const field = (key: string): unknown =>
      payload && typeof payload === 'object' ? (payload as Record<string, unknown>)[key] : undefined;
    const idOf = (value: unknown): number | null => {
      const inner = value && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
      return typeof inner === 'number' ? inner : null;
    };
    const action = field('action');
    const delivery: DeliveryState = {
      id,
      guid,
      deliveredAt,
      redelivery,
      duration: Math.round(performance.now() - started) / 1000,
      status: outcome.status,
      statusCode: outcome.statusCode,
      event,
      action: typeof action === 'string' ? action : null,
      installationId: idOf(field('installation')),
      repositoryId: idOf(field('repository')),
      url: hook.url,
      requestHeaders,
      body,
      responseHeaders: outcome.headers,
      responseBody: outcome.body,
    };
    this.hookDeliveries.push(delivery);
    return delivery;
  }

  private deliveryItemJson(d: DeliveryState): Record<string, unknown> {
    return {
      id: d.id,
      guid: d.guid,
      delivered_at: d.deliveredAt,
      redelivery: d.redelivery,
      duration: d.duration,
      status: d.status,
      status_code: d.statusCode,
      event: d.event,
      action: d.action,
      installation_id: d.installationId,
      repository_id: d.repositoryId,
      throttled_at: null,
    };
  }

  private deliveryDetailJson(d: DeliveryState): SimHookDelivery {
    return {
      ...(this.deliveryItemJson(d) as Omit<SimHookDelivery, 'url' | 'request' | 'response'>),
      url: d.url,
      request: { headers: { ...d.requestHeaders }, payload: JSON.parse(d.body) as unknown },
      response: { headers: { ...d.responseHeaders }, payload: d.responseBody },
    };
  }

  private deliveryOr404(id: string): DeliveryState {
    const delivery = this.hookDeliveries.find((d) => d.id === Number(id));
    if (!delivery) throw new ApiError(404);
    return delivery;
  }

  /** Newest first, cursor-paginated like GitHub's deliveries list (no page numbers there). */
  private listDeliveries(ctx: Ctx): Reply {
    const perPage = Math.min(100, Math.max(1, Number.parseInt(ctx.query.per_page ?? '', 10) || 30));
    const ok = (d: DeliveryState): boolean => d.statusCode >= 200 && d.statusCode < 300;
    let list = [...this.hookDeliveries].sort((a, b) => b.id - a.id);
    const status = ctx.query.status;
    if (status === 'success') list = list.filter(ok);
    else if (status === 'failure') list = list.filter((d) => !ok(d));
    else if (status !== undefined) throw validationFailed([{ resource: 'HookDelivery', field: 'status', code: 'invalid' }]);
    const cursor = ctx.query.cursor;
    if (cursor !== undefined && cursor !== '') {
      const match = /^v1_(\d+)$/.exec(cursor);
      if (!match) throw validationFailed([{ resource: 'HookDelivery', field: 'cursor', code: 'invalid' }]);
      const after = Number(match[1]);
      list = list.filter((d) => d.id < after);
    }
    const items = list.slice(0, perPage);
    const last = items.at(-1);
    const headers: Record<string, string> = {};
    if (last && list.length > items.length) {
      const params = new URLSearchParams({ per_page: String(perPage) });
      for (const [key, value] of Object.entries(ctx.query)) {
        if (key !== 'per_page' && key !== 'cursor') params.set(key, value);
      }
      params.set('cursor', `v1_${last.id}`);
      headers.link = `<${this.apiUrl}${ctx.path}?${params.toString()}>; rel="next"`;
    }
    return { status: 200, json: items.map((d) => this.deliveryItemJson(d)), headers };
  }


  private nextId(): number {
    return this.nextIdValue++;
  }

  private findRepo(owner: string, name: string): RepoState | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  private mustRepo(owner: string, name: string): RepoState {
    const state = this.findRepo(owner, name);
    if (!state) throw new Error(`github-sim: no repo ${owner}/${name}`);
    return state;
  }

  private mustIssue(state: RepoState, number: number): IssueState {
    const issue = state.issues.get(number);
    if (!issue) throw new Error(`github-sim: no issue #${number} in ${state.repo.fullName}`);
    return issue;
  }

  private async refSha(state: RepoState, branch: string): Promise<string | null> {
    if (branch.startsWith('-')) return null;
    const out = await tryGit(['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`], {
      cwd: state.repo.bareDir,
      env: gitEnv(this.root),
    });
    return out ? out.toString().trim() : null;
  }

  /**
   * A pull request's current head sha. A fork's head is fetched into the base repository as
   * refs/pull/N/head (as GitHub does), so diffs and merges work there; once the fork or its
   * branch is gone the last mirrored sha stands.
   */
  private async pullHeadSha(state: RepoState, issue: IssueState): Promise<string | null> {
    const pull = issue.pull;
    if (!pull) return null;
    if (!pull.headRepo) return this.refSha(state, pull.head);
    const env = gitEnv(this.root);
    const ref = `refs/pull/${issue.number}/head`;
    const fork = this.repos.get(pull.headRepo.key);
    if (fork && issue.state === 'open') {
      await tryGit(['fetch', '-q', '--no-tags', fork.repo.bareDir, `+refs/heads/${pull.head}:${ref}`], { cwd: state.repo.bareDir, env });
    }
    const out = await tryGit(['rev-parse', '--verify', '-q', `${ref}^{commit}`], { cwd: state.repo.bareDir, env });
    return out ? out.toString().trim() : null;
  }

  private tokenValid(token: string): boolean {
    const t = this.tokens.get(token);
    return !!t && !t.revoked && t.expiresAt > Date.now();
  }

  /** GitHub's rules for app JWTs; returns an error message, or null when the JWT is good. */
  private jwtError(jwt: string): string | null {
    const [h, p, s] = jwt.split('.');
    if (h === undefined || p === undefined || s === undefined) return 'A JSON web token could not be decoded';
    let header: { alg?: unknown };
    let payload: { iss?: unknown; exp?: unknown; iat?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString()) as typeof header;
      payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as typeof payload;
    } catch {
      return 'A JSON web token could not be decoded';
    }
    if (header.alg !== 'RS256') return 'A JSON web token could not be decoded';
    const ok = verifySignature(
      'RSA-SHA256',
      Buffer.from(`${h}.${p}`),
      this.publicKey,
      Buffer.from(s, 'base64url'),
    );
    if (!ok) return 'A JSON web token could not be decoded';
    if (String(payload.iss) !== String(this.appId)) {
      return 'Integration not found';
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp <= now) {
      return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    }
    // GitHub allows at most 10 minutes; a minute of slack for clock rounding.
    if (payload.exp > now + 660) return "'Expiration time' claim ('exp') is too far in the future";
    if (typeof payload.iat === 'number' && payload.iat > now + 60) {
      return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
    }
    return null;
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const fault = this.faults.find(
      (f) => f.remaining > 0 && (f.method === '*' || f.method === method) && f.pattern.test(path),
    );
    if (!fault) return undefined;
    fault.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(url.searchParams);
    const auth = parseAuthorization(req.headers.authorization);
    if (url.pathname === '/api/v3' || url.pathname.startsWith('/api/v3/')) {
      await this.handleRest(req, res, url, method, query, auth);
      return;
    }
    if (url.pathname === '/api/graphql') {
      await this.handleGraphql(req, res, url, method, query, auth);
      return;
    }
    const logMatch = /^\/_sim\/actions-logs\/[^/]+\/[^/]+\/jobs\/(\d+)$/.exec(url.pathname);
    if (logMatch) {
      await this.serveJobLog(req, res, url, auth, logMatch[1] ?? '');
      return;
    }
    const gitMatch = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/.exec(url.pathname);
    if (gitMatch) {
      await this.handleGit(req, res, url, method, query, auth, gitMatch[1] ?? '', gitMatch[2] ?? '', gitMatch[3] ?? '');
      return;
    }
    await readBody(req);
    this.requests.push({ method, path: decodedPath(url), query, status: 404, body: undefined, auth: auth.kind });
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not Found');
  }

  private async handleRest(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    query: Record<string, string>,
    auth: PresentedAuth,
  ): Promise<void> {
    const raw = await readBody(req);
    const text = raw.toString('utf8');
    let body: unknown = undefined;
    let parseFailed = false;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        parseFailed = true;
      }
    }
    const path = url.pathname.slice('/api/v3'.length) || '/';
    const reply = await this.restReply(req, method, path, decodedPath(url), query, body, parseFailed, auth);
    this.requests.push({ method, path: decodedPath(url), query, status: reply.status, body, auth: auth.kind });
    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': 'core',
      ...reply.headers,
    };
    if (reply.status === 204) {
      res.writeHead(204, headers);
      res.end();
    } else if (reply.raw) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType ?? 'text/plain; charset=utf-8' });
      res.end(reply.raw);
    } else {
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(reply.json ?? {}));
    }
  }

  private async restReply(
    req: IncomingMessage,
    method: string,
    path: string,
    fullPath: string,
    query: Record<string, string>,
    body: unknown,
    parseFailed: boolean,
    auth: PresentedAuth,
  ): Promise<Reply> {
    try {
      let found: { route: Route; params: string[] } | undefined;
      for (const route of this.routes) {
        if (route.method !== method) continue;
        const m = route.pattern.exec(path);
        if (m) {
          found = { route, params: m.slice(1).map((p) => (p === undefined ? '' : decodeURIComponent(p))) };
          break;
        }
      }
      if (!found) throw new ApiError(404);
      const { route, params } = found;
      // Every credential the sim accepts for writes belongs to the app, so the bot is the actor.
      const actor: Actor = { login: this.botLogin, type: 'Bot' };
      if (route.auth === 'jwt') {
        if (auth.kind !== 'jwt') {
          throw new ApiError(401, auth.kind === 'none' ? 'Requires authentication' : 'A JSON web token could not be decoded');
        }
        const problem = this.jwtError(auth.credential);
        if (problem) throw new ApiError(401, problem);
      } else {
        if (auth.kind === 'none') throw new ApiError(401, 'Requires authentication');
        if (auth.kind !== 'installation' || !this.tokenValid(auth.credential)) throw new ApiError(401, 'Bad credentials');
      }
      const fault = this.takeFault(method, fullPath);
      if (fault) {
        return {
          status: fault.status,
          json: new ApiError(fault.status, fault.options.message).body,
          headers: fault.options.headers,
        };
      }
      if (parseFailed) throw new ApiError(400, 'Problems parsing JSON');
      return await route.handler(
        { method, path, query, body, headers: req.headers, actor, token: auth.credential },
        params,
      );
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, json: err.body };
      if (err instanceof URIError) return { status: 404, json: new ApiError(404).body };
      throw err;
    }
  }

  private async handleGit(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    query: Record<string, string>,
    auth: PresentedAuth,
    owner: string,
    name: string,
    rest: string,
  ): Promise<void> {
    const record = (status: number): void => {
      this.requests.push({ method, path: decodedPath(url), query, status, body: undefined, auth: auth.kind });
    };
    const plain = async (status: number, text: string, headers: Record<string, string> = {}): Promise<void> => {
      await readBody(req);
      record(status);
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(text);
    };
    if (auth.kind !== 'basic' || auth.basicUser !== 'x-access-token' || !this.tokenValid(auth.credential)) {
      // The challenge makes git ask its credential helpers (and fail fast with prompts off).
      await plain(401, 'Invalid username or token. Password authentication is not supported for Git operations.\n', {
        'www-authenticate': 'Basic realm="GitHub"',
      });
      return;
    }
    const state = this.findRepo(owner, name);
    if (!state) {
      await plain(404, 'Repository not found.\n');
      return;
    }
    const fault = this.takeFault(method, decodedPath(url));
    if (fault) {
      await plain(fault.status, `${fault.options.message ?? STATUS_MESSAGES[fault.status] ?? 'Error'}\n`, fault.options.headers);
      return;
    }

    const h = req.headers;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_PROJECT_ROOT: this.reposRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: method,
      // Canonical case: GitHub's names are case-insensitive, the bare dirs on disk are not.
      PATH_INFO: `/${state.repo.owner}/${state.repo.name}.git${rest}`,
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: h['content-type'] ?? '',
      REMOTE_USER: this.botLogin,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    };
    if (h['content-length'] !== undefined) env.CONTENT_LENGTH = h['content-length'];
    if (typeof h['content-encoding'] === 'string') env.HTTP_CONTENT_ENCODING = h['content-encoding'];
    // Lets protocol v2 through, as on GitHub.
    if (typeof h['git-protocol'] === 'string') env.HTTP_GIT_PROTOCOL = h['git-protocol'];

    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.on('error', () => {
      // EPIPE when the backend answers (e.g. with an error) before reading the whole body.
    });
    req.pipe(child.stdin);
    res.on('close', () => {
      // Client went away mid-response: stop the backend rather than let it block on a full pipe.
      if (!res.writableFinished && child.exitCode === null) child.kill();
    });

    await new Promise<void>((resolve) => {
      let head = Buffer.alloc(0);
      let done = false;
      const fail = (message: string): void => {
        if (done) return;
        done = true;
        record(500);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`github-sim: git http-backend failed: ${message}\n`);
        resolve();
      };
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const crlf = head.indexOf('\r\n\r\n');
        const lf = head.indexOf('\n\n');
        let end = -1;
        let sepLen = 0;
        if (crlf >= 0 && (lf < 0 || crlf < lf)) {
          end = crlf;
          sepLen = 4;
        } else if (lf >= 0) {
          end = lf;
          sepLen = 2;
        }
        if (end < 0) return;
        done = true;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const key = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
          else headers[key] = value;
        }
        record(status);
        res.writeHead(status, headers);
        res.write(head.subarray(end + sepLen));
        // Switching from the header parser to pipe() is synchronous, so no chunk is lost.
        child.stdout.off('data', onData);
        child.stdout.pipe(res);
        resolve();
      };
      child.stdout.on('data', onData);
      child.on('error', (err) => fail(err.message));
      child.on('close', (code) => fail(`exit ${code ?? 'signal'}: ${stderr.trim()}`));
    });
  }

  // ---- JSON shapes ----

  userId(login: string): number {
    return Number(this.userJson(login, 'User').id);
  }

  private userJson(login: string, type: 'User' | 'Bot' | 'Organization'): Record<string, unknown> {
    const key = login.toLowerCase();
    let id = this.userIds.get(key);
    if (id === undefined) {
      id = this.nextId();
      this.userIds.set(key, id);
    }
    return {
      login,
      id,
      node_id: nodeId(type === 'Bot' ? 'BOT' : type === 'Organization' ? 'O' : 'U', id),
      avatar_url: `${this.url}/avatars/u/${id}?v=4`,
      gravatar_id: '',
      url: `${this.apiUrl}/users/${encodeURIComponent(login)}`,
      html_url: type === 'Bot' ? `${this.url}/apps/${this.appSlug}` : `${this.url}/${login}`,
      ...userUrls(`${this.apiUrl}/users/${encodeURIComponent(login)}`),
      type,
      site_admin: false,
    };
  }

  private actorJson(actor: Actor): Record<string, unknown> {
    return this.userJson(actor.login, actor.type);
  }

  private repoApi(state: RepoState): string {
    return `${this.apiUrl}/repos/${state.repo.owner}/${state.repo.name}`;
  }

  private repoJson(state: RepoState): Record<string, unknown> {
    const r = state.repo;
    const api = this.repoApi(state);
    const openIssues = [...state.issues.values()].filter((i) => i.state === 'open').length;
    return {
      id: r.id,
      node_id: nodeId('R', r.id),
      name: r.name,
      full_name: r.fullName,
      private: false,
      visibility: 'public',
      owner: this.userJson(r.owner, state.ownerType),
      html_url: r.htmlUrl,
      description: null,
      fork: state.forkOf !== undefined,
      url: api,
      issues_url: `${api}/issues{/number}`,
      pulls_url: `${api}/pulls{/number}`,
      contents_url: `${api}/contents/{+path}`,
      branches_url: `${api}/branches{/branch}`,
      comments_url: `${api}/comments{/number}`,
      labels_url: `${api}/labels{/name}`,
      ...repositoryUrls(api),
      git_url: `git://${this.host}/${r.fullName}.git`,
      ssh_url: `git@${this.host.split(':')[0] ?? this.host}:${r.fullName}.git`,
      clone_url: r.cloneUrl,
      svn_url: r.htmlUrl,
      homepage: null,
      size: 0,
      language: null,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_downloads: true,
      archived: false,
      disabled: false,
      has_pages: false,
      has_discussions: false,
      mirror_url: null,
      license: null,
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      open_issues: openIssues,
      open_issues_count: openIssues,
      topics: [],
      default_branch: r.defaultBranch,
      allow_forking: true,
      is_template: false,
      created_at: state.createdAt,
      updated_at: state.createdAt,
      pushed_at: state.createdAt,
    };
  }

  private labelJson(state: RepoState, name: string): Record<string, unknown> {
    let id = state.labelIds.get(name.toLowerCase());
    if (id === undefined) {
      id = this.nextId();
      state.labelIds.set(name.toLowerCase(), id);
    }
    return {
      id,
      node_id: nodeId('LA', id),
      url: `${this.repoApi(state)}/labels/${encodeURIComponent(name)}`,
      name,
      color: 'ededed',
      default: false,
      description: null,
    };
  }

  private reactionSummary(url: string, reactions: Reaction[]): Record<string, unknown> {
    const summary: Record<string, unknown> = { url, total_count: reactions.length };
    for (const content of REACTIONS) summary[content] = reactions.filter((r) => r.content === content).length;
    return summary;
  }

  private reactionJson(r: Reaction): Record<string, unknown> {
    return { id: r.id, node_id: nodeId('REA', r.id), user: this.actorJson(r.user), content: r.content, created_at: r.createdAt };
  }

  private association(state: RepoState, login: string): string {
    if (login.toLowerCase() === state.repo.owner.toLowerCase()) return 'OWNER';
    const p = state.permissions.get(login.toLowerCase());
    return p && p !== 'none' && p !== 'read' ? 'COLLABORATOR' : 'NONE';
  }

  private issueJson(state: RepoState, issue: IssueState): Record<string, unknown> {
    const api = `${this.repoApi(state)}/issues/${issue.number}`;
    const json: Record<string, unknown> = {
      id: issue.id,
      node_id: nodeId(issue.pull ? 'PR' : 'I', issue.id),
      url: api,
      repository_url: this.repoApi(state),
      labels_url: `${api}/labels{/name}`,
      comments_url: `${api}/comments`,
      events_url: `${api}/events`,
      html_url: `${state.repo.htmlUrl}/${issue.pull ? 'pull' : 'issues'}/${issue.number}`,
      number: issue.number,
      state: issue.state,
      state_reason: issue.state === 'closed' ? 'completed' : null,
      title: issue.title,
      body: issue.body,
      user: this.actorJson(issue.user),
      labels: issue.labels.map((l) => this.labelJson(state, l)),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: issue.commentIds.length,
      closed_at: issue.closedAt,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      author_association: this.association(state, issue.user.login),
      reactions: this.reactionSummary(`${api}/reactions`, issue.reactions),
      performed_via_github_app: null,
    };
    if (issue.pull) {
      const pullApi = `${this.repoApi(state)}/pulls/${issue.number}`;
      const html = `${state.repo.htmlUrl}/pull/${issue.number}`;
      json.draft = issue.pull.draft;
      json.pull_request = {
        url: pullApi,
        html_url: html,
        diff_url: `${html}.diff`,
        patch_url: `${html}.patch`,
        merged_at: null,
      };
    }
    return json;
  }

  private commentJson(state: RepoState, c: CommentState): Record<string, unknown> {
    const api = `${this.repoApi(state)}/issues/comments/${c.id}`;
    const issue = state.issues.get(c.issueNumber);
    const kind = issue?.pull ? 'pull' : 'issues';
    return {
      id: c.id,
      node_id: nodeId('IC', c.id),
      url: api,
      html_url: `${state.repo.htmlUrl}/${kind}/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${this.repoApi(state)}/issues/${c.issueNumber}`,
      body: c.body,
      user: this.actorJson(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      author_association: this.association(state, c.user.login),
      reactions: this.reactionSummary(`${api}/reactions`, c.reactions),
      performed_via_github_app: c.user.type === 'Bot' ? this.appJson() : null,
    };
  }

  private async pullJson(state: RepoState, issue: IssueState, full: boolean): Promise<Record<string, unknown>> {
    const pull = issue.pull;
    if (!pull) throw new ApiError(404);
    const headSha = (await this.pullHeadSha(state, issue)) ?? pull.headSha;
    pull.headSha = headSha;
    const baseSha = (await this.refSha(state, pull.base)) ?? '';
    const api = `${this.repoApi(state)}/pulls/${issue.number}`;
    const html = `${state.repo.htmlUrl}/pull/${issue.number}`;
    const repoJson = this.repoJson(state);
    const ownerJson = this.userJson(state.repo.owner, state.ownerType);
    const headFork = pull.headRepo ? this.repos.get(pull.headRepo.key) : undefined;
    const json: Record<string, unknown> = {
      url: api,
      id: issue.id,
      node_id: nodeId('PR', issue.id),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${this.repoApi(state)}/issues/${issue.number}`,
      commits_url: `${api}/commits`,
      review_comments_url: `${api}/comments`,
      review_comment_url: `${this.repoApi(state)}/pulls/comments{/number}`,
      comments_url: `${this.repoApi(state)}/issues/${issue.number}/comments`,
      statuses_url: `${this.repoApi(state)}/statuses/${headSha}`,
      number: issue.number,
      state: issue.state,
      locked: false,
      title: issue.title,
      user: this.actorJson(issue.user),
      body: issue.body,
      labels: issue.labels.map((l) => this.labelJson(state, l)),
      milestone: null,
      active_lock_reason: null,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      merged_at: null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: pull.requestedReviewers.map((login) => this.userJson(login, 'User')),
      requested_teams: pull.requestedTeams.map((slug) => this.teamJson(state, slug)),
      head: pull.headRepo
        ? {
            // A fork's head: its owner and repository, or `repo: null` once the fork is deleted.
            label: `${pull.headRepo.owner}:${pull.head}`,
            ref: pull.head,
            sha: headSha,
            user: this.userJson(pull.headRepo.owner, pull.headRepo.ownerType),
            repo: headFork ? this.repoJson(headFork) : null,
          }
        : {
            label: `${state.repo.owner}:${pull.head}`,
            ref: pull.head,
            sha: headSha,
            user: ownerJson,
            repo: repoJson,
          },
      base: {
        label: `${state.repo.owner}:${pull.base}`,
        ref: pull.base,
        sha: baseSha,
        user: ownerJson,
        repo: repoJson,
      },
      _links: {
        self: { href: api },
        html: { href: html },
        issue: { href: `${this.repoApi(state)}/issues/${issue.number}` },
        comments: { href: `${this.repoApi(state)}/issues/${issue.number}/comments` },
        review_comments: { href: `${api}/comments` },
        review_comment: { href: `${this.repoApi(state)}/pulls/comments{/number}` },
        commits: { href: `${api}/commits` },
        statuses: { href: `${this.repoApi(state)}/statuses/${headSha}` },
      },
      author_association: this.association(state, issue.user.login),
      auto_merge: null,
      draft: pull.draft,
    };
    if (full) {
      // Only the single-PR endpoint carries merge state and counts, as on GitHub.
      const env = gitEnv(this.root);
      const range = `${baseSha}..${headSha}`;
      const count = baseSha ? await tryGit(['rev-list', '--count', range], { cwd: state.repo.bareDir, env }) : null;
      const numstat = baseSha
        ? await tryGit(['diff', '--numstat', `${baseSha}...${headSha}`], { cwd: state.repo.bareDir, env })
        : null;
      // As on GitHub: a pull request is mergeable when its head merges into its base without conflicts.
      const mergeable = baseSha ? (await tryGit(['merge-tree', '--write-tree', '--no-messages', baseSha, headSha], { cwd: state.repo.bareDir, env })) !== null : true;
      let additions = 0;
      let deletions = 0;
      let changedFiles = 0;
      for (const line of (numstat?.toString() ?? '').split('\n')) {
        const [a, d] = line.split('\t');
        if (a === undefined || d === undefined) continue;
        changedFiles++;
        additions += Number.parseInt(a, 10) || 0;
        deletions += Number.parseInt(d, 10) || 0;
      }
      Object.assign(json, {
        merged: false,
        mergeable,
        rebaseable: mergeable,
        mergeable_state: mergeable ? 'clean' : 'dirty',
        merged_by: null,
        comments: issue.commentIds.length,
        review_comments: this.reviewCommentsOf(state, issue.number).length,
        maintainer_can_modify: false,
        commits: Number.parseInt(count?.toString() ?? '0', 10) || 0,
        additions,
        deletions,
        changed_files: changedFiles,
      });
    }
    return json;
  }

  private teamJson(state: RepoState, slug: string): Record<string, unknown> {
    const key = `team:${state.repo.owner}/${slug}`.toLowerCase();
    let id = this.userIds.get(key);
    if (id === undefined) {
      id = this.nextId();
      this.userIds.set(key, id);
    }
    const api = `${this.apiUrl}/orgs/${state.repo.owner}/teams/${slug}`;
    return {
      id,
      node_id: nodeId('T', id),
      url: api,
      html_url: `${this.url}/orgs/${state.repo.owner}/teams/${slug}`,
      name: slug,
      slug,
      description: null,
      privacy: 'closed',
      notification_setting: 'notifications_enabled',
      permission: 'pull',
      members_url: `${api}/members{/member}`,
      repositories_url: `${api}/repos`,
      parent: null,
    };
  }

  private reviewJson(state: RepoState, r: ReviewRecord): SimReviewJson {
    const pullApi = `${this.repoApi(state)}/pulls/${r.pullNumber}`;
    const html = `${state.repo.htmlUrl}/pull/${r.pullNumber}#pullrequestreview-${r.id}`;
    return {
      id: r.id,
      node_id: nodeId('PRR', r.id),
      user: this.actorJson(r.user) as SimUserJson,
      body: r.body,
      state: r.state,
      html_url: html,
      pull_request_url: pullApi,
      author_association: this.association(state, r.user.login),
      _links: { html: { href: html }, pull_request: { href: pullApi } },
      submitted_at: r.submittedAt,
      commit_id: r.commitId,
    };
  }

  private reviewCommentJson(state: RepoState, c: ReviewCommentRecord): SimReviewCommentJson {
    const api = `${this.repoApi(state)}/pulls/comments/${c.id}`;
    const pullApi = `${this.repoApi(state)}/pulls/${c.pullNumber}`;
    const html = `${state.repo.htmlUrl}/pull/${c.pullNumber}#discussion_r${c.id}`;
    return {
      url: api,
      pull_request_review_id: c.reviewId,
      id: c.id,
      node_id: nodeId('PRRC', c.id),
      diff_hunk: c.diffHunk,
      path: c.path,
      position: c.position,
      original_position: c.position,
      commit_id: c.commitId,
      original_commit_id: c.commitId,
      ...(c.inReplyTo === undefined ? {} : { in_reply_to_id: c.inReplyTo }),
      user: this.actorJson(c.user) as SimUserJson,
      body: c.body,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      html_url: html,
      pull_request_url: pullApi,
      author_association: this.association(state, c.user.login),
      _links: { self: { href: api }, html: { href: html }, pull_request: { href: pullApi } },
      reactions: this.reactionSummary(`${api}/reactions`, c.reactions),
      start_line: null,
      original_start_line: null,
      start_side: null,
      line: c.line,
      original_line: c.line,
      side: 'RIGHT',
      subject_type: 'line',
    };
  }

  private fileJson(state: RepoState, head: string, f: DiffFile): Record<string, unknown> {
    const path = f.path.split('/').map(encodeURIComponent).join('/');
    return {
      sha: f.sha,
      filename: f.path,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      changes: f.additions + f.deletions,
      blob_url: `${state.repo.htmlUrl}/blob/${head}/${path}`,
      raw_url: `${state.repo.htmlUrl}/raw/${head}/${path}`,
      contents_url: `${this.repoApi(state)}/contents/${path}?ref=${head}`,
      ...(f.patch === undefined ? {} : { patch: f.patch }),
      ...(f.previousPath === undefined ? {} : { previous_filename: f.previousPath }),
    };
  }

  private commitJson(state: RepoState, info: CommitInfo): Record<string, unknown> {
    const api = this.repoApi(state);
    return {
      sha: info.sha,
      node_id: `C_${Buffer.from(`sim:${info.sha}`).toString('base64url')}`,
      commit: {
        author: { name: info.authorName, email: info.authorEmail, date: info.authorDate },
        committer: { name: info.committerName, email: info.committerEmail, date: info.committerDate },
        message: info.message,
        tree: { sha: info.tree, url: `${api}/git/trees/${info.tree}` },
        url: `${api}/git/commits/${info.sha}`,
        comment_count: 0,
      },
      url: `${api}/commits/${info.sha}`,
      html_url: `${state.repo.htmlUrl}/commit/${info.sha}`,
      comments_url: `${api}/commits/${info.sha}/comments`,
      // Git identities are not GitHub accounts here.
      author: null,
      committer: null,
      parents: info.parents.map((sha) => ({ sha, url: `${api}/commits/${sha}`, html_url: `${state.repo.htmlUrl}/commit/${sha}` })),
    };
  }

  /** The `pull_requests` entries of check runs, suites and workflow runs: open PRs at that head. */
  private pullRefsJson(
    state: RepoState,
    pulls: Array<{ issue: IssueState; head: string; base: string }>,
    sha: string,
  ): Array<{ number: number; [key: string]: unknown }> {
    const repo = { id: state.repo.id, url: this.repoApi(state), name: state.repo.name };
    return pulls
      // GitHub leaves pull requests whose head is in a fork out of these lists.
      .filter((p) => p.head === sha && !p.issue.pull?.headRepo)
      .map((p) => ({
        url: `${this.repoApi(state)}/pulls/${p.issue.number}`,
        id: p.issue.id,
        number: p.issue.number,
        head: { ref: p.issue.pull?.head ?? '', sha: p.head, repo },
        base: { ref: p.issue.pull?.base ?? '', sha: p.base, repo },
      }));
  }

  private checkAppJson(slug: string): SimCheckRunJson['app'] {
    if (slug === this.appSlug) return this.appJson() as SimCheckRunJson['app'];
    const key = `app:${slug}`;
    let id = this.userIds.get(key);
    if (id === undefined) {
      // GitHub Actions' real app id, so code that recognises it by id works here too.
      id = slug === 'github-actions' ? 15368 : this.nextId();
      this.userIds.set(key, id);
    }
    const actions = slug === 'github-actions';
    return {
      id,
      slug,
      node_id: nodeId('A', id),
      owner: this.userJson(actions ? 'github' : slug, 'Organization'),
      name: actions ? 'GitHub Actions' : slug,
      description: actions ? 'Automate your workflow from idea to production' : '',
      external_url: actions ? 'https://help.github.com/en/actions' : this.url,
      html_url: `${this.url}/apps/${slug}`,
      created_at: this.startedAt,
      updated_at: this.startedAt,
      permissions: { checks: 'write', metadata: 'read', statuses: 'write' },
      events: ['check_run', 'check_suite', 'push', 'pull_request'],
    };
  }

  private checkRunJson(
    state: RepoState,
    r: CheckRunRecord,
    pulls: Array<{ issue: IssueState; head: string; base: string }>,
  ): SimCheckRunJson {
    const api = `${this.repoApi(state)}/check-runs/${r.id}`;
    // Actions jobs link to the job page; other apps' runs to the checks tab.
    const html = r.job ? `${state.repo.htmlUrl}/actions/runs/${r.job.runId}/job/${r.id}` : `${state.repo.htmlUrl}/runs/${r.id}`;
    return {
      id: r.id,
      name: r.name,
      node_id: nodeId('CR', r.id),
      head_sha: r.headSha,
      external_id: '',
      url: api,
      html_url: html,
      details_url: r.detailsUrl ?? html,
      status: r.status,
      conclusion: r.conclusion,
      started_at: r.startedAt,
      completed_at: r.completedAt,
      output: {
        ...r.output,
        annotations_count: r.annotations.length,
        annotations_url: `${api}/annotations`,
      },
      check_suite: { id: r.suiteId },
      app: this.checkAppJson(r.app),
      pull_requests: this.pullRefsJson(state, pulls, r.headSha),
    };
  }

  private async checkSuiteJson(
    state: RepoState,
    s: CheckSuiteRecord,
    pulls: Array<{ issue: IssueState; head: string; base: string }>,
  ): Promise<Record<string, unknown>> {
    const api = this.repoApi(state);
    const runs = latestCheckRuns([...state.checkRuns.values()].filter((r) => r.suiteId === s.id));
    return {
      id: s.id,
      node_id: nodeId('CS', s.id),
      head_branch: s.headBranch,
      head_sha: s.headSha,
      ...rollup(runs),
      url: `${api}/check-suites/${s.id}`,
      before: null,
      after: s.headSha,
      pull_requests: this.pullRefsJson(state, pulls, s.headSha),
      app: this.checkAppJson(s.app),
      repository: this.repoJson(state),
      created_at: s.createdAt,
      updated_at: s.updatedAt,
      rerequestable: true,
      runs_rerequestable: true,
      latest_check_runs_count: runs.length,
      check_runs_url: `${api}/check-suites/${s.id}/check-runs`,
      head_commit: await this.headCommitJson(state, s.headSha),
    };
  }

  private async workflowRunJson(
    state: RepoState,
    run: WorkflowRunRecord,
    pulls: Array<{ issue: IssueState; head: string; base: string }>,
  ): Promise<Record<string, unknown>> {
    const api = this.repoApi(state);
    const runApi = `${api}/actions/runs/${run.id}`;
    const jobs = run.jobIds.flatMap((id) => state.checkRuns.get(id) ?? []);
    const attempt = Math.max(1, ...jobs.map((j) => j.job?.attempt ?? 1));
    const file = run.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'workflow';
    const bot = this.userJson(this.botLogin, 'Bot');
    return {
      id: run.id,
      name: run.name,
      node_id: nodeId('WFR', run.id),
      head_branch: run.headBranch,
      head_sha: run.headSha,
      path: `.github/workflows/${file}.yml`,
      display_title: run.name,
      run_number: run.runNumber,
      event: 'push',
      ...rollup(latestCheckRuns(jobs)),
      workflow_id: run.workflowId,
      check_suite_id: run.suiteId,
      check_suite_node_id: nodeId('CS', run.suiteId),
      url: runApi,
      html_url: `${state.repo.htmlUrl}/actions/runs/${run.id}`,
      pull_requests: this.pullRefsJson(state, pulls, run.headSha),
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      actor: bot,
      triggering_actor: bot,
      run_attempt: attempt,
      run_started_at: run.createdAt,
      jobs_url: `${runApi}/jobs`,
      logs_url: `${runApi}/logs`,
      check_suite_url: `${api}/check-suites/${run.suiteId}`,
      artifacts_url: `${runApi}/artifacts`,
      cancel_url: `${runApi}/cancel`,
      rerun_url: `${runApi}/rerun`,
      previous_attempt_url: attempt > 1 ? `${runApi}/attempts/${attempt - 1}` : null,
      workflow_url: `${api}/actions/workflows/${run.workflowId}`,
      head_commit: await this.headCommitJson(state, run.headSha),
      repository: this.repoJson(state),
      head_repository: this.repoJson(state),
    };
  }

  private jobJson(state: RepoState, r: CheckRunRecord & { job: JobRecord }): Record<string, unknown> {
    const api = this.repoApi(state);
    const run = state.workflowRuns.get(r.job.runId);
    const step = (name: string, number: number, status: CheckStatus, conclusion: CheckConclusion | null) => ({
      name,
      status,
      conclusion,
      number,
      started_at: status === 'queued' ? null : r.startedAt,
      completed_at: status === 'completed' ? (r.completedAt ?? r.startedAt) : null,
    });
    // GitHub lists no steps until a runner picks the job up, then adds them as they start.
    let steps: ReturnType<typeof step>[] = [];
    const main = r.job.steps ?? [{ name: `Run ${r.name}`, conclusion: r.conclusion ?? 'success' }];
    if (r.status === 'in_progress') {
      steps = [step('Set up job', 1, 'completed', 'success'), step(main[0]?.name ?? `Run ${r.name}`, 2, 'in_progress', null)];
    } else if (r.status === 'completed') {
      steps = [
        step('Set up job', 1, 'completed', 'success'),
        ...main.map((s, i) => step(s.name, i + 2, 'completed', s.conclusion)),
        step('Complete job', main.length + 2, 'completed', 'success'),
      ];
    }
    return {
      id: r.id,
      run_id: r.job.runId,
      workflow_name: run?.name ?? null,
      head_branch: run?.headBranch ?? null,
      run_url: `${api}/actions/runs/${r.job.runId}`,
      run_attempt: r.job.attempt,
      node_id: nodeId('CR', r.id),
      head_sha: r.headSha,
      url: `${api}/actions/jobs/${r.id}`,
      html_url: `${state.repo.htmlUrl}/actions/runs/${r.job.runId}/job/${r.id}`,
      status: r.status,
      conclusion: r.conclusion,
      created_at: r.startedAt,
      started_at: r.startedAt,
      completed_at: r.completedAt,
      name: r.name,
      steps,
      check_run_url: `${api}/check-runs/${r.id}`,
      labels: ['ubuntu-latest'],
      runner_id: r.status === 'queued' ? null : 1,
      runner_name: r.status === 'queued' ? null : 'GitHub Actions 1',
      runner_group_id: r.status === 'queued' ? null : 2,
      runner_group_name: r.status === 'queued' ? null : 'GitHub Actions',
    };
  }

  private statusJson(state: RepoState, s: StatusRecord): SimCommitStatusJson {
    const creator = this.actorJson(s.creator) as SimUserJson;
    return {
      url: `${this.repoApi(state)}/statuses/${s.sha}`,
      avatar_url: String(creator.avatar_url),
      id: s.id,
      node_id: nodeId('SC', s.id),
      state: s.state,
      description: s.description,
      target_url: s.targetUrl,
      context: s.context,
      created_at: s.createdAt,
      updated_at: s.createdAt,
      creator,
    };
  }

  private installationAccount(): { login: string; type: 'Organization' | 'User' } {
    const first = this.repos.values().next().value;
    return first ? { login: first.repo.owner, type: first.ownerType } : { login: 'octo-org', type: 'Organization' };
  }

  private appJson(): Record<string, unknown> {
    return {
      id: this.appId,
      slug: this.appSlug,
      node_id: nodeId('A', this.appId),
      client_id: `Iv1.${createHash('sha1').update(String(this.appId)).digest('hex').slice(0, 16)}`,
      owner: this.userJson(this.installationAccount().login, this.installationAccount().type),
      name: this.appSlug,
      description: 'GitHub simulator app',
      external_url: this.url,
      html_url: `${this.url}/apps/${this.appSlug}`,
      created_at: this.startedAt,
      updated_at: this.startedAt,
      permissions: TOKEN_PERMISSIONS,
      events: APP_EVENTS,
      installations_count: this.installations.size,
    };
  }

  private installationJson(id = this.installationId): Record<string, unknown> {
    const account = this.installationAccount();
    return {
      id,
      account: this.userJson(account.login, account.type),
      repository_selection: 'all',
      access_tokens_url: `${this.apiUrl}/app/installations/${id}/access_tokens`,
      repositories_url: `${this.apiUrl}/installation/repositories`,
      html_url: `${this.url}/organizations/${account.login}/settings/installations/${id}`,
      app_id: this.appId,
      app_slug: this.appSlug,
      target_id: this.userJson(account.login, account.type).id,
      target_type: account.type,
      permissions: TOKEN_PERMISSIONS,
      events: APP_EVENTS,
      created_at: this.startedAt,
      updated_at: this.startedAt,
      single_file_name: null,
      suspended_by: null,
      suspended_at: null,
    };
  }

  // ---- reviews and CI: state ----

  private mustPullIssue(state: RepoState, number: number): IssueState {
    const issue = this.mustIssue(state, number);
    if (!issue.pull) throw new Error(`github-sim: #${number} in ${state.repo.fullName} is not a pull request`);
    return issue;
  }

  private pullOr404(state: RepoState, number: string): IssueState & { pull: PullState } {
    const issue = this.issueOr404(state, number);
    if (!issue.pull) throw new ApiError(404);
    return issue as IssueState & { pull: PullState };
  }

  /** Current head and base shas; the head falls back to the last one seen once its branch is gone. */
  private async pullShas(state: RepoState, issue: IssueState): Promise<{ head: string; base: string }> {
    const pull = issue.pull;
    if (!pull) throw new ApiError(404);
    pull.headSha = (await this.pullHeadSha(state, issue)) ?? pull.headSha;
    const base = await this.refSha(state, pull.base);
    if (!base) throw new Error(`github-sim: base branch ${pull.base} of #${issue.number} is gone`);
    return { head: pull.headSha, base };
  }

  /** The files of `git diff base...head` (changes since the merge base, like a PR or a compare). */
  private async diffFiles(state: RepoState, base: string, head: string): Promise<DiffFile[]> {
    const cwd = state.repo.bareDir;
    const env = gitEnv(this.root);
    const range = `${base}...${head}`;
    const raw = (await git(['diff', '--raw', '-z', '-M', '--no-abbrev', range], { cwd, env })).toString('utf8');
    const text = (await git(['diff', '--no-color', '--no-ext-diff', '-M', range], { cwd, env })).toString('utf8');
    // Both listings come from the same diff queue, so section i belongs to raw entry i.
    const sections: string[][] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('diff --git ')) sections.push([line]);
      else sections.at(-1)?.push(line);
    }
    const parts = raw.split('\0');
    const files: DiffFile[] = [];
    for (let i = 0; i < parts.length; ) {
      const meta = parts[i++] ?? '';
      if (!meta.startsWith(':')) continue;
      const [, , oldSha = '', newSha = '', code = ''] = meta.slice(1).split(' ');
      const letter = code.charAt(0);
      const first = parts[i++] ?? '';
      const second = letter === 'R' || letter === 'C' ? (parts[i++] ?? '') : undefined;
      const section = sections[files.length] ?? [];
      const hunkStart = section.findIndex((l) => l.startsWith('@@'));
      let patch: string | undefined;
      let additions = 0;
      let deletions = 0;
      if (hunkStart >= 0) {
        const hunks = section.slice(hunkStart);
        while (hunks.length > 0 && hunks.at(-1) === '') hunks.pop();
        for (const l of hunks) {
          if (l.startsWith('+')) additions++;
          else if (l.startsWith('-')) deletions++;
        }
        patch = hunks.join('\n');
      }
      const status = DIFF_STATUS[letter] ?? 'modified';
      files.push({
        status,
        path: second ?? first,
        previousPath: second === undefined ? undefined : first,
        sha: status === 'removed' ? oldSha : newSha,
        patch,
        additions,
        deletions,
      });
    }
    return files;
  }

  private anchor(files: DiffFile[], path: string, line: number, pullNumber: number): { diffHunk: string; position: number } {
    const file = files.find((f) => f.path === path);
    if (!file?.patch) throw new Error(`github-sim: ${path} is not changed (as text) in #${pullNumber}`);
    const at = hunkAt(file.patch, line);
    if (!at) throw new Error(`github-sim: line ${line} of ${path} is not part of the diff of #${pullNumber}`);
    return at;
  }

  private storeReview(
    state: RepoState,
    issue: IssueState,
    user: Actor,
    reviewState: ReviewState,
    body: string,
    commitId: string,
  ): ReviewRecord {
    const now = isoNow();
    const review: ReviewRecord = {
      id: this.nextId(),
      pullNumber: issue.number,
      user,
      state: reviewState,
      body,
      commitId,
      submittedAt: now,
    };
    state.reviews.set(review.id, review);
    const pull = issue.pull;
    // Submitting a review fulfils the request for it, as on GitHub.
    if (pull) pull.requestedReviewers = pull.requestedReviewers.filter((l) => l.toLowerCase() !== user.login.toLowerCase());
    issue.updatedAt = now;
    return review;
  }

  private storeReviewComment(
    state: RepoState,
    review: ReviewRecord,
    c: Pick<ReviewCommentRecord, 'inReplyTo' | 'body' | 'path' | 'line' | 'position' | 'diffHunk' | 'commitId'>,
  ): ReviewCommentRecord {
    const now = isoNow();
    const record: ReviewCommentRecord = {
      ...c,
      id: this.nextId(),
      pullNumber: review.pullNumber,
      reviewId: review.id,
      user: review.user,
      createdAt: now,
      updatedAt: now,
      reactions: [],
    };
    state.reviewComments.set(record.id, record);
    return record;
  }

  /**
   * A reply joins the thread of `parent`, at the thread's place in the diff. GitHub only threads
   * one level deep, so a reply to a reply points at the thread's first comment. Like on GitHub,
   * the reply comes in a review of its own (COMMENTED, empty body).
   */
  private storeReply(
    state: RepoState,
    issue: IssueState,
    parent: ReviewCommentRecord,
    user: Actor,
    body: string,
  ): ReviewCommentRecord {
    const root = parent.inReplyTo === undefined ? parent : (state.reviewComments.get(parent.inReplyTo) ?? parent);
    const review = this.storeReview(state, issue, user, 'COMMENTED', '', root.commitId);
    return this.storeReviewComment(state, review, {
      inReplyTo: root.id,
      body,
      path: root.path,
      line: root.line,
      position: root.position,
      diffHunk: root.diffHunk,
      commitId: root.commitId,
    });
  }

  private reviewsOf(state: RepoState, pullNumber: number): ReviewRecord[] {
    return [...state.reviews.values()].filter((r) => r.pullNumber === pullNumber).sort((a, b) => a.id - b.id);
  }

  private reviewCommentsOf(state: RepoState, pullNumber: number): ReviewCommentRecord[] {
    return [...state.reviewComments.values()].filter((c) => c.pullNumber === pullNumber).sort((a, b) => a.id - b.id);
  }

  private checkOutcome(status: string, conclusion: string | undefined): void {
    if (!CHECK_STATUSES.has(status)) throw new Error(`github-sim: bad check run status ${status}`);
    if (conclusion !== undefined && !CHECK_CONCLUSIONS.has(conclusion)) {
      throw new Error(`github-sim: bad check run conclusion ${conclusion}`);
    }
    // GitHub's own rule: a conclusion if and only if completed.
    if ((status === 'completed') !== (conclusion !== undefined)) {
      throw new Error('github-sim: a check run has a conclusion exactly when its status is completed');
    }
  }

  /** The branch whose tip is `sha` (a non-default one first), or null. */
  private async branchAt(state: RepoState, sha: string): Promise<string | null> {
    const out = await tryGit(['for-each-ref', '--points-at', sha, '--format=%(refname:short)', 'refs/heads/'], {
      cwd: state.repo.bareDir,
      env: gitEnv(this.root),
    });
    const branches = (out?.toString() ?? '').split('\n').filter((b) => b !== '');
    return branches.find((b) => b !== state.repo.defaultBranch) ?? branches[0] ?? null;
  }

  /** Open PRs with fresh head shas, for the `pull_requests` of check runs, suites and workflow runs. */
  private async openPullRefs(state: RepoState): Promise<Array<{ issue: IssueState; head: string; base: string }>> {
    const refs: Array<{ issue: IssueState; head: string; base: string }> = [];
    for (const issue of state.issues.values()) {
      if (!issue.pull || issue.state !== 'open') continue;
      const base = await this.refSha(state, issue.pull.base);
      if (!base) continue;
      issue.pull.headSha = (await this.pullHeadSha(state, issue)) ?? issue.pull.headSha;
      refs.push({ issue, head: issue.pull.headSha, base });
    }
    return refs;
  }

  /** A branch, tag, full or abbreviated sha, or refs/… name to a commit sha; full shas pass as is. */
  private async resolveCommit(state: RepoState, ref: string): Promise<string | null> {
    if (ref === '' || ref.startsWith('-')) return null;
    // Check runs and statuses may be reported for shas the sim's git never saw (tests make them up).
    if (/^[0-9a-f]{40}$/i.test(ref)) return ref.toLowerCase();
    const candidates = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
    if (/^[0-9a-f]{4,39}$/i.test(ref)) candidates.push(ref);
    for (const candidate of candidates) {
      const out = await tryGit(['rev-parse', '--verify', '-q', `${candidate}^{commit}`], {
        cwd: state.repo.bareDir,
        env: gitEnv(this.root),
      });
      if (out) return out.toString().trim();
    }
    return null;
  }

  private async commitOr422(state: RepoState, ref: string): Promise<string> {
    const sha = await this.resolveCommit(state, ref);
    if (!sha) throw new ApiError(422, `No commit found for SHA: ${ref}`);
    return sha;
  }

  /** `git log` over `revs` (already-resolved shas or ranges), parsed. */
  private async commitInfos(state: RepoState, revs: string[], extra: string[] = []): Promise<CommitInfo[]> {
    const format = ['%H', '%T', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%B'].join('%x1f');
    const out = await tryGit(['log', `--format=${format}%x1e`, ...extra, ...revs, '--'], {
      cwd: state.repo.bareDir,
      env: gitEnv(this.root),
    });
    if (!out) return [];
    return out
      .toString('utf8')
      .split('\x1e')
      .map((record) => record.replace(/^\n/, ''))
      .filter((record) => record !== '')
      .map((record) => {
        const [sha = '', tree = '', parents = '', an = '', ae = '', ad = '', cn = '', ce = '', cd = '', message = ''] =
          record.split('\x1f');
        return {
          sha,
          tree,
          parents: parents.split(' ').filter((p) => p !== ''),
          authorName: an,
          authorEmail: ae,
          authorDate: isoFromGit(ad),
          committerName: cn,
          committerEmail: ce,
          committerDate: isoFromGit(cd),
          message: message.replace(/\n+$/, ''),
        };
      });
  }

  private async headCommitJson(state: RepoState, sha: string): Promise<Record<string, unknown> | null> {
    const [info] = /^[0-9a-f]{40}$/.test(sha) ? await this.commitInfos(state, [sha], ['-1']) : [];
    if (!info) return null;
    return {
      id: info.sha,
      tree_id: info.tree,
      message: info.message,
      timestamp: info.committerDate,
      author: { name: info.authorName, email: info.authorEmail },
      committer: { name: info.committerName, email: info.committerEmail },
    };
  }

  private findJob(jobId: number): { state: RepoState; record: CheckRunRecord & { job: JobRecord } } | undefined {
    for (const state of this.repos.values()) {
      const record = state.checkRuns.get(jobId);
      if (record?.job) return { state, record: record as CheckRunRecord & { job: JobRecord } };
    }
    return undefined;
  }

  /** The unauthenticated, "pre-signed" URL that `GET …/actions/jobs/:id/logs` redirects to. */
  private jobLogUrl(state: RepoState, record: CheckRunRecord & { job: JobRecord }): string {
    return `${this.url}/_sim/actions-logs/${state.repo.owner}/${state.repo.name}/jobs/${record.id}?sig=${record.job.logKey}`;
  }

  private async serveJobLog(req: IncomingMessage, res: ServerResponse, url: URL, auth: PresentedAuth, jobId: string): Promise<void> {
    await readBody(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const found = this.findJob(Number(jobId));
    let status = 200;
    let text = found?.record.job.log ?? '';
    if (method !== 'GET' || !found) {
      status = 404;
      text = 'The specified blob does not exist.\n';
    } else if (url.searchParams.get('sig') !== found.record.job.logKey) {
      // Like an expired or tampered pre-signed URL.
      status = 403;
      text = 'Server failed to authenticate the request.\n';
    }
    this.requests.push({
      method,
      path: decodedPath(url),
      query: Object.fromEntries(url.searchParams),
      status,
      body: undefined,
      auth: auth.kind,
    });
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text);
  }

  private findPullByNodeId(id: unknown): { state: RepoState; issue: IssueState & { pull: PullState } } {
    if (typeof id === 'string') {
      for (const state of this.repos.values()) {
        for (const issue of state.issues.values()) {
          if (issue.pull && nodeId('PR', issue.id) === id) return { state, issue: issue as IssueState & { pull: PullState } };
        }
      }
    }
    throw new GqlError(`Could not resolve to a node with the global id of '${String(id)}'`, { type: 'NOT_FOUND' });
  }

  private async pullRequestNode(state: RepoState, issue: IssueState & { pull: PullState }): Promise<GqlObject> {
    const { head } = await this.pullShas(state, issue);
    return {
      id: nodeId('PR', issue.id),
      databaseId: issue.id,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      url: `${state.repo.htmlUrl}/pull/${issue.number}`,
      permalink: `${state.repo.htmlUrl}/pull/${issue.number}`,
      isDraft: issue.pull.draft,
      state: issue.state === 'open' ? 'OPEN' : 'CLOSED',
      closed: issue.state === 'closed',
      merged: false,
      headRefName: issue.pull.head,
      headRefOid: head,
      baseRefName: issue.pull.base,
      updatedAt: issue.updatedAt,
    };
  }

  /** The root of queries and mutations alike (graphql-js picks the fields of the operation's type). */
  private graphqlRoot(): GqlObject {
    const setDraft = (draft: boolean): GqlResolver => async (args) => {
      const input = args.input && typeof args.input === 'object' ? (args.input as Record<string, unknown>) : {};
      const { state, issue } = this.findPullByNodeId(input.pullRequestId);
      if (issue.state !== 'open') throw new GqlError('Pull request is closed', { type: 'UNPROCESSABLE' });
      if (issue.pull.draft !== draft) {
        issue.pull.draft = draft;
        issue.updatedAt = isoNow();
      }
      return {
        clientMutationId: typeof input.clientMutationId === 'string' ? input.clientMutationId : null,
        pullRequest: await this.pullRequestNode(state, issue),
      };
    };
    return {
      markPullRequestReadyForReview: setDraft(false),
      convertPullRequestToDraft: setDraft(true),
      repository: (args: Record<string, unknown>) => {
        const state = this.findRepo(String(args.owner), String(args.name));
        if (!state) {
          throw new GqlError(`Could not resolve to a Repository with the name '${String(args.owner)}/${String(args.name)}'.`, {
            type: 'NOT_FOUND',
          });
        }
        return {
          id: nodeId('R', state.repo.id),
          databaseId: state.repo.id,
          name: state.repo.name,
          nameWithOwner: state.repo.fullName,
          url: state.repo.htmlUrl,
          pullRequest: async (prArgs: Record<string, unknown>) => {
            const issue = state.issues.get(Number(prArgs.number));
            if (!issue?.pull) {
              throw new GqlError(`Could not resolve to a PullRequest with the number of ${String(prArgs.number)}.`, {
                type: 'NOT_FOUND',
              });
            }
            return this.pullRequestNode(state, issue as IssueState & { pull: PullState });
          },
        };
      },
    };
  }

  /** POST /api/graphql: where octokit.graphql goes when baseUrl ends in /api/v3 (GHES layout). */
  private async handleGraphql(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    query: Record<string, string>,
    auth: PresentedAuth,
  ): Promise<void> {
    const text = (await readBody(req)).toString('utf8');
    let body: unknown;
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const reply = await this.graphqlReply(method, body, auth);
    this.requests.push({ method, path: decodedPath(url), query, status: reply.status, body, auth: auth.kind });
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
    res.end(JSON.stringify(reply.json));
  }

  private async graphqlReply(method: string, body: unknown, auth: PresentedAuth): Promise<Reply> {
    if (method !== 'POST') return { status: 404, json: new ApiError(404).body };
    if (auth.kind === 'none') {
      return { status: 401, json: { message: 'This endpoint requires you to be authenticated.', documentation_url: DOCS } };
    }
    if (auth.kind !== 'installation' || !this.tokenValid(auth.credential)) {
      return { status: 401, json: { message: 'Bad credentials', documentation_url: DOCS } };
    }
    const fault = this.takeFault(method, '/api/graphql');
    if (fault) {
      return { status: fault.status, json: new ApiError(fault.status, fault.options.message).body, headers: fault.options.headers };
    }
    const request = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    return { status: 200, json: await answerGraphql(request, this.graphqlRoot()) };
  }

  // ---- helpers for handlers ----

  /** `{reviewers, team_reviewers}` of the review-request endpoints; at least one name is required. */
  private reviewRequestBody(body: unknown): { reviewers: string[]; teams: string[] } {
    const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const names = (value: unknown, field: string): string[] => {
      if (value === undefined) return [];
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
        throw validationFailed([{ resource: 'PullRequest', field, code: 'invalid' }]);
      }
      return value as string[];
    };
    const reviewers = names(b.reviewers, 'reviewers');
    const teams = names(b.team_reviewers, 'team_reviewers');
    if (reviewers.length === 0 && teams.length === 0) {
      throw validationFailed([{ resource: 'PullRequest', field: 'reviewers', code: 'missing_field' }]);
    }
    return { reviewers, teams };
  }

  private repoOr404(owner: string, name: string): RepoState {
    const state = this.findRepo(owner, name);
    if (!state) throw new ApiError(404);
    return state;
  }

  private issueOr404(state: RepoState, number: string): IssueState {
    const issue = state.issues.get(Number(number));
    if (!issue) throw new ApiError(404);
    return issue;
  }

  private commentOr404(state: RepoState, id: string): CommentState {
    const c = state.comments.get(Number(id));
    if (!c) throw new ApiError(404);
    return c;
  }

  private paginate<T>(ctx: Ctx, items: T[]): { items: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number.parseInt(ctx.query.per_page ?? '', 10) || 30));
    const page = Math.max(1, Number.parseInt(ctx.query.page ?? '', 10) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string): string => {
      const params = new URLSearchParams({ ...ctx.query, per_page: String(perPage), page: String(p) });
      return `<${this.apiUrl}${ctx.path}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(Math.min(page - 1, last), 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return {
      items: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  private addReaction(ctx: Ctx, reactions: Reaction[]): Reply {
    const content = (ctx.body as { content?: unknown } | undefined)?.content;
    if (typeof content !== 'string' || !REACTIONS.has(content)) {
      throw validationFailed([{ resource: 'Reaction', code: 'invalid', field: 'content' }]);
    }
    const existing = reactions.find((r) => r.content === content && r.user.login === ctx.actor.login);
    if (existing) return { status: 200, json: this.reactionJson(existing) };
    const reaction: Reaction = { id: this.nextId(), content, user: ctx.actor, createdAt: isoNow() };
    reactions.push(reaction);
    return { status: 201, json: this.reactionJson(reaction) };
  }

  private listReactions(ctx: Ctx, reactions: Reaction[]): Reply {
    const filtered = ctx.query.content ? reactions.filter((r) => r.content === ctx.query.content) : reactions;
    const { items, headers } = this.paginate(ctx, filtered);
    return { status: 200, json: items.map((r) => this.reactionJson(r)), headers };
  }

  private async contents(ctx: Ctx, state: RepoState, rawPath: string): Promise<Reply> {
    const path = rawPath.replace(/^\/+|\/+$/g, '');
    const ref = ctx.query.ref ?? state.repo.defaultBranch;
    if (ref.startsWith('-') || ref === '' || path.includes('\0')) throw new ApiError(404);
    const env = gitEnv(this.root);
    const cwd = state.repo.bareDir;
    const spec = `${ref}:${path}`;
    const type = (await tryGit(['cat-file', '-t', spec], { cwd, env }))?.toString().trim();
    const api = this.repoApi(state);
    const entryJson = (type: string, entryPath: string, sha: string, size: number): Record<string, unknown> => {
      const self = `${api}/contents/${entryPath}?ref=${encodeURIComponent(ref)}`;
      const html = `${state.repo.htmlUrl}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${entryPath}`;
      const gitUrl = `${api}/git/${type === 'dir' ? 'trees' : 'blobs'}/${sha}`;
      return {
        type,
        name: entryPath.split('/').pop() ?? entryPath,
        path: entryPath,
        sha,
        size,
        url: self,
        html_url: html,
        git_url: gitUrl,
        download_url: type === 'file' ? `${state.repo.htmlUrl}/raw/${ref}/${entryPath}` : null,
        _links: { self, git: gitUrl, html },
      };
    };
    if (type === 'tree') {
      const listing = (await git(['ls-tree', '-l', spec], { cwd, env })).toString();
      const entries = listing
        .split('\n')
        .filter((l) => l !== '')
        .map((line) => {
          const [meta = '', name = ''] = line.split('\t');
          const [mode = '', objType = '', sha = '', size = ''] = meta.split(/\s+/);
          const kind =
            objType === 'tree' ? 'dir' : objType === 'commit' ? 'submodule' : mode === '120000' ? 'symlink' : 'file';
          return entryJson(kind, path ? `${path}/${name}` : name, sha, Number.parseInt(size, 10) || 0);
        });
      // A directory answers JSON even when raw was asked for; the config plugin relies on that.
      return { status: 200, json: entries };
    }
    if (type !== 'blob') throw new ApiError(404);
    const content = await git(['cat-file', 'blob', spec], { cwd, env });
    const accept = String(ctx.headers.accept ?? '');
    if (accept.includes('application/vnd.github.v3.raw') || accept.includes('application/vnd.github.raw')) {
      return { status: 200, raw: content, contentType: 'text/plain; charset=utf-8' };
    }
    const sha = (await git(['rev-parse', spec], { cwd, env })).toString().trim();
    // GitHub wraps the base64 at 60 columns.
    const b64 = content.toString('base64').replace(/.{60}/g, '$&\n');
    return {
      status: 200,
      json: { ...entryJson('file', path, sha, content.length), encoding: 'base64', content: b64 },
    };
  }

  private async createPull(ctx: Ctx, state: RepoState): Promise<Reply> {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const missing = (field: string): ApiError =>
      validationFailed([{ resource: 'PullRequest', code: 'missing_field', field }]);
    if (typeof body.title !== 'string' || body.title === '') throw missing('title');
    if (typeof body.head !== 'string' || body.head === '') throw missing('head');
    if (typeof body.base !== 'string' || body.base === '') throw missing('base');
    const headParam = body.head;
    const base = body.base;
    let head = headParam;
    const colon = headParam.indexOf(':');
    if (colon >= 0) {
      // Forks are not simulated: the head must live in this repo.
      if (headParam.slice(0, colon).toLowerCase() !== state.repo.owner.toLowerCase()) {
        throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      }
      head = headParam.slice(colon + 1);
    }
    const headSha = await this.refSha(state, head);
    if (!headSha) throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
    const baseSha = await this.refSha(state, base);
    if (!baseSha) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    this.assertNoOpenDuplicate(state, head, base, undefined);
    const ahead = await tryGit(['rev-list', '--count', `${baseSha}..${headSha}`], {
      cwd: state.repo.bareDir,
      env: gitEnv(this.root),
    });
    if (!ahead || ahead.toString().trim() === '0') {
      throw validationFailed([
        { resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${headParam}` },
      ]);
    }
    const now = isoNow();
    const number = state.nextNumber++;
    const issue: IssueState = {
      id: this.nextId(),
      number,
      title: body.title,
      body: typeof body.body === 'string' ? body.body : '',
      user: ctx.actor,
      labels: [],
      state: 'open',
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      reactions: [],
      commentIds: [],
      pull: { head, base, draft: body.draft === true, headSha, requestedReviewers: [], requestedTeams: [] },
    };
    state.issues.set(number, issue);
    const json = await this.pullJson(state, issue, true);
    return { status: 201, json, headers: { location: String(json.url) } };
  }

  /** GitHub allows one open PR per head/base pair. */
  private assertNoOpenDuplicate(state: RepoState, head: string, base: string, except: number | undefined, headRepoKey?: string): void {
    const dup = [...state.issues.values()].find(
      (i) => i.pull && i.state === 'open' && i.number !== except && i.pull.head === head && i.pull.base === base && i.pull.headRepo?.key === headRepoKey,
    );
    if (dup) {
      throw validationFailed([
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for ${state.repo.owner}:${head}.`,
        },
      ]);
    }
  }

  private buildRoutes(): Route[] {
    const route = (method: string, pattern: string, handler: Handler, auth: 'jwt' | 'installation' = 'installation'): Route => ({
      method,
      pattern: new RegExp(pattern),
      auth,
      handler,
    });
    const obj = (body: unknown): Record<string, unknown> =>
      body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};

    return [
      // -- app (JWT) --
      route('GET', '^/app$', () => ({ status: 200, json: this.appJson() }), 'jwt'),
      route('GET', '^/app/installations$', (ctx) => {
        const { items, headers } = this.paginate(ctx, [...this.installations]);
        return { status: 200, json: items.map((id) => this.installationJson(id)), headers };
      }, 'jwt'),
      route(
        'GET',
        '^/app/installations/(\\d+)$',
        (_ctx, [id]) => {
          if (!this.installations.has(Number(id))) throw new ApiError(404);
          return { status: 200, json: this.installationJson(Number(id)) };
        },
        'jwt',
      ),
      route(
        'POST',
        '^/app/installations/(\\d+)/access_tokens$',
        (ctx, [id]) => {
          if (!this.installations.has(Number(id))) throw new ApiError(404);
          const token = this.mintToken();
          const expiresAt = this.tokens.get(token)?.expiresAt ?? Date.now();
          const requested = obj(ctx.body).permissions;
          return {
            status: 201,
            json: {
              token,
              expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
              permissions: requested && typeof requested === 'object' ? requested : TOKEN_PERMISSIONS,
              repository_selection: 'all',
            },
          };
        },
        'jwt',
      ),
      route('GET', '^/app/hook/deliveries$', (ctx) => this.listDeliveries(ctx), 'jwt'),
      route(
        'GET',
        '^/app/hook/deliveries/(\\d+)$',
        (_ctx, [id = '']) => ({ status: 200, json: this.deliveryDetailJson(this.deliveryOr404(id)) }),
        'jwt',
      ),
      route(
        'POST',
        '^/app/hook/deliveries/(\\d+)/attempts$',
        (_ctx, [id = '']) => {
          const original = this.deliveryOr404(id);
          if (!this.webhook) throw new ApiError(404);
          // GitHub answers 202 first and redelivers later; the next turn is after the reply is written.
          this.track(
            (async () => {
              await nextTurn();
              if (this.closing.signal.aborted) return;
              await this.sendWebhook(original.event, original.guid, original.body, true);
            })().catch((err: unknown) => {
              // Nobody awaits a redelivery, so its failure surfaces from deliveriesSettled().
              this.deliveryError ??= err instanceof Error ? err : new Error(String(err));
            }),
          );
          return { status: 202, json: {} };
        },
        'jwt',
      ),
      route(
        'GET',
        `${REPO}/installation$`,
        (_ctx, [owner = '', name = '']) => {
          this.repoOr404(owner, name);
          return { status: 200, json: this.installationJson() };
        },
        'jwt',
      ),

      // -- installation --
      route('DELETE', '^/installation/token$', (ctx) => {
        const t = this.tokens.get(ctx.token);
        if (t) t.revoked = true;
        return { status: 204 };
      }),
      route('GET', '^/installation/repositories$', (ctx) => {
        const all = [...this.repos.values()];
        const { items, headers } = this.paginate(ctx, all);
        return {
          status: 200,
          json: { total_count: all.length, repository_selection: 'all', repositories: items.map((s) => this.repoJson(s)) },
          headers,
        };
      }),

      // -- users: the app's bot, and anyone the simulator has shown --
      route('GET', `^/users/${SEG}$`, (_ctx, [login = '']) => {
        const bot = login.toLowerCase() === this.botLogin.toLowerCase();
        if (!bot && !this.userIds.has(login.toLowerCase())) throw new ApiError(404);
        const user = this.userJson(bot ? this.botLogin : login, bot ? 'Bot' : 'User');
        // The public profile's fields, as GitHub shows them for a user who filled in nothing.
        const profile = { name: null, company: null, blog: '', location: null, email: null, hireable: null, bio: null, public_repos: 0, public_gists: 0, followers: 0, following: 0, created_at: this.startedAt, updated_at: this.startedAt };
        return { status: 200, json: { ...user, ...profile } };
      }),

      // -- orgs --
      route('GET', `^/orgs/${SEG}/teams/${SEG}/memberships/${SEG}$`, (_ctx, [org = '', slug = '', login = '']) => {
        const state = this.teamMembers.get(`${org}/${slug}/${login}`.toLowerCase());
        if (!state) throw new ApiError(404);
        return {
          status: 200,
          json: { url: `${this.apiUrl}/organizations/1/team/1/memberships/${encodeURIComponent(login)}`, role: 'member', state },
        };
      }),

      // -- repos --
      route('GET', `${REPO}$`, (_ctx, [owner = '', name = '']) => ({
        status: 200,
        // The single-repository endpoint adds the counts GitHub's full repository carries.
        json: { ...this.repoJson(this.repoOr404(owner, name)), subscribers_count: 0, network_count: 0 },
      })),
      route('GET', `${REPO}/collaborators/${SEG}/permission$`, (_ctx, [owner = '', name = '', login = '']) => {
        const state = this.repoOr404(owner, name);
        const role = state.permissions.get(login.toLowerCase()) ?? 'read';
        // The legacy `permission` field folds maintain into write and triage into read.
        const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
        const rank = ['none', 'read', 'triage', 'write', 'maintain', 'admin'].indexOf(role);
        return {
          status: 200,
          json: {
            permission,
            role_name: role,
            user: {
              ...this.userJson(login, 'User'),
              permissions: {
                admin: rank >= 5,
                maintain: rank >= 4,
                push: rank >= 3,
                triage: rank >= 2,
                pull: rank >= 1,
              },
              role_name: role,
            },
          },
        };
      }),
      route('GET', `${REPO}/contents(?:/(.*))?$`, (ctx, [owner = '', name = '', path = '']) =>
        this.contents(ctx, this.repoOr404(owner, name), path),
      ),
      route('GET', `${REPO}/branches/(.+)$`, async (_ctx, [owner = '', name = '', branch = '']) => {
        const state = this.repoOr404(owner, name);
        const sha = await this.refSha(state, branch);
        if (!sha) throw new ApiError(404, 'Branch not found');
        const api = this.repoApi(state);
        return {
          status: 200,
          json: {
            name: branch,
            commit: { sha, node_id: nodeId('C', this.nextId()), url: `${api}/commits/${sha}` },
            _links: { self: `${api}/branches/${encodeURIComponent(branch)}`, html: `${state.repo.htmlUrl}/tree/${branch}` },
            protected: false,
            protection_url: `${api}/branches/${encodeURIComponent(branch)}/protection`,
          },
        };
      }),

      // -- issue comments by id (before issues/:n so "comments" is never read as a number) --
      route('GET', `${REPO}/issues/comments/(\\d+)$`, (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        return { status: 200, json: this.commentJson(state, this.commentOr404(state, id)) };
      }),
      route('PATCH', `${REPO}/issues/comments/(\\d+)$`, (ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const c = this.commentOr404(state, id);
        const body = obj(ctx.body).body;
        if (typeof body !== 'string') {
          throw validationFailed([{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
        }
        c.body = body;
        c.updatedAt = isoNow();
        return { status: 200, json: this.commentJson(state, c) };
      }),
      route('GET', `${REPO}/issues/comments/(\\d+)/reactions$`, (ctx, [owner = '', name = '', id = '']) =>
        this.listReactions(ctx, this.commentOr404(this.repoOr404(owner, name), id).reactions),
      ),
      route('POST', `${REPO}/issues/comments/(\\d+)/reactions$`, (ctx, [owner = '', name = '', id = '']) =>
        this.addReaction(ctx, this.commentOr404(this.repoOr404(owner, name), id).reactions),
      ),

      // -- issues --
      route('GET', `${REPO}/issues$`, (ctx, [owner = '', name = '']) => {
        const state = this.repoOr404(owner, name);
        const want = ctx.query.state ?? 'open';
        // Like GitHub: pull requests are issues too, and `labels` names labels all of which an issue carries.
        const labels = (ctx.query.labels ?? '').split(',').map((l) => l.trim().toLowerCase()).filter(Boolean);
        const list = [...state.issues.values()]
          .filter((i) => (want === 'all' || i.state === want) && labels.every((l) => i.labels.some((have) => have.toLowerCase() === l)))
          .sort((a, b) => b.number - a.number);
        const { items, headers } = this.paginate(ctx, list);
        return { status: 200, json: items.map((i) => this.issueJson(state, i)), headers };
      }),
      route('GET', `${REPO}/issues/(\\d+)$`, (_ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        return { status: 200, json: this.issueJson(state, this.issueOr404(state, n)) };
      }),
      route('PATCH', `${REPO}/issues/(\\d+)$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        const b = obj(ctx.body);
        if (typeof b.title === 'string') issue.title = b.title;
        if (typeof b.body === 'string') issue.body = b.body;
        if (Array.isArray(b.labels)) issue.labels = b.labels.map((l) => (typeof l === 'string' ? l : String(obj(l).name)));
        if (b.state === 'open' || b.state === 'closed') {
          issue.closedAt = b.state === 'closed' ? (issue.state === 'closed' ? issue.closedAt : isoNow()) : null;
          issue.state = b.state;
        }
        issue.updatedAt = isoNow();
        return { status: 200, json: this.issueJson(state, issue) };
      }),
      route('GET', `${REPO}/issues/(\\d+)/comments$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        const all = issue.commentIds.flatMap((id) => {
          const c = state.comments.get(id);
          return c ? [c] : [];
        });
        const { items, headers } = this.paginate(ctx, all);
        return { status: 200, json: items.map((c) => this.commentJson(state, c)), headers };
      }),
      route('POST', `${REPO}/issues/(\\d+)/comments$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        const body = obj(ctx.body).body;
        if (typeof body !== 'string' || body === '') {
          throw validationFailed([{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
        }
        const now = isoNow();
        const c: CommentState = {
          id: this.nextId(),
          issueNumber: issue.number,
          body,
          user: ctx.actor,
          createdAt: now,
          updatedAt: now,
          reactions: [],
        };
        state.comments.set(c.id, c);
        issue.commentIds.push(c.id);
        issue.updatedAt = now;
        const json = this.commentJson(state, c);
        return { status: 201, json, headers: { location: String(json.url) } };
      }),
      route('GET', `${REPO}/issues/(\\d+)/reactions$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        return this.listReactions(ctx, this.issueOr404(state, n).reactions);
      }),
      route('POST', `${REPO}/issues/(\\d+)/reactions$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        return this.addReaction(ctx, this.issueOr404(state, n).reactions);
      }),
      route('POST', `${REPO}/issues/(\\d+)/labels$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        // Both `{labels: [...]}` and a bare array are accepted, names or {name} objects.
        const list: unknown = Array.isArray(ctx.body) ? ctx.body : obj(ctx.body).labels;
        if (!Array.isArray(list)) {
          throw validationFailed([{ resource: 'Label', code: 'missing_field', field: 'labels' }]);
        }
        for (const item of list) {
          const label = typeof item === 'string' ? item : obj(item).name;
          if (typeof label !== 'string' || label === '') {
            throw validationFailed([{ resource: 'Label', code: 'invalid', field: 'name' }]);
          }
          if (!issue.labels.some((l) => l.toLowerCase() === label.toLowerCase())) issue.labels.push(label);
        }
        issue.updatedAt = isoNow();
        return { status: 200, json: issue.labels.map((l) => this.labelJson(state, l)) };
      }),
      route('DELETE', `${REPO}/issues/(\\d+)/labels/(.+)$`, (_ctx, [owner = '', name = '', n = '', label = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        const index = issue.labels.findIndex((l) => l.toLowerCase() === label.toLowerCase());
        if (index < 0) throw new ApiError(404, 'Label does not exist');
        issue.labels.splice(index, 1);
        issue.updatedAt = isoNow();
        return { status: 200, json: issue.labels.map((l) => this.labelJson(state, l)) };
      }),

      // -- pulls --
      route('GET', `${REPO}/pulls$`, async (ctx, [owner = '', name = '']) => {
        const state = this.repoOr404(owner, name);
        const want = ctx.query.state ?? 'open';
        let list = [...state.issues.values()].filter((i) => i.pull && (want === 'all' || i.state === want));
        const headFilter = ctx.query.head;
        // Like GitHub, `head` only filters in `owner:branch` form; a bare branch name is ignored.
        if (headFilter && headFilter.includes(':')) {
          const colon = headFilter.indexOf(':');
          const headOwner = headFilter.slice(0, colon).toLowerCase();
          const branch = headFilter.slice(colon + 1);
          list = list.filter((i) => headOwner === (i.pull?.headRepo?.owner ?? state.repo.owner).toLowerCase() && i.pull?.head === branch);
        }
        if (ctx.query.base) list = list.filter((i) => i.pull?.base === ctx.query.base);
        const asc = ctx.query.direction === 'asc';
        list.sort((a, b) => (asc ? a.number - b.number : b.number - a.number));
        const { items, headers } = this.paginate(ctx, list);
        const json = [];
        for (const i of items) json.push(await this.pullJson(state, i, false));
        return { status: 200, json, headers };
      }),
      route('POST', `${REPO}/pulls$`, (ctx, [owner = '', name = '']) => this.createPull(ctx, this.repoOr404(owner, name))),
      route('GET', `${REPO}/pulls/(\\d+)$`, async (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        if (!issue.pull) throw new ApiError(404);
        // octokit's mediaType {format: 'diff' | 'patch'} asks for application/vnd.github.v3.diff etc.
        const format = /application\/vnd\.github(?:\.v3)?\.(diff|patch)/.exec(String(ctx.headers.accept ?? ''))?.[1];
        if (format) {
          const { head, base } = await this.pullShas(state, issue);
          const env = gitEnv(this.root);
          const cwd = state.repo.bareDir;
          const text =
            format === 'diff'
              ? await git(['diff', '--no-color', '--no-ext-diff', '-M', `${base}...${head}`], { cwd, env })
              : await git(['format-patch', '--stdout', '--no-color', `${base}..${head}`], { cwd, env });
          return {
            status: 200,
            raw: text,
            contentType: `application/vnd.github.${format}; charset=utf-8`,
            headers: { 'x-github-media-type': `github.v3; param=${format}` },
          };
        }
        return { status: 200, json: await this.pullJson(state, issue, true) };
      }),
      route('PATCH', `${REPO}/pulls/(\\d+)$`, async (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.issueOr404(state, n);
        const pull = issue.pull;
        if (!pull) throw new ApiError(404);
        const b = obj(ctx.body);
        // `draft` is not settable through REST on GitHub (GraphQL only), so it is ignored here.
        if (typeof b.base === 'string' && b.base !== pull.base) {
          if (!(await this.refSha(state, b.base))) {
            throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
          }
          if (issue.state === 'open') this.assertNoOpenDuplicate(state, pull.head, b.base, issue.number, pull.headRepo?.key);
          pull.base = b.base;
        }
        if (b.state === 'open' && issue.state === 'closed') {
          this.assertNoOpenDuplicate(state, pull.head, pull.base, issue.number, pull.headRepo?.key);
          issue.state = 'open';
          issue.closedAt = null;
        } else if (b.state === 'closed' && issue.state === 'open') {
          issue.state = 'closed';
          issue.closedAt = isoNow();
        }
        if (typeof b.title === 'string') issue.title = b.title;
        if (typeof b.body === 'string') issue.body = b.body;
        issue.updatedAt = isoNow();
        return { status: 200, json: await this.pullJson(state, issue, true) };
      }),
      // -- pull request reviews and review comments --
      route('GET', `${REPO}/pulls/(\\d+)/reviews$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const { items, headers } = this.paginate(ctx, this.reviewsOf(state, issue.number));
        return { status: 200, json: items.map((r) => this.reviewJson(state, r)), headers };
      }),
      route('GET', `${REPO}/pulls/(\\d+)/reviews/(\\d+)$`, (_ctx, [owner = '', name = '', n = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const review = state.reviews.get(Number(id));
        if (!review || review.pullNumber !== issue.number) throw new ApiError(404);
        return { status: 200, json: this.reviewJson(state, review) };
      }),
      route('GET', `${REPO}/pulls/(\\d+)/reviews/(\\d+)/comments$`, (ctx, [owner = '', name = '', n = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const review = state.reviews.get(Number(id));
        if (!review || review.pullNumber !== issue.number) throw new ApiError(404);
        const comments = this.reviewCommentsOf(state, issue.number).filter((c) => c.reviewId === review.id);
        const { items, headers } = this.paginate(ctx, comments);
        return { status: 200, json: items.map((c) => this.reviewCommentJson(state, c)), headers };
      }),
      route('GET', `${REPO}/pulls/(\\d+)/comments$`, (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        let comments = this.reviewCommentsOf(state, issue.number);
        const since = ctx.query.since;
        if (since) comments = comments.filter((c) => c.updatedAt >= since);
        if (ctx.query.sort === 'updated') comments.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id);
        // GitHub ignores `direction` without `sort`.
        if (ctx.query.sort && ctx.query.direction === 'desc') comments.reverse();
        const { items, headers } = this.paginate(ctx, comments);
        return { status: 200, json: items.map((c) => this.reviewCommentJson(state, c)), headers };
      }),
      route('GET', `${REPO}/pulls/comments/(\\d+)$`, (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const c = state.reviewComments.get(Number(id));
        if (!c) throw new ApiError(404);
        return { status: 200, json: this.reviewCommentJson(state, c) };
      }),
      route('GET', `${REPO}/pulls/comments/(\\d+)/reactions$`, (ctx, [owner = '', name = '', id = '']) => {
        const c = this.repoOr404(owner, name).reviewComments.get(Number(id));
        if (!c) throw new ApiError(404);
        return this.listReactions(ctx, c.reactions);
      }),
      route('POST', `${REPO}/pulls/comments/(\\d+)/reactions$`, (ctx, [owner = '', name = '', id = '']) => {
        const c = this.repoOr404(owner, name).reviewComments.get(Number(id));
        if (!c) throw new ApiError(404);
        return this.addReaction(ctx, c.reactions);
      }),
      route('POST', `${REPO}/pulls/(\\d+)/comments/(\\d+)/replies$`, (ctx, [owner = '', name = '', n = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const parent = state.reviewComments.get(Number(id));
        if (!parent || parent.pullNumber !== issue.number) throw new ApiError(404);
        const body = obj(ctx.body).body;
        if (typeof body !== 'string' || body === '') {
          throw validationFailed([{ resource: 'PullRequestReviewComment', code: 'missing_field', field: 'body' }]);
        }
        const json = this.reviewCommentJson(state, this.storeReply(state, issue, parent, ctx.actor, body));
        return { status: 201, json, headers: { location: json.url } };
      }),

      // -- review requests --
      route('GET', `${REPO}/pulls/(\\d+)/requested_reviewers$`, (_ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const { pull } = this.pullOr404(state, n);
        return {
          status: 200,
          json: {
            users: pull.requestedReviewers.map((login) => this.userJson(login, 'User')),
            teams: pull.requestedTeams.map((slug) => this.teamJson(state, slug)),
          },
        };
      }),
      route('POST', `${REPO}/pulls/(\\d+)/requested_reviewers$`, async (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const { reviewers, teams } = this.reviewRequestBody(ctx.body);
        if (reviewers.some((login) => login.toLowerCase() === issue.user.login.toLowerCase())) {
          throw new ApiError(422, 'Review cannot be requested from pull request author.');
        }
        if (teams.length > 0 && state.ownerType !== 'Organization') {
          throw validationFailed([{ resource: 'PullRequest', field: 'team_reviewers', code: 'invalid' }]);
        }
        const pull = issue.pull;
        for (const login of reviewers) {
          if (!pull.requestedReviewers.some((l) => l.toLowerCase() === login.toLowerCase())) pull.requestedReviewers.push(login);
        }
        for (const slug of teams) {
          if (!pull.requestedTeams.some((t) => t.toLowerCase() === slug.toLowerCase())) pull.requestedTeams.push(slug);
        }
        issue.updatedAt = isoNow();
        return { status: 201, json: await this.pullJson(state, issue, false) };
      }),
      route('DELETE', `${REPO}/pulls/(\\d+)/requested_reviewers$`, async (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const { reviewers, teams } = this.reviewRequestBody(ctx.body);
        const drop = (list: string[], names: string[]): string[] =>
          list.filter((item) => !names.some((nm) => nm.toLowerCase() === item.toLowerCase()));
        issue.pull.requestedReviewers = drop(issue.pull.requestedReviewers, reviewers);
        issue.pull.requestedTeams = drop(issue.pull.requestedTeams, teams);
        issue.updatedAt = isoNow();
        return { status: 200, json: await this.pullJson(state, issue, false) };
      }),

      // -- diffs --
      route('GET', `${REPO}/pulls/(\\d+)/files$`, async (ctx, [owner = '', name = '', n = '']) => {
        const state = this.repoOr404(owner, name);
        const issue = this.pullOr404(state, n);
        const { head, base } = await this.pullShas(state, issue);
        const { items, headers } = this.paginate(ctx, await this.diffFiles(state, base, head));
        return { status: 200, json: items.map((f) => this.fileJson(state, head, f)), headers };
      }),
      route('GET', `${REPO}/compare/(.+)$`, async (ctx, [owner = '', name = '', basehead = '']) => {
        const state = this.repoOr404(owner, name);
        const dots = basehead.indexOf('...');
        if (dots < 0) throw new ApiError(404);
        const side = async (spec: string): Promise<string> => {
          // `owner:ref` names a fork's branch; forks are not simulated, so only this repo's owner.
          const colon = spec.indexOf(':');
          if (colon >= 0 && spec.slice(0, colon).toLowerCase() !== state.repo.owner.toLowerCase()) throw new ApiError(404);
          const sha = await this.resolveCommit(state, colon >= 0 ? spec.slice(colon + 1) : spec);
          if (!sha) throw new ApiError(404);
          return sha;
        };
        const base = await side(basehead.slice(0, dots));
        const head = await side(basehead.slice(dots + 3));
        const env = gitEnv(this.root);
        const cwd = state.repo.bareDir;
        const mergeBase = (await tryGit(['merge-base', base, head], { cwd, env }))?.toString().trim();
        if (!mergeBase) throw new ApiError(404, `No common ancestor between ${basehead.slice(0, dots)} and ${basehead.slice(dots + 3)}.`);
        const count = async (range: string): Promise<number> =>
          Number.parseInt((await git(['rev-list', '--count', range], { cwd, env })).toString(), 10) || 0;
        const aheadBy = await count(`${base}..${head}`);
        const behindBy = await count(`${head}..${base}`);
        const status =
          aheadBy === 0 && behindBy === 0 ? 'identical' : behindBy === 0 ? 'ahead' : aheadBy === 0 ? 'behind' : 'diverged';
        const [baseInfo] = await this.commitInfos(state, [base], ['-1']);
        const [mergeBaseInfo] = await this.commitInfos(state, [mergeBase], ['-1']);
        // GitHub lists at most 250 commits, oldest first.
        const commits = await this.commitInfos(state, [`${base}..${head}`], ['--reverse', '--max-count=250']);
        const api = this.repoApi(state);
        const html = `${state.repo.htmlUrl}/compare/${basehead}`;
        return {
          status: 200,
          json: {
            url: `${api}/compare/${basehead}`,
            html_url: html,
            permalink_url: `${state.repo.htmlUrl}/compare/${state.repo.owner}:${base.slice(0, 7)}...${state.repo.owner}:${head.slice(0, 7)}`,
            diff_url: `${html}.diff`,
            patch_url: `${html}.patch`,
            base_commit: baseInfo ? this.commitJson(state, baseInfo) : null,
            merge_base_commit: mergeBaseInfo ? this.commitJson(state, mergeBaseInfo) : null,
            status,
            ahead_by: aheadBy,
            behind_by: behindBy,
            total_commits: aheadBy,
            commits: commits.map((c) => this.commitJson(state, c)),
            files: (await this.diffFiles(state, base, head)).map((f) => this.fileJson(state, head, f)),
          },
        };
      }),

      // -- checks --
      route('GET', `${REPO}/commits/(.+)/check-runs$`, async (ctx, [owner = '', name = '', ref = '']) => {
        const state = this.repoOr404(owner, name);
        const sha = await this.commitOr422(state, ref);
        let runs = [...state.checkRuns.values()].filter((r) => r.headSha === sha);
        if (ctx.query.filter !== 'all') runs = latestCheckRuns(runs);
        if (ctx.query.check_name) runs = runs.filter((r) => r.name === ctx.query.check_name);
        if (ctx.query.status) runs = runs.filter((r) => r.status === ctx.query.status);
        if (ctx.query.app_id) runs = runs.filter((r) => String(this.checkAppJson(r.app).id) === ctx.query.app_id);
        runs.sort((a, b) => b.id - a.id);
        const { items, headers } = this.paginate(ctx, runs);
        const pulls = await this.openPullRefs(state);
        return {
          status: 200,
          json: { total_count: runs.length, check_runs: items.map((r) => this.checkRunJson(state, r, pulls)) },
          headers,
        };
      }),
      route('GET', `${REPO}/commits/(.+)/check-suites$`, async (ctx, [owner = '', name = '', ref = '']) => {
        const state = this.repoOr404(owner, name);
        const sha = await this.commitOr422(state, ref);
        let suites = [...state.checkSuites.values()].filter((s) => s.headSha === sha).sort((a, b) => a.id - b.id);
        if (ctx.query.app_id) suites = suites.filter((s) => String(this.checkAppJson(s.app).id) === ctx.query.app_id);
        const { items, headers } = this.paginate(ctx, suites);
        const pulls = await this.openPullRefs(state);
        const json = [];
        for (const s of items) json.push(await this.checkSuiteJson(state, s, pulls));
        return { status: 200, json: { total_count: suites.length, check_suites: json }, headers };
      }),
      route('GET', `${REPO}/check-runs/(\\d+)$`, async (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const r = state.checkRuns.get(Number(id));
        if (!r) throw new ApiError(404);
        return { status: 200, json: this.checkRunJson(state, r, await this.openPullRefs(state)) };
      }),
      route('GET', `${REPO}/check-runs/(\\d+)/annotations$`, (ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const r = state.checkRuns.get(Number(id));
        if (!r) throw new ApiError(404);
        const { items, headers } = this.paginate(ctx, r.annotations);
        const json = items.map((a) => ({
          path: a.path,
          blob_href: `${state.repo.htmlUrl}/blob/${r.headSha}/${a.path}`,
          start_line: a.start_line,
          end_line: a.end_line,
          start_column: null,
          end_column: null,
          annotation_level: a.annotation_level,
          title: a.title ?? null,
          message: a.message,
          raw_details: null,
        }));
        return { status: 200, json, headers };
      }),
      route('GET', `${REPO}/check-suites/(\\d+)$`, async (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const s = state.checkSuites.get(Number(id));
        if (!s) throw new ApiError(404);
        return { status: 200, json: await this.checkSuiteJson(state, s, await this.openPullRefs(state)) };
      }),
      route('GET', `${REPO}/check-suites/(\\d+)/check-runs$`, async (ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const s = state.checkSuites.get(Number(id));
        if (!s) throw new ApiError(404);
        let runs = [...state.checkRuns.values()].filter((r) => r.suiteId === s.id);
        if (ctx.query.filter !== 'all') runs = latestCheckRuns(runs);
        if (ctx.query.check_name) runs = runs.filter((r) => r.name === ctx.query.check_name);
        if (ctx.query.status) runs = runs.filter((r) => r.status === ctx.query.status);
        runs.sort((a, b) => b.id - a.id);
        const { items, headers } = this.paginate(ctx, runs);
        const pulls = await this.openPullRefs(state);
        return {
          status: 200,
          json: { total_count: runs.length, check_runs: items.map((r) => this.checkRunJson(state, r, pulls)) },
          headers,
        };
      }),

      // -- commit statuses --
      route('GET', `${REPO}/commits/(.+)/statuses$`, async (ctx, [owner = '', name = '', ref = '']) => {
        const state = this.repoOr404(owner, name);
        const sha = await this.commitOr422(state, ref);
        const list = state.statuses.filter((s) => s.sha === sha).sort((a, b) => b.id - a.id);
        const { items, headers } = this.paginate(ctx, list);
        return { status: 200, json: items.map((s) => this.statusJson(state, s)), headers };
      }),
      route('GET', `${REPO}/commits/(.+)/status$`, async (ctx, [owner = '', name = '', ref = '']) => {
        const state = this.repoOr404(owner, name);
        const sha = await this.commitOr422(state, ref);
        const latest = new Map<string, StatusRecord>();
        for (const s of state.statuses) {
          const seen = latest.get(s.context);
          if (s.sha === sha && (!seen || seen.id < s.id)) latest.set(s.context, s);
        }
        const statuses = [...latest.values()].sort((a, b) => a.id - b.id);
        const states = statuses.map((s) => s.state);
        // GitHub: failure if any context failed or errored, pending if any is pending or none exist.
        const combined =
          states.includes('error') || states.includes('failure')
            ? 'failure'
            : states.length === 0 || states.includes('pending')
              ? 'pending'
              : 'success';
        const { items, headers } = this.paginate(ctx, statuses);
        const api = this.repoApi(state);
        return {
          status: 200,
          json: {
            state: combined,
            statuses: items.map((s) => this.statusJson(state, s)),
            sha,
            total_count: statuses.length,
            repository: this.repoJson(state),
            commit_url: `${api}/commits/${sha}`,
            url: `${api}/commits/${sha}/status`,
          },
          headers,
        };
      }),

      // -- actions --
      route('GET', `${REPO}/actions/runs$`, async (ctx, [owner = '', name = '']) => {
        const state = this.repoOr404(owner, name);
        const pulls = await this.openPullRefs(state);
        let runs = [...state.workflowRuns.values()].sort((a, b) => b.id - a.id);
        if (ctx.query.head_sha) runs = runs.filter((r) => r.headSha === ctx.query.head_sha);
        if (ctx.query.branch) runs = runs.filter((r) => r.headBranch === ctx.query.branch);
        if (ctx.query.event && ctx.query.event !== 'push') runs = [];
        const json = [];
        for (const r of runs) json.push(await this.workflowRunJson(state, r, pulls));
        // `status` matches either the status or the conclusion, as on GitHub.
        const wanted = ctx.query.status;
        const filtered = wanted ? json.filter((r) => r.status === wanted || r.conclusion === wanted) : json;
        const { items, headers } = this.paginate(ctx, filtered);
        return { status: 200, json: { total_count: filtered.length, workflow_runs: items }, headers };
      }),
      route('GET', `${REPO}/actions/runs/(\\d+)$`, async (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const run = state.workflowRuns.get(Number(id));
        if (!run) throw new ApiError(404);
        return { status: 200, json: await this.workflowRunJson(state, run, await this.openPullRefs(state)) };
      }),
      route('GET', `${REPO}/actions/runs/(\\d+)/jobs$`, (ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const run = state.workflowRuns.get(Number(id));
        if (!run) throw new ApiError(404);
        let jobs = run.jobIds.flatMap((jobId) => state.checkRuns.get(jobId) ?? []);
        if (ctx.query.filter !== 'all') jobs = latestCheckRuns(jobs);
        const { items, headers } = this.paginate(ctx, jobs);
        return {
          status: 200,
          json: {
            total_count: jobs.length,
            jobs: items.flatMap((r) => (r.job ? [this.jobJson(state, r as CheckRunRecord & { job: JobRecord })] : [])),
          },
          headers,
        };
      }),
      route('GET', `${REPO}/actions/jobs/(\\d+)$`, (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const r = state.checkRuns.get(Number(id));
        if (!r?.job) throw new ApiError(404);
        return { status: 200, json: this.jobJson(state, r as CheckRunRecord & { job: JobRecord }) };
      }),
      route('GET', `${REPO}/actions/jobs/(\\d+)/logs$`, (_ctx, [owner = '', name = '', id = '']) => {
        const state = this.repoOr404(owner, name);
        const r = state.checkRuns.get(Number(id));
        if (!r?.job) throw new ApiError(404);
        // GitHub answers with a redirect to a short-lived pre-signed URL; clients follow it.
        return {
          status: 302,
          raw: Buffer.alloc(0),
          headers: { location: this.jobLogUrl(state, r as CheckRunRecord & { job: JobRecord }) },
        };
      }),
    ];
  }
}

/** Env that hands git an installation token without putting it in argv or a config file. */
export function gitAuthEnv(token: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

export async function startGitHubSim(options: { appId?: number; installationId?: number } = {}): Promise<GitHubSim> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: string; publicKey: string }>((resolve, reject) => {
    // PKCS#1 PEM, the format GitHub hands out for app keys.
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      },
      (err, pub, priv) => (err ? reject(err) : resolve({ privateKey: priv, publicKey: pub })),
    );
  });
  const root = await mkdtemp(join(tmpdir(), 'github-sim-'));
  const sim = new Sim({
    appId: options.appId ?? 4242,
    installationId: options.installationId ?? 777001,
    privateKey,
    publicKey: createPublicKey(publicKey),
    root,
  });
  try {
    await mkdir(join(root, 'repos'), { recursive: true });
    await sim.listen();
  } catch (err) {
    await sim.close();
    throw err;
  }
  return sim;
}
