import { spawn, type ChildProcess } from 'node:child_process';
import { killTree, trackChild } from './child-registry.ts';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface AppProcess {
  url: string;
  webhookUrl: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  waitForExit(): Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /**
   * The working directory, where the process reads `.env`. By default the system's temporary
   * directory, so a developer's own `.env` in the checkout does not reach the tests.
   */
  cwd?: string;
  /**
   * The PORT that `cwd`'s `.env` sets: the process then gets nothing but PATH, HOME and `env`,
   * as a user's shell would pass.
   */
  dotEnvPort?: number;
  /** What answers once the server is up (default /healthz; Probot's registration page has only /ping). */
  readyPath?: string;
}

/** Starts `ai-fix <command>` the way a user does (`node bin/ai-fix.js`), and waits for /healthz. */
export async function startAppProcess(command: string, env: Record<string, string>, options: StartOptions = {}): Promise<AppProcess> {
  const port = options.dotEnvPort ?? (env.PORT ? Number(env.PORT) : await freePort());
  const user = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/ai-fix.js'), command], {
    cwd: options.cwd ?? os.tmpdir(),
    env: options.dotEnvPort === undefined ? { ...user, HOST: '127.0.0.1', ...env, PORT: String(port) } : { ...user, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a test that fails (or the global teardown) kills what it started.
    detached: true,
  });
  trackChild(child, { group: true });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // Ready means: the HTTP server answers, or (worker only) the worker says it started.
  const isReady = command === 'worker'
    ? async () => output.includes('worker started')
    : () => fetch(`${url}${options.readyPath ?? '/healthz'}`).then((r) => r.ok, () => false);
  {
    // A ceiling for a start that hangs, not a speed check: a loaded CI machine starts slowly.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ai-fix ${command} exited early:\n${output}`);
      if (await isReady()) break;
      if (Date.now() > deadline) {
        killTree(child.pid, true);
        await exited;
        throw new Error(`ai-fix ${command} did not become healthy within 60 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    webhookUrl: `${url}/api/github/webhooks`,
    child,
    output: () => output,
    waitForExit: () => exited,
    async stop(signal = 'SIGTERM') {
      // SIGKILL is for clean-up: it takes the whole group (the worker's running commands too).
      if (signal === 'SIGKILL') killTree(child.pid, true);
      else if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
