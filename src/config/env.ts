import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { getPrivateKey } from '@probot/get-private-key';
import { z } from 'zod';
import { ConfigError } from '../util/errors.ts';

const modelOverrideSchema = z
  .object({
    input: z.number().min(0).optional(),
    cached_input: z.number().min(0).optional(),
    output: z.number().min(0).optional(),
    context_window: z.number().int().min(1000).optional(),
    images: z.boolean().optional(),
  })
  .strict();

/** An operator's entry in AI_FIX_MODELS (dollars per million tokens), merged over the built-in table. */
export type ModelOverride = z.infer<typeof modelOverrideSchema>;

// A JSON object in one variable, so a deployment can price a model we do not know yet.
const modelOverridesSchema = z.preprocess((text, ctx) => {
  try {
    return JSON.parse(String(text)) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object like {"my-model":{"input":1,"output":4}}' });
    return z.NEVER;
  }
}, z.record(z.string().min(1), modelOverrideSchema));

// Probot's own variable names, so a GitHub Enterprise Server install works unchanged.
const schema = z.object({
  APP_ID: z.coerce.number().int().positive().optional(),
  WEBHOOK_SECRET: z.string().min(1).optional(),
  GHE_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'must be a host name (and optional port), without a scheme')
    .optional(),
  GHE_PROTOCOL: z.enum(['http', 'https']).default('https'),
  HOST: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  WEBHOOK_PROXY_URL: z.url({ protocol: /^https?$/ }).optional(),
  WEBHOOK_PATH: z.string().startsWith('/', 'must start with /').default('/api/github/webhooks'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  AI_FIX_MODEL: z.string().min(1).default('gpt-5-codex'),
  AI_FIX_MODEL_API: z.enum(['responses', 'chat']).default('responses'),
  AI_FIX_MODELS: modelOverridesSchema.optional(),
  AI_FIX_MAX_STEPS: z.coerce.number().int().min(1).optional(),
  AI_FIX_MAX_MINUTES: z.coerce.number().positive().optional(),
  AI_FIX_MAX_TOKENS: z.coerce.number().int().min(1000).optional(),
  AI_FIX_MAX_DOLLARS: z.coerce.number().positive().optional(),
  AI_FIX_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('ai-fix'),
  AI_FIX_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  AI_FIX_WORKDIR: z.string().min(1).default(path.join(os.tmpdir(), 'ai-fix')),
  AI_FIX_MIRROR_CACHE_MB: z.coerce.number().int().min(0).default(4096),
  AI_FIX_DEPENDENCY_CACHE_MB: z.coerce.number().int().min(0).default(4096),
  AI_FIX_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).default(540),
  AI_FIX_JOB_LOCK_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  AI_FIX_SANDBOX: z.enum(['auto', 'bwrap', 'none']).default('auto'),
  AI_FIX_SANDBOX_UID: z.coerce.number().int().min(1).max(4_294_000_000).default(910_000),
  AI_FIX_SANDBOX_UIDS: z.coerce.number().int().min(1).max(65_536).default(64),
  AI_FIX_SANDBOX_TMP_MB: z.coerce.number().int().min(16).default(512),
  AI_FIX_SANDBOX_ENV: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$/, 'variable names separated by commas').optional(),
  AI_FIX_SANDBOX_TOOLCHAINS: z.string().optional(),
  AI_FIX_NETWORK_ALLOW: z
    .string()
    .regex(/^[A-Za-z0-9.,-]+$/, 'host names separated by commas (`registries` for the detected package registries, `none` for no network)')
    .optional(),
  AI_FIX_SANDBOX_MEMORY_MB: z.coerce.number().int().min(64).default(4096),
  AI_FIX_SANDBOX_PROCESSES: z.coerce.number().int().min(16).default(1024),
  AI_FIX_SANDBOX_FILE_SIZE_MB: z.coerce.number().int().min(1).default(1024),
  AI_FIX_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  AI_FIX_DASHBOARD_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 24)').optional(),
  AI_FIX_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 24)').optional(),
  AI_FIX_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  AI_FIX_REPO_CONCURRENCY: z.coerce.number().int().min(0).max(1000).default(0),
});

export interface LimitCaps {
  steps?: number;
  minutes?: number;
  tokens?: number;
  dollars?: number;
}

export interface Env {
  appId?: number;
  privateKey?: string;
  /** Where the key was read from, so the sandbox can hide the file. */
  privateKeyPath?: string;
  webhookSecret?: string;
  /** REST base URL, e.g. https://ghe.example/api/v3; undefined means Octokit's default (github.com). */
  githubApiUrl?: string;
  host?: string;
  port: number;
  webhookPath: string;
  /** A webhook proxy channel (smee.io's protocol) to take deliveries from, for a server GitHub cannot reach. */
  webhookProxyUrl?: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  redisUrl: string;
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  defaultModel: string;
  modelApi: 'responses' | 'chat';
  /** Per model: prices, context window, image support, over the built-in table. */
  modelOverrides: Record<string, ModelOverride>;
  /** Caps on every task's limits: a repository's config can lower them, not raise them. */
  limitCaps: LimitCaps;
  queuePrefix: string;
  concurrency: number;
  workdir: string;
  /** Disk cap of the per-repository mirrors under `workdir/mirrors`; 0 turns them off. */
  mirrorCacheBytes: number;
  /** Disk cap of the package-manager caches under `workdir/dependency-cache`; 0 turns them off. */
  dependencyCacheBytes: number;
  shutdownGraceMs: number;
  /** How long a job's lock lasts unrenewed: how soon a crashed worker's task is picked up again. */
  jobLockMs: number;
  /** How the agent's commands are isolated: bwrap, none, or auto (bwrap when it works). */
  sandbox: 'auto' | 'bwrap' | 'none';
  /**
   * When the worker is root, each running task's commands run as its own user from this range
   * (never root itself, and no other program's users: every process of a task's user is stopped).
   */
  sandboxUsers: { first: number; count: number };
  /** Size cap of `/tmp` and the other empty directories of a bwrap box. */
  sandboxTmpBytes: number;
  /** More variables the box gets by name (AI_FIX_SANDBOX_ENV). */
  sandboxPassEnv: string[];
  /** More host directories a bwrap box sees read-only (AI_FIX_SANDBOX_TOOLCHAINS). */
  sandboxToolchains: string[];
  /** AI_FIX_NETWORK_ALLOW as given: the most any box may reach (see network-policy.ts). */
  networkAllow?: string;
  /** Resource limits of every command the agent runs. */
  sandboxLimits: { memoryBytes: number; processes: number; fileSizeBytes: number };
  /** Where people reach this app's HTTP server (dashboard links); no links when unset. */
  publicUrl?: string;
  /** Opens the dashboard (and /metrics unless metricsToken is set); unset: both refuse everything. */
  dashboardToken?: string;
  metricsToken?: string;
  /** A worker-only process serves its /metrics here. */
  metricsPort?: number;
  /** Tasks of one repository running at once across all workers, unless its config says; 0: no limit. */
  repoConcurrency: number;
}

/**
 * A key that only looks like one would fail at the first label, deep in the JWT signer: sign and
 * verify with it now (RS256, as GitHub App JWTs are), so start-up stops on it instead.
 */
function proveAppKey(privateKey: string, name: 'PRIVATE_KEY' | 'PRIVATE_KEY_PATH'): void {
  const fix = `download a new private key from the GitHub App's settings (Private keys) and set ${name === 'PRIVATE_KEY_PATH' ? 'PRIVATE_KEY_PATH to the .pem file' : 'PRIVATE_KEY to its whole text'}`;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) {
    throw new ConfigError(`${name}: not a PEM private key (no -----BEGIN ... PRIVATE KEY----- line); ${fix}`);
  }
  let works = false;
  try {
    const key = crypto.createPrivateKey(privateKey);
    if (key.asymmetricKeyType !== 'rsa') throw new ConfigError(`${name}: a ${key.asymmetricKeyType} key, but GitHub Apps sign with RSA keys; ${fix}`);
    const probe = Buffer.from('ai-fix start-up check');
    works = crypto.verify('sha256', probe, crypto.createPublicKey(key), crypto.sign('sha256', probe, key));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  if (!works) throw new ConfigError(`${name}: the private key is corrupt (it cannot sign a GitHub App token); ${fix}`);
}

/** Parses the environment once at start; the first problem becomes one line naming the variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const present = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid value'}`);
  }
  const env = parsed.data;
  // Probot's order: PRIVATE_KEY, then PRIVATE_KEY_PATH, then the one .pem file in the working directory.
  const keyVariable = source.PRIVATE_KEY ? 'PRIVATE_KEY' : 'PRIVATE_KEY_PATH';
  let privateKey: string | undefined;
  try {
    privateKey = getPrivateKey({ env: source })?.toString();
  } catch (err) {
    throw new ConfigError(`${keyVariable}: ${(err as Error).message}`);
  }
  if (privateKey) proveAppKey(privateKey, keyVariable);
  return {
    appId: env.APP_ID,
    privateKey,
    privateKeyPath: source.PRIVATE_KEY_PATH || undefined,
    webhookSecret: env.WEBHOOK_SECRET,
    githubApiUrl: env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}/api/v3` : undefined,
    host: env.HOST,
    port: env.PORT,
    webhookPath: env.WEBHOOK_PATH,
    webhookProxyUrl: env.WEBHOOK_PROXY_URL,
    logLevel: env.LOG_LEVEL,
    redisUrl: env.REDIS_URL,
    openaiApiKey: env.OPENAI_API_KEY,
    openaiBaseUrl: env.OPENAI_BASE_URL,
    defaultModel: env.AI_FIX_MODEL,
    modelApi: env.AI_FIX_MODEL_API,
    modelOverrides: env.AI_FIX_MODELS ?? {},
    limitCaps: {
      steps: env.AI_FIX_MAX_STEPS,
      minutes: env.AI_FIX_MAX_MINUTES,
      tokens: env.AI_FIX_MAX_TOKENS,
      dollars: env.AI_FIX_MAX_DOLLARS,
    },
    queuePrefix: env.AI_FIX_QUEUE_PREFIX,
    concurrency: env.AI_FIX_CONCURRENCY,
    workdir: path.resolve(env.AI_FIX_WORKDIR),
    mirrorCacheBytes: env.AI_FIX_MIRROR_CACHE_MB * 2 ** 20,
    dependencyCacheBytes: env.AI_FIX_DEPENDENCY_CACHE_MB * 2 ** 20,
    shutdownGraceMs: env.AI_FIX_SHUTDOWN_GRACE_SECONDS * 1000,
    jobLockMs: env.AI_FIX_JOB_LOCK_SECONDS * 1000,
    sandbox: env.AI_FIX_SANDBOX,
    sandboxUsers: { first: env.AI_FIX_SANDBOX_UID, count: env.AI_FIX_SANDBOX_UIDS },
    sandboxTmpBytes: env.AI_FIX_SANDBOX_TMP_MB * 1024 * 1024,
    sandboxPassEnv: env.AI_FIX_SANDBOX_ENV?.split(',') ?? [],
    sandboxToolchains: (env.AI_FIX_SANDBOX_TOOLCHAINS ?? '').split(':').filter((dir) => path.isAbsolute(dir)),
    networkAllow: env.AI_FIX_NETWORK_ALLOW,
    sandboxLimits: {
      memoryBytes: env.AI_FIX_SANDBOX_MEMORY_MB * 1024 * 1024,
      processes: env.AI_FIX_SANDBOX_PROCESSES,
      fileSizeBytes: env.AI_FIX_SANDBOX_FILE_SIZE_MB * 1024 * 1024,
    },
    publicUrl: env.AI_FIX_PUBLIC_URL,
    dashboardToken: env.AI_FIX_DASHBOARD_TOKEN,
    metricsToken: env.AI_FIX_METRICS_TOKEN,
    metricsPort: env.AI_FIX_METRICS_PORT,
    repoConcurrency: env.AI_FIX_REPO_CONCURRENCY,
  };
}

/** True when nothing identifies the app yet: Probot's registration flow should run. */
export function needsAppRegistration(env: Env): boolean {
  return env.appId === undefined && env.privateKey === undefined;
}

export interface AppCredentials {
  appId: number;
  privateKey: string;
  webhookSecret: string;
}

export function requireAppCredentials(env: Env): AppCredentials {
  if (env.appId === undefined) throw new ConfigError("APP_ID: required; set it to the App ID on the GitHub App's settings page (in .env or the environment)");
  if (!env.privateKey) {
    throw new ConfigError("PRIVATE_KEY: required; set PRIVATE_KEY to the key's text or PRIVATE_KEY_PATH to its .pem file (the GitHub App's settings: Private keys)");
  }
  if (!env.webhookSecret) throw new ConfigError("WEBHOOK_SECRET: required; set it to the webhook secret of the GitHub App's settings");
  return { appId: env.appId, privateKey: env.privateKey, webhookSecret: env.webhookSecret };
}

export function requireOpenAiKey(env: Env): string {
  if (!env.openaiApiKey) throw new ConfigError('OPENAI_API_KEY: required by the worker; add it to .env or the environment');
  return env.openaiApiKey;
}
