import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { freePort } from '../support/app-process.ts';
import { trackChild } from '../support/child-registry.ts';
import { createLocalRepo, type LocalRepo } from '../support/local-repo.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/ai-fix.js <args>` in `cwd` with PATH, HOME and `env`, to its exit. */
function aiFix(args: string[], cwd: string, env: Record<string, string>): Promise<Exited> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/ai-fix.js'), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  // A ceiling for a process that hangs instead of exiting, so the test fails rather than waits.
  const ceiling = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(ceiling);
      resolve({ code, stdout, stderr });
    });
  });
}

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

describe('a setting that is wrong stops the command with one line naming it and the fix', () => {
  let dir: string;
  let repo: LocalRepo;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-config-errors-'));
    repo = await createLocalRepo(buggyCalculator);
  });
  afterAll(async () => {
    await repo?.remove();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const registered = async () => ({ APP_ID: '1', PRIVATE_KEY: pem, WEBHOOK_SECRET: 'hook-secret', HOST: '127.0.0.1', PORT: String(await freePort()) });

  it('`ai-fix start` without OPENAI_API_KEY: nothing listens', async () => {
    const run = await aiFix(['start'], dir, await registered());
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('ai-fix: OPENAI_API_KEY: required by the worker; add it to .env or the environment\n');
    expect(run.stdout).not.toContain('listening');
  }, 60_000);

  it('`ai-fix start` with a corrupt PRIVATE_KEY from .env stops at once, before any label', async () => {
    const lines = pem.trimEnd().split('\n');
    const corrupt = [...lines.slice(0, 5), ...lines.slice(9)].join('\\n');
    await fs.writeFile(path.join(dir, '.env'), `APP_ID=1\nPRIVATE_KEY="${corrupt}"\nWEBHOOK_SECRET=hook-secret\nOPENAI_API_KEY=sk-test\n`);
    try {
      const run = await aiFix(['start'], dir, {});
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^ai-fix: PRIVATE_KEY: the private key is corrupt .*download a new private key from the GitHub App's settings.*\n$/);
      expect(run.stderr.split('\n')).toHaveLength(2);
      expect(run.stdout).not.toContain('listening');
    } finally {
      await fs.rm(path.join(dir, '.env'));
    }
  }, 60_000);

  const runLocal = (env: Record<string, string>) => aiFix(['run', '--repo', repo.dir, '--issue', 'add() subtracts'], dir, env);

  // The model's other refusals (401, 404) and their messages: test/integration/model-errors.test.ts.
  it('`ai-fix run` against an endpoint nobody answers says it retries, then names OPENAI_BASE_URL and the URL', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}/v1`;
    const run = await runLocal({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: nobody });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^ai-fix: model API at ${nobody}: Connection error; retrying in \\d+\\.\\d s \\(try 2 of 3\\)$`, 'm'));
    expect(run.stderr).toMatch(/\(try 3 of 3\)$/m);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^ai-fix: model API at ${nobody} unreachable \\(ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\): check OPENAI_BASE_URL$`));
    expect(run.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});
