import type { Redis } from 'ioredis';

// The open ai-fix pull requests of each repository, as `pull:issue` members of one Redis set per
// repository, so a push to a default branch costs one Redis read rather than a GitHub call.
function key(prefix: string, repoId: number): string {
  return `${prefix}:open-pulls:${repoId}`;
}

export interface OpenPull {
  pullNumber: number;
  issueNumber: number;
}

export async function rememberOpenPull(redis: Redis, prefix: string, repoId: number, pull: OpenPull): Promise<void> {
  await redis.sadd(key(prefix, repoId), `${pull.pullNumber}:${pull.issueNumber}`);
}

export async function forgetOpenPull(redis: Redis, prefix: string, repoId: number, pull: OpenPull): Promise<void> {
  await redis.srem(key(prefix, repoId), `${pull.pullNumber}:${pull.issueNumber}`);
}

export async function openPulls(redis: Redis, prefix: string, repoId: number): Promise<OpenPull[]> {
  const members = await redis.smembers(key(prefix, repoId));
  return members.flatMap((member) => {
    const [pull, issue] = member.split(':').map(Number);
    return pull && issue ? [{ pullNumber: pull, issueNumber: issue }] : [];
  });
}
