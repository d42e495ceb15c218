import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue, buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { createLocalRepo, type LocalRepo } from '../support/local-repo.ts';
import { startModelSim, type ModelSim } from '../support/model-sim.ts';
import { fixingCalculatorTurns, neverGreenTurns } from '../support/scripted-agents.ts';
import { trackChild } from '../support/child-registry.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `ai-fix run …` as a user types it: node bin/ai-fix.js, no GitHub, no Redis. */
function startRun(args: string[], env: Record<string, string>, onStderr: (text: string) => void = () => {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/ai-fix.js'), 'run', ...args], {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => onStderr((stderr += chunk)));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

const aiFixRun = (args: string[], env: Record<string, string>) => startRun(args, env).done;

describe('ai-fix run (local mode)', () => {
  let model: ModelSim;
  let repo: LocalRepo;
  let env: Record<string, string>;

  beforeAll(async () => {
    model = await startModelSim();
    env = { OPENAI_API_KEY: model.apiKey, OPENAI_BASE_URL: model.url };
  });
  afterAll(async () => {
    await model?.close();
  });
  afterEach(async () => {
    await repo?.remove();
  });

  it('fixes the issue on a branch of the checkout and prints the summary, tests, tokens and cost', async () => {
    repo = await createLocalRepo(buggyCalculator);
    await fs.writeFile(path.join(repo.dir, 'scratch.txt'), 'uncommitted work of the user\n');
    model.script(fixingCalculatorTurns());

    const run = await aiFixRun(['--repo', repo.dir, '--issue', `${addBugIssue.title}\n\n${addBugIssue.body}`, '--test', 'node test.js'], env);

    expect(run.stderr).toContain('ai-fix: step 5:');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ai-fix run: finished, tests pass\n/);
    expect(run.stdout).toMatch(/ {2}branch {3}ai-fix\/local-\d{8}T\d{6} \(commit [0-9a-f]{12}, 1 file\(s\) changed\)/);
    expect(run.stdout).toContain('summary  Fixed `add` in `calc.js`: it subtracted its arguments.');
    expect(run.stdout).toContain('tests    node test.js: passed');
    expect(run.stdout).toMatch(/tokens {3}[\d,]+ \([\d,]+ input of which [\d,]+ cached, [\d,]+ output\)/);
    expect(run.stdout).toMatch(/cost {5}\$0\.\d{3} · gpt-5-codex/);

    const branch = repo.git('branch', '--list', 'ai-fix/local-*', '--format=%(refname:short)').trim();
    expect(repo.git('show', `${branch}:calc.js`)).toContain('return a + b;');
    expect(repo.git('log', '-1', '--format=%an%n%s', branch)).toBe(`ai-fix\nai-fix: ${addBugIssue.title}\n`);
    // The user's checkout is untouched: same branch, same files, their uncommitted file kept, no worktree left.
    expect(repo.git('rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
    expect(await fs.readFile(path.join(repo.dir, 'calc.js'), 'utf8')).toContain('return a - b;');
    expect(repo.git('status', '--porcelain')).toBe('?? scratch.txt\n');
    expect(repo.git('worktree', 'list').trim().split('\n')).toHaveLength(1);
    // The task reached the model, and no key did.
    expect(model.requests[0]?.body.input[0].content).toContain(addBugIssue.body);
    expect(JSON.stringify(model.requests.map((r) => r.body))).not.toContain(model.apiKey);
  }, 60_000);

  it('reads the issue from a file and honours --model and AI_FIX_MODEL_API=chat', async () => {
    repo = await createLocalRepo(buggyCalculator);
    const issueFile = path.join(repo.home, 'issue.md');
    await fs.writeFile(issueFile, `# ${addBugIssue.title}\n\n${addBugIssue.body}\n`);
    model.script(fixingCalculatorTurns());
    const before = model.requests.length;

    const run = await aiFixRun(['--repo', repo.dir, '--issue', issueFile, '--model', 'local-coder'], { ...env, AI_FIX_MODEL_API: 'chat' });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('tests    npm test: passed');
    expect(run.stdout).toContain('cost     unknown (no price for this model; see AI_FIX_MODELS) · local-coder');
    const requests = model.requests.slice(before);
    expect(requests.every((r) => r.endpoint === 'chat' && r.body.model === 'local-coder')).toBe(true);
    expect(requests[0]?.body.messages[1].content).toContain(`Title: ${addBugIssue.title}`);
  }, 60_000);

  it('stops at a limit from the repository config, says which, and keeps the work on its branch', async () => {
    repo = await createLocalRepo({ ...buggyCalculator, '.github/ai-fix.yml': 'test: node test.js\nlimits:\n  steps: 3\n' });
    model.script(neverGreenTurns(10));

    const run = await aiFixRun(['--repo', repo.dir, '--issue', addBugIssue.title], env);

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^ai-fix run: stopped: step limit reached \(3 steps\)\n/);
    expect(run.stdout).toContain('tests    node test.js: failed');
    const branch = repo.git('branch', '--list', 'ai-fix/local-*', '--format=%(refname:short)').trim();
    expect(repo.git('show', `${branch}:NOTES.md`)).toBe('investigating\n');
    expect(repo.git('log', '-1', '--format=%b', branch)).toContain('Stopped: step limit reached (3 steps).');
  }, 60_000);

  it('on Ctrl-C stops, and still commits the work so far on its branch', async () => {
    repo = await createLocalRepo(buggyCalculator);
    model.script([
      { toolCalls: [{ name: 'write_file', arguments: { path: 'NOTES.md', content: 'halfway\n' } }] },
      { delayMs: 60_000, then: { toolCalls: [{ name: 'run_tests', arguments: {} }] } },
    ]);
    let interrupted = false;
    const { child, done } = startRun(['--repo', repo.dir, '--issue', addBugIssue.title, '--test', 'node test.js'], env, (stderr) => {
      if (!interrupted && stderr.includes('ai-fix: step 1:')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const run = await done;

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^ai-fix run: stopped: the task was cancelled\n/);
    const branch = repo.git('branch', '--list', 'ai-fix/local-*', '--format=%(refname:short)').trim();
    expect(repo.git('show', `${branch}:NOTES.md`)).toBe('halfway\n');
    expect(repo.git('worktree', 'list').trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('runs the agent\'s commands in the same sandbox as the worker, and says so loudly when told not to', async () => {
    const required = process.env.AI_FIX_TEST_REQUIRE_BWRAP === '1';
    const secretDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-local-secret-'));
    await fs.writeFile(path.join(secretDir, 'key'), 'host-only secret\n');
    await fs.chmod(secretDir, 0o755);
    const server = http.createServer((_req, res) => res.end('reachable\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const probe = `cat ${secretDir}/key; (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo LOOPBACK-REACHED; test -e .git/config && cat .git/config | grep -c url; echo probed`;
    // What the probe printed: the first tool output the model got back.
    const shellOutput = () => String((model.requests.at(-1)?.body.input as Array<{ type?: string; output?: string }> | undefined)?.find((item) => item.type === 'function_call_output')?.output ?? '');
    try {
      for (const sandbox of [required ? 'bwrap' : 'auto', 'none']) {
        repo = await createLocalRepo(buggyCalculator);
        model.script([{ toolCalls: [{ name: 'run_shell', arguments: { command: probe, timeout_seconds: null } }] }, ...fixingCalculatorTurns()]);
        const run = await aiFixRun(['--repo', repo.dir, '--issue', addBugIssue.title, '--test', 'node test.js'], { ...env, AI_FIX_SANDBOX: sandbox });
        if (sandbox === 'none') {
          expect(run.stderr).toContain("WARNING: AI_FIX_SANDBOX=none: the agent's commands run on this machine without isolation");
          expect(run.code).toBe(0);
        } else if (run.code !== 0 && !required) {
          // No bubblewrap here: it refuses, naming the setting, instead of running unisolated.
          expect(run.stderr).toMatch(/AI_FIX_SANDBOX: the agent's commands cannot be isolated here/);
        } else {
          expect(run.code).toBe(0);
          expect(shellOutput()).toContain('probed');
          expect(shellOutput()).not.toContain('host-only secret');
          expect(shellOutput()).not.toContain('LOOPBACK-REACHED');
        }
        await repo.remove();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await fs.rm(secretDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('explains its usage and refuses a directory that is not a git checkout', async () => {
    const help = await aiFixRun(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ai-fix run --repo <path> --issue <text|file>');
    const notGit = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-not-git-'));
    const refused = await aiFixRun(['--repo', notGit, '--issue', 'x'], env);
    await fs.rm(notGit, { recursive: true, force: true });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`ai-fix: run: ${notGit} is not a git checkout\n`);
    const missing = await aiFixRun(['--repo', '.'], env);
    expect(missing.stderr).toMatch(/^ai-fix: run: --issue is required/);
  }, 60_000);
});
