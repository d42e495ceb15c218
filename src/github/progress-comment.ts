import type { Octokit } from '@octokit/core';
import type { Redis } from 'ioredis';

// One progress comment per task, edited as the task moves. Its id lives in Redis so the app's
// acknowledgement and the worker (or a worker that restarted) find the same comment; a claim
// with SET NX keeps two writers from both creating one.
const PENDING = 'pending';
const CLAIM_TTL_SECONDS = 60;
const ID_TTL_SECONDS = 30 * 24 * 3600;

export interface ProgressTarget {
  owner: string;
  repo: string;
  issueNumber: number;
}

export interface ProgressCommentStore {
  redis: Redis;
  key: string;
}

async function createComment(octokit: Octokit, target: ProgressTarget, body: string): Promise<number> {
  const { data } = await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
    owner: target.owner,
    repo: target.repo,
    issue_number: target.issueNumber,
    body,
  });
  return Number(data.id);
}

async function editComment(octokit: Octokit, target: ProgressTarget, id: number, body: string): Promise<boolean> {
  try {
    await octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      owner: target.owner,
      repo: target.repo,
      comment_id: id,
      body,
    });
    return true;
  } catch (err) {
    // Someone deleted it; the caller posts a fresh one.
    if ((err as { status?: number }).status === 404) return false;
    throw err;
  }
}

async function waitForId(store: ProgressCommentStore, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await store.redis.get(store.key);
    if (value !== PENDING || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Posts the comment if this task has none yet, else edits it. With `createOnly`, an existing
 * comment is left alone (the acknowledgement must not overwrite a worker that got there first).
 */
export async function ensureProgressComment(
  octokit: Octokit,
  store: ProgressCommentStore,
  target: ProgressTarget,
  body: string,
  options: { createOnly?: boolean } = {},
): Promise<number> {
  const claimed = await store.redis.set(store.key, PENDING, 'EX', CLAIM_TTL_SECONDS, 'NX');
  if (claimed !== 'OK') {
    const value = await waitForId(store, (CLAIM_TTL_SECONDS * 1000) / 2);
    const id = Number(value);
    if (value !== PENDING && Number.isInteger(id) && id > 0) {
      if (options.createOnly) return id;
      if (await editComment(octokit, target, id, body)) return id;
    }
  }
  try {
    const id = await createComment(octokit, target, body);
    await store.redis.set(store.key, String(id), 'EX', ID_TTL_SECONDS);
    return id;
  } catch (err) {
    await store.redis.del(store.key);
    throw err;
  }
}
