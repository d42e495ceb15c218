import { z } from 'zod';

// What travels through Redis. Redis stores job data in clear text, so there are no tokens or keys
// here: the worker mints its own credentials from `installationId`.
export const TASK_REQUEST_VERSION = 1;

export const taskKindSchema = z.enum(['solve', 'revise', 'fix-ci', 'rebase']);
export type TaskKind = z.infer<typeof taskKindSchema>;

export const taskRequestSchema = z.object({
  version: z.literal(TASK_REQUEST_VERSION),
  kind: taskKindSchema,
  repo: z.object({
    id: z.number().int().positive(),
    owner: z.string().min(1),
    name: z.string().min(1),
  }),
  installationId: z.number().int().positive(),
  /** The issue the task works on; for revise / fix-ci / rebase the PR's number lives in `pullNumber`. */
  issueNumber: z.number().int().positive(),
  pullNumber: z.number().int().positive().optional(),
  /** fix-ci: the commit whose checks finished; a task for an older commit does nothing. */
  headSha: z.string().regex(/^[0-9a-f]{40}$/).optional(),
  trigger: z.object({
    login: z.string().min(1),
    event: z.string().min(1),
    deliveryId: z.string().min(1),
  }),
  options: z
    .object({
      model: z.string().min(1).optional(),
      instruction: z.string().max(10_000).optional(),
      /** rebase: only act when the base branch no longer merges cleanly (the automatic kind). */
      ifConflicting: z.boolean().optional(),
    })
    .default({}),
  requestedAt: z.string(),
});

export type TaskRequest = z.infer<typeof taskRequestSchema>;

export function parseTaskRequest(data: unknown): TaskRequest {
  return taskRequestSchema.parse(data);
}

export function branchForIssue(issueNumber: number): string {
  return `ai-fix/issue-${issueNumber}`;
}
