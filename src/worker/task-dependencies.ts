import type { Redis } from 'ioredis';
import type { ModelClient } from '../agent/model-client.ts';
import type { Env } from '../config/env.ts';
import type { SandboxPolicy } from '../sandbox/sandbox-policy.ts';
import type { AppIdentity } from '../github/installation-client.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Logger } from '../util/logger.ts';
import type { RepoSlots } from './repo-slots.ts';

/** What every task needs from the process; per-task state lives in the pipeline, never here. */
export interface TaskDependencies {
  env: Env;
  app: AppIdentity;
  modelClient: ModelClient;
  redis: Redis;
  /** This worker process's own directory for checkouts. */
  workdir: string;
  log: Logger;
  /** How the agent's commands run, decided once at start. */
  sandbox: SandboxPolicy;
  /** This process's metrics. */
  metrics: Metrics;
  /** Secrets known to this process; minted tokens are added so logs and comments redact them. */
  secrets: Set<string>;
  /** The per-repository concurrency limit; absent where tasks run outside a worker (no limit). */
  repoSlots?: RepoSlots;
}
