import { z } from 'zod';

// .github/ai-fix.yml — strict, so a misspelt key is reported rather than silently ignored.
export const limitsSchema = z
  .object({
    steps: z.number().int().min(1).max(2000).default(200),
    minutes: z.number().min(1).max(24 * 60).default(30),
    tokens: z.number().int().min(1000).default(3_000_000),
    dollars: z.number().positive().default(5),
    /** What `tokens` and `dollars` cap: each task, or the pull request with all its revisions and CI fixes. */
    per: z.enum(['task', 'pull_request']).default('task'),
    /** Stop when the tests fail the same way this many times in a row. */
    repeated_failures: z.number().int().min(2).default(3),
    /** Stop when this many tool calls in a row repeat earlier calls with an unchanged output (the model is told first). */
    repeated_calls: z.number().int().min(2).default(5),
    /** A ceiling for exploration: stop when this many steps in a row change no file. */
    steps_without_edit: z.number().int().min(3).default(150),
    command_timeout_seconds: z.number().int().min(5).max(6 * 3600).default(600),
    /** Tasks of this repository running at once, across all workers; absent: AI_FIX_REPO_CONCURRENCY. */
    concurrent_tasks: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

export const revisionsSchema = z
  .object({
    /** Feedback arriving within this window after the first comment becomes one revision. */
    debounce_seconds: z.number().int().min(0).max(3600).default(60),
    /** Revisions per pull request; then ai-fix asks a human to take over. */
    max_per_pr: z.number().int().min(0).max(100).default(10),
  })
  .strict();

export const ciSchema = z
  .object({
    /** CI fix attempts per pull request before ai-fix asks a human. */
    max_attempts: z.number().int().min(0).max(20).default(3),
    /** Mark a draft pull request ready for review once every check passes. */
    ready_when_green: z.boolean().default(true),
  })
  .strict();

export const rebaseSchema = z
  .object({
    /** When the base branch moves and an ai-fix pull request no longer merges, merge it in and resolve the conflicts without being asked. */
    auto: z.boolean().default(false),
  })
  .strict();

export const testForPathSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .max(500)
      .refine((glob) => !glob.startsWith('/') && !glob.split('/').includes('..'), 'must be a glob relative to the repository root, e.g. `packages/web/**`'),
    command: z.string().min(1).max(2000),
  })
  .strict();

// A host name, or `.example.org` for it and every subdomain: no schemes, ports or paths.
const hostSchema = z.string().regex(/^\.?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a host name such as `example.org` (or `.example.org` with its subdomains)');

export const networkSchema = z
  .object({
    /** During the setup command; unset: every host the operator allows. */
    setup: z.array(hostSchema).max(100).optional(),
    /** While the agent works: none unless listed here (and allowed by the operator). */
    agent: z.array(hostSchema).max(100).default([]),
  })
  .strict();

// GitHub logins, and team slugs (`team` in the repository's organisation, or `org/team`).
const loginSchema = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login');
const teamSchema = z.string().regex(/^(?:[A-Za-z0-9][A-Za-z0-9-]*\/)?[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a team slug, `team` or `org/team`');

export const repoConfigSchema = z
  .object({
    label: z.string().min(1).max(50).default('ai-fix'),
    model: z.string().min(1).optional(),
    setup: z.string().min(1).optional(),
    test: z.string().min(1).optional(),
    /** A test command per path: the first whose glob matches a path the issue names wins over `test`. */
    tests: z.array(testForPathSchema).max(100).optional(),
    instructions: z.string().max(20_000).optional(),
    /** Hosts the box may reach, per phase, within what the operator allows (AI_FIX_NETWORK_ALLOW). */
    network: networkSchema.default(() => networkSchema.parse({})),
    draft: z.boolean().default(false),
    limits: limitsSchema.default(() => limitsSchema.parse({})),
    revisions: revisionsSchema.default(() => revisionsSchema.parse({})),
    ci: ciSchema.default(() => ciSchema.parse({})),
    rebase: rebaseSchema.default(() => rebaseSchema.parse({})),
    /** When either list is set, only these people (who also need write access) can start a task. */
    allowed_users: z.array(loginSchema).max(1000).default([]),
    allowed_teams: z.array(teamSchema).max(100).default([]),
    /** Globs of paths the agent may not change, on top of `.github/workflows/**`. */
    protected_paths: z.array(z.string().min(1).max(500)).max(200).default([]),
  })
  .strict();

export type RepoConfig = z.infer<typeof repoConfigSchema>;
export type Limits = z.infer<typeof limitsSchema>;

export const REPO_CONFIG_PATH = '.github/ai-fix.yml';

export type RepoConfigResult =
  | { ok: true; config: RepoConfig }
  | { ok: false; error: string };

/** Validates raw YAML data; the error names the offending field, e.g. `limits.steps: …`. */
export function parseRepoConfig(raw: unknown): RepoConfigResult {
  const parsed = repoConfigSchema.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, config: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : '(top level)';
  let message = issue?.message ?? 'invalid';
  if (issue?.code === 'unrecognized_keys') {
    message = `unknown key ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  }
  return { ok: false, error: `\`${field}\`: ${message}` };
}

export function defaultRepoConfig(): RepoConfig {
  return repoConfigSchema.parse({});
}
