import { Redis } from 'ioredis';
import { Probot, ProbotOctokit, run as runProbotSetup } from 'probot';
import { SmeeClient } from 'smee-client';
import { BackgroundWrites } from './app/background-writes.ts';
import { createApp } from './app/create-app.ts';
import { startHttpServer } from './app/http-server.ts';
import { startIntakeWorker } from './app/intake-worker.ts';
import { startWebhookProxy } from './app/webhook-proxy.ts';
import { redeliverRefused } from './app/redeliver-failed.ts';
import { reconcileWhenRedisLosesData } from './app/reconcile-lost-tasks.ts';
import { createModelClient, ModelError } from './agent/model-client.ts';
import { ModelBackoffError, ModelDeadlineError } from './agent/model-retry.ts';
import { paceByInstallation } from './github/installation-client.ts';
import { redactWritesPlugin } from './github/redact-requests.ts';
import { loadDotEnv } from './config/dot-env.ts';
import { loadEnv, needsAppRegistration, requireAppCredentials, requireOpenAiKey, type Env } from './config/env.ts';
import { assertRedisReachable, createRedis, failFastRedisOptions, redisOptions } from './queue/redis-connection.ts';
import { createIntakeQueue } from './app/intake-queue.ts';
import { createTaskQueue } from './queue/task-queue.ts';
import { queueCounts } from './queue/queue-counts.ts';
import { createMetrics, registerQueueDepth, type Metrics } from './observability/metrics.ts';
import { startMetricsListener } from './observability/metrics-listener.ts';
import { metricsToken } from './observability/metrics-route.ts';
import { formatLocalResult } from './local/format-local-result.ts';
import { parseRunArgs, RUN_USAGE } from './local/run-args.ts';
import { runLocal } from './local/run-local.ts';
import { startSandbox } from './sandbox/start-sandbox.ts';
import { parseSince, STATUS_USAGE, statusCommand, usageCommand, USAGE_USAGE } from './reports/report-commands.ts';
import { startWorker } from './worker/start-worker.ts';
import { processWorkdir } from './worker/workdir.ts';
import { ConfigError } from './util/errors.ts';
import { createLogger, type Logger } from './util/logger.ts';

const USAGE = `Usage: ai-fix <command>

Commands:
  start    webhook server and worker in one process (one machine)
  serve    webhook server only
  worker   worker only (run as many as you like against one Redis)
  run      the agent on a local checkout, no GitHub, no Redis (ai-fix run --help)
  status   the task queue and the running tasks (reads Redis)
  usage    tasks, success rate, time to PR, tokens and spend (ai-fix usage --since 7d)
`;

type Stop = () => Promise<void>;

async function startServer(env: Env, log: Logger, secrets: Set<string>, metrics: Metrics): Promise<Stop> {
  const credentials = requireAppCredentials(env);
  const redis = new Redis(failFastRedisOptions(env.redisUrl));
  redis.on('error', (err) => log.warn({ err: err.message }, 'Redis connection error'));
  const queue = createTaskQueue(failFastRedisOptions(env.redisUrl), env.queuePrefix);
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
  const intake = createIntakeQueue(failFastRedisOptions(env.redisUrl), env.queuePrefix);
  intake.on('error', (err) => log.warn({ err: err.message }, 'intake queue connection error'));
  registerQueueDepth(metrics, env.queuePrefix, async () => ({ ...(await queueCounts(queue)) }));
  if (!env.dashboardToken) log.warn('the dashboard is disabled: set AI_FIX_DASHBOARD_TOKEN (16+ characters) to enable /dashboard');
  if (!env.dashboardToken && !env.metricsToken) log.warn('/metrics is disabled: set AI_FIX_METRICS_TOKEN or AI_FIX_DASHBOARD_TOKEN to enable it');
  const background = new BackgroundWrites(log);
  const probot = new Probot({
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: env.githubApiUrl,
    log,
    // Every comment, title and body the app writes is redacted on its way out, and writes are
    // paced per installation.
    Octokit: ProbotOctokit.plugin(redactWritesPlugin(secrets)).defaults(paceByInstallation),
  });
  const refused = new Set<string>();
  redis.on('ready', () => {
    if (refused.size === 0) return;
    background.run('redeliver refused webhooks', async () => redeliverRefused(await probot.auth(), refused, log));
  });
  const handlerDeps = { queue, intake, redis, queuePrefix: env.queuePrefix, background, publicUrl: env.publicUrl };
  // Waits on Redis through an outage (unlike the webhook's fail-fast connection) and then goes on.
  const intakeWorker = startIntakeWorker({
    connection: redisOptions(env.redisUrl),
    prefix: env.queuePrefix,
    deps: { ...handlerDeps, auth: (installationId) => probot.auth(installationId), log },
    metrics,
  });
  // Tasks queued in a Redis that came back without its data are queued again.
  reconcileWhenRedisLosesData({ ...handlerDeps, appAuth: () => probot.auth(), auth: (installationId) => probot.auth(installationId), log });
  const server = await startHttpServer({
    probot,
    app: createApp({
      ...handlerDeps,
      metrics,
      dashboardToken: env.dashboardToken,
      metricsToken: metricsToken(env),
      onRefused: (deliveryId) => {
        log.warn({ deliveryId }, 'webhook refused: Redis is unreachable');
        refused.add(deliveryId);
      },
    }),
    host: env.host,
    port: env.port,
    webhookPath: env.webhookPath,
    log,
  });
  const proxy = env.webhookProxyUrl
    ? await startWebhookProxy({ source: env.webhookProxyUrl, target: `${server.url}${env.webhookPath}`, log })
    : undefined;
  return async () => {
    await proxy?.close();
    await server.close();
    // Decisions under way finish (their GitHub reads are short); waiting labels stay in Redis.
    await intakeWorker.close();
    await background.drain();
    await Promise.all([queue.close(), intake.close()]);
    redis.disconnect();
  };
}

async function startWorkerProcess(env: Env, log: Logger, secrets: Set<string>, metrics: Metrics, withServer: boolean): Promise<Stop> {
  const credentials = requireAppCredentials(env);
  const apiKey = requireOpenAiKey(env);
  const sandbox = await startSandbox({
    requested: env.sandbox,
    limits: env.sandboxLimits,
    users: env.sandboxUsers,
    tmpBytes: env.sandboxTmpBytes,
    passEnv: env.sandboxPassEnv,
    toolchainPaths: env.sandboxToolchains,
    networkAllow: env.networkAllow,
    workdir: env.workdir,
    privateKeyPath: env.privateKeyPath,
    log,
  });
  const redis = createRedis(env.redisUrl);
  redis.on('error', (err) => log.warn({ err: err.message }, 'Redis connection error'));
  const worker = await startWorker({
    env,
    app: { appId: credentials.appId, privateKey: credentials.privateKey, baseUrl: env.githubApiUrl },
    // Its errors name the setting to fix but not OPENAI_BASE_URL's value: they reach progress comments.
    modelClient: createModelClient({
      apiKey,
      baseURL: env.openaiBaseUrl,
      api: env.modelApi,
      onRetry: ({ attempt, waitMs, reason }) => log.warn({ attempt, waitMs: Math.round(waitMs), reason }, 'model request retried'),
    }),
    redis,
    workdir: processWorkdir(env.workdir),
    log,
    secrets,
    sandbox,
    metrics,
  });
  // With a server in the same process, its /metrics already serves this registry.
  const listener =
    !withServer && env.metricsPort !== undefined ? await startMetricsListener({ metrics, env, port: env.metricsPort, log }) : undefined;
  return async () => {
    await worker.close();
    await listener?.close();
    redis.disconnect();
  };
}

async function runLocalCommand(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(RUN_USAGE);
    return;
  }
  const options = await parseRunArgs(args);
  const env = loadEnv();
  const secrets = new Set([env.openaiApiKey].filter((s): s is string => !!s));
  // The terminal gets the progress lines and the result; logs only when asked for.
  const log = createLogger({ level: process.env.LOG_LEVEL ? env.logLevel : 'warn', secrets, stderr: true });
  const controller = new AbortController();
  // Interrupted, the agent stops and its work so far is still committed on the branch.
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const result = await runLocal(options, env, {
    log,
    signal: controller.signal,
    progress: (line) => process.stderr.write(`ai-fix: ${line}\n`),
  });
  process.stdout.write(formatLocalResult(result));
  process.exitCode = result.outcome.status === 'finished' && result.testsPassed !== false ? 0 : 1;
}

/** `ai-fix status` and `ai-fix usage`: reports read from Redis, for people without the dashboard. */
async function runReportCommand(command: 'status' | 'usage', args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command === 'status' ? STATUS_USAGE : USAGE_USAGE);
    return;
  }
  const env = loadEnv();
  process.stdout.write(command === 'status' ? await statusCommand(env) : await usageCommand(env, parseSince(args)));
}

export async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'start';
  // Probot's registration writes the app's credentials there; the real environment wins over it.
  loadDotEnv();
  if (command === 'run') return runLocalCommand(argv.slice(1));
  if (command === 'status' || command === 'usage') return runReportCommand(command, argv.slice(1));
  if (!['start', 'serve', 'worker'].includes(command)) {
    process.stderr.write(command === 'help' || command === '--help' ? USAGE : `ai-fix: unknown command ${command}\n\n${USAGE}`);
    process.exitCode = command === 'help' || command === '--help' ? 0 : 2;
    return;
  }
  const env = loadEnv();
  const secrets = new Set(
    [env.webhookSecret, env.openaiApiKey, env.privateKey, env.dashboardToken, env.metricsToken].filter((s): s is string => !!s),
  );
  const log = createLogger({ level: env.logLevel, secrets });

  if (needsAppRegistration(env) && command !== 'worker') {
    log.info('No APP_ID or PRIVATE_KEY: starting the GitHub App registration page; once the app is registered (its credentials go to .env), add OPENAI_API_KEY to .env and start again');
    // Given the client, Probot's registration opens a webhook proxy channel and saves it as WEBHOOK_PROXY_URL.
    await runProbotSetup(() => {}, { SmeeClient });
    return;
  }
  // Every setting this command needs is checked before anything listens or connects.
  requireAppCredentials(env);
  if (command !== 'serve') requireOpenAiKey(env);
  await assertRedisReachable(env.redisUrl);
  const stops: Stop[] = [];
  const metrics = createMetrics();
  if (command !== 'worker') stops.push(await startServer(env, log, secrets, metrics));
  if (command !== 'serve') stops.push(await startWorkerProcess(env, log, secrets, metrics, command === 'start'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await Promise.all(stops.map((stop) => stop().catch((err: unknown) => log.error({ err }, 'error while stopping'))));
    log.info('stopped');
    process.exit(0);
  };
  // A stray rejection in one task must not take down the others running in this process.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await main(argv);
  } catch (err) {
    // Settings the user can fix, and a model endpoint that refuses them: one line, no stack.
    if (err instanceof ConfigError || err instanceof ModelError || err instanceof ModelBackoffError || err instanceof ModelDeadlineError) {
      process.stderr.write(`ai-fix: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
