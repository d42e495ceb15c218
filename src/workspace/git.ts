import { execFile } from 'node:child_process';
import { redact } from '../util/redact.ts';

export interface GitOptions {
  cwd?: string;
  /**
   * The repository metadata, kept outside the checkout (`cwd` is the work tree): the agent can
   * rewrite anything in the checkout, including a `.git` there, and must not choose the config
   * (url rewrites, proxies, helpers) of the commands that hold a token.
   */
  gitDir?: string;
  /** Installation token for this one command only: handed over in its environment, never stored. */
  token?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** More variables for this command (an index file of its own, an author). */
  env?: Record<string, string>;
  /** Written to the command's standard input. */
  input?: string;
}

export class GitError extends Error {
  override name = 'GitError';
  readonly stderr: string;
  readonly exitCode: number | null;
  /** What the command printed before it failed (merge-tree prints its tree and exits 1). */
  readonly stdout: string;
  constructor(message: string, stderr: string, exitCode: number | null, stdout = '') {
    super(message);
    this.stderr = stderr;
    this.exitCode = exitCode;
    this.stdout = stdout;
  }
}

// The agent can write anything in the workspace, including .git/config and hooks. The worker's
// own git commands (the ones holding a token) therefore ignore hooks and fsmonitor commands.
const SAFE_CONFIG = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'protocol.ext.allow=never'];

function gitEnv(token?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  if (token) {
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  return env;
}

export function git(args: string[], options: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...SAFE_CONFIG, ...(options.gitDir ? [`--git-dir=${options.gitDir}`, `--work-tree=${options.cwd ?? '.'}`] : []), ...args],
      {
        cwd: options.cwd,
        env: { ...gitEnv(options.token), ...options.env },
        signal: options.signal,
        timeout: options.timeoutMs ?? 10 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          const secrets = options.token ? [options.token] : [];
          const stderrText = redact(String(stderr).trim(), secrets);
          const detail = stderrText || redact(err.message, secrets);
          const exitCode = typeof err.code === 'number' ? err.code : null;
          reject(new GitError(`git ${args[0]} failed: ${detail.split('\n').slice(-5).join(' / ')}`, stderrText, exitCode, String(stdout)));
          return;
        }
        resolve(stdout);
      },
    );
    // A command that exits without reading its input must not take the worker down with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
  });
}

// Failures worth another try: the server or the network, not the request.
const TRANSIENT = /(returned error: (5\d\d|429)|HTTP (5\d\d|429)|RPC failed|early EOF|unexpected disconnect|Connection (refused|reset|timed out)|Could not resolve host|Operation timed out|remote end hung up)/i;

export function isTransientGitError(err: unknown): boolean {
  return err instanceof GitError && TRANSIENT.test(`${err.stderr}\n${err.message}`);
}

/** Retries `operation` while it fails with a transient git error, with exponential backoff. */
export async function retryTransient<T>(operation: () => Promise<T>, signal?: AbortSignal, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= attempts || !isTransientGitError(err) || signal?.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/** A network git command (fetch, push, ls-remote) that survives a flaky server. */
export function gitWithRetry(args: string[], options: GitOptions = {}): Promise<string> {
  return retryTransient(() => git(args, options), options.signal);
}
