import type { Redis } from 'ioredis';

// What ai-fix remembers about one of its pull requests between tasks: revisions made, feedback
// answered, CI fix attempts and the last CI failure seen, who asked for the work and what it
// has cost so far. One Redis hash per pull request (keyed by the issue it fixes), kept 90 days.
const TTL_SECONDS = 90 * 24 * 3600;

export interface PullRequestState {
  revisions: number;
  feedbackSince: string | null;
  ciAttempts: number;
  ciFingerprint: string | null;
  requester: string | null;
  dollars: number;
  tokens: number;
}

function key(prefix: string, repoId: number, issueNumber: number): string {
  return `${prefix}:pr-state:${repoId}:${issueNumber}`;
}

export async function readPullRequestState(redis: Redis, prefix: string, repoId: number, issueNumber: number): Promise<PullRequestState> {
  const raw = await redis.hgetall(key(prefix, repoId, issueNumber));
  return {
    revisions: Number(raw.revisions ?? 0),
    feedbackSince: raw.feedbackSince ?? null,
    ciAttempts: Number(raw.ciAttempts ?? 0),
    ciFingerprint: raw.ciFingerprint ?? null,
    requester: raw.requester ?? null,
    dollars: Number(raw.dollars ?? 0),
    tokens: Number(raw.tokens ?? 0),
  };
}

export async function updatePullRequestState(
  redis: Redis,
  prefix: string,
  repoId: number,
  issueNumber: number,
  change: { set?: Partial<Record<'feedbackSince' | 'ciFingerprint' | 'requester', string>>; add?: Partial<Record<'revisions' | 'ciAttempts' | 'dollars' | 'tokens', number>> },
): Promise<void> {
  const k = key(prefix, repoId, issueNumber);
  const tx = redis.multi();
  if (change.set && Object.keys(change.set).length) tx.hset(k, change.set);
  for (const [field, amount] of Object.entries(change.add ?? {})) {
    if (amount) tx.hincrbyfloat(k, field, amount);
  }
  tx.expire(k, TTL_SECONDS);
  await tx.exec();
}
