import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { freePort, waitFor } from '../support/app-process.ts';
import { containerArgv, healthcheckCommand, imageEnv, readDockerfile, ROOT } from '../support/dockerfile.ts';
import { createHarness, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';

// The image's commands run outside Docker, with the arguments and environment the Dockerfile and
// docker-compose.yml give them. Only the init (tini) is left out, and `node` is this Node 22.
const dockerfile = readDockerfile();
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command: string[] }> };

/** argv without the init process: what tini runs. */
function appArgv(command: string[]): string[] {
  const argv = containerArgv(dockerfile, command);
  const app = argv.slice(argv.indexOf('--') + 1);
  expect(app[0]).toBe('node');
  return [process.execPath, ...app.slice(1)];
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

// Prometheus holds this; /metrics refuses everyone else.
const METRICS_TOKEN = 'image-metrics-token-0123456789';

function run(argv: string[], env: Record<string, string>, prefix: string[] = []): Running {
  const [file = '', ...args] = [...prefix, ...argv];
  const child = spawn(file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Runs the HEALTHCHECK command the way Docker does (`/bin/sh -c`), with the container's env. */
function healthcheck(env: Record<string, string>, prefix: string[] = []): number | null {
  const [file = 'sh', ...args] = [...prefix, 'sh', '-c', healthcheckCommand(dockerfile)];
  return spawnSync(file, args, { env, encoding: 'utf8', timeout: 20_000 }).status;
}

function canUsePidNamespaces(): boolean {
  return spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
}

describe("the image's commands, run outside Docker", () => {
  let h: Harness;
  let workdir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await createHarness('image');
    workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-image-'));
    env = {
      // The image's own environment, then what docker-compose's `.env` would hold.
      ...imageEnv(dockerfile),
      // The image's node is on its PATH; here that is this Node 22.
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: os.homedir(),
      APP_ID: String(h.github.appId),
      PRIVATE_KEY: h.github.privateKey,
      WEBHOOK_SECRET,
      GHE_HOST: h.github.host,
      GHE_PROTOCOL: 'http',
      REDIS_URL: h.redisUrl,
      AI_FIX_QUEUE_PREFIX: h.prefix,
      OPENAI_API_KEY: h.model.apiKey,
      OPENAI_BASE_URL: h.model.url,
      AI_FIX_METRICS_TOKEN: METRICS_TOKEN,
      // The image's /var/lib/ai-fix belongs to its `node` user; a scratch directory stands in.
      AI_FIX_WORKDIR: workdir,
      PORT: String(await freePort()),
    };
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await fs.rm(workdir, { recursive: true, force: true });
  });

  it('the image sets HOST=0.0.0.0 and the port it exposes', () => {
    expect(imageEnv(dockerfile)).toMatchObject({ HOST: '0.0.0.0', PORT: '3000', NODE_ENV: 'production' });
  });

  it("compose's server command serves /healthz and /readyz on all interfaces; the HEALTHCHECK passes, then fails once it stops", async () => {
    expect(compose.services.server?.command).toEqual(['serve']);
    const server = run(appArgv(compose.services.server?.command ?? []), env);
    const url = `http://127.0.0.1:${env.PORT}`;
    await waitFor('the server', () => fetch(`${url}/healthz`).then((r) => r.ok, () => false) || server.child.exitCode !== null, 20_000);
    expect(server.child.exitCode).toBeNull();

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()).toContain(`ai_fix_tasks{queue="${h.prefix}",state="waiting"} 0`);
    const listening = server.output().split('\n').find((line) => line.includes('listening for webhooks'));
    expect(listening).toContain(`"url":"http://0.0.0.0:${env.PORT}"`);
    expect(healthcheck(env)).toBe(0);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(healthcheck(env)).toBe(1);
  }, 60_000);

  it("compose's worker command starts a worker and stops cleanly on SIGTERM", async () => {
    expect(compose.services.worker?.command).toEqual(['worker']);
    const worker = run(appArgv(compose.services.worker?.command ?? []), env);
    await waitFor('the worker', () => worker.output().includes('worker started') || worker.child.exitCode !== null, 20_000);
    expect(worker.output()).toContain('worker started');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 60_000);

  // Docker runs the HEALTHCHECK inside the container, where PID 1 is the init running the
  // command; a PID namespace reproduces that, where this machine allows one.
  (canUsePidNamespaces() ? it : it.skip)('the HEALTHCHECK passes for a worker, which has no HTTP server', async () => {
    const worker = run(appArgv(['worker']), { ...env, PORT: String(await freePort()) }, ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc']);
    await waitFor('the worker', () => worker.output().includes('worker started') || worker.child.exitCode !== null, 20_000);
    const pid = Number(execFileSync('pgrep', ['-P', String(worker.child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    const inside = ['nsenter', '--target', String(pid), '--pid', '--mount'];
    expect(healthcheck(env, inside)).toBe(0);
    process.kill(pid, 'SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 60_000);
});
