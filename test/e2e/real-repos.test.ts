import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { goSemver } from '../fixtures/real-repos/go-semver.ts';
import { nodeMoney } from '../fixtures/real-repos/node-money.ts';
import { npmWorkspacesShop } from '../fixtures/real-repos/npm-workspaces-shop.ts';
import { pythonDurations } from '../fixtures/real-repos/python-durations.ts';
import type { RealRepo } from '../fixtures/real-repos/real-repo.ts';
import { rustRoman } from '../fixtures/real-repos/rust-roman.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import type { SimComment, SimPull, SimRepo } from '../support/github-sim.ts';
import { createHarness, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import type { RecordedModelRequest, ScriptedTurn, ScriptFn } from '../support/model-sim.ts';
import { stepOf } from '../support/scripted-agents.ts';
import { issueLabeledPayload, sendWebhook } from '../support/webhooks.ts';

// Real-shaped repositories of each ecosystem, end to end in a bwrap box: the worker detects the
// test command, runs the setup command with the package registries reachable through its egress
// proxy, gives the agent no network, and shows the box its toolchains (Debian's in /usr/bin, a
// rustup home under the worker's home). A scripted model fixes each repository's bug the way a
// good agent would; each case then checks what a user sees (a ready pull request, the progress
// comment) and runs the repository's own test command on a checkout of the pushed branch.
//
// The simulators answer from this process: nothing here blocks the event loop while a task runs.
const execFileAsync = promisify(execFile);

// ---- what this machine has ----------------------------------------------------------------------

/** Whether bubblewrap can build a box for a sandbox user here, and bwrap's words if not. */
function probeBwrap(): { ok: true } | { ok: false; reason: string } {
  const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const [file = 'bwrap', ...args] = [...asUser, 'bwrap', '--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'];
  const result = spawnSync(file, args, { cwd: '/', encoding: 'utf8', timeout: 10_000 });
  if (result.error) return { ok: false, reason: result.error.message };
  if (result.status !== 0) return { ok: false, reason: (result.stderr || `exit code ${result.status}`).trim().split('\n')[0] ?? '' };
  return { ok: true };
}

/** Why the host cannot run `argv` (null when it can). */
function hostLacks(argv: string[]): string | null {
  const [file = '', ...args] = argv;
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return `${argv.join(' ')}: ${result.error.message}`;
  return result.status === 0 ? null : `${argv.join(' ')} exited with ${result.status}`;
}

const BWRAP = probeBwrap();
const REQUIRE_BWRAP = process.env.AI_FIX_TEST_REQUIRE_BWRAP === '1';
const RUN = BWRAP.ok || REQUIRE_BWRAP;
const BWRAP_REASON = BWRAP.ok ? '' : BWRAP.reason;

const TOOLCHAIN_MISSING = {
  python: hostLacks(['python3', '-c', 'import pytest']),
  go: hostLacks(['go', 'version']),
  rust: hostLacks(['cargo', '--version']),
};

// Users of a range of this run's own, so other suites' sandboxes (the default range starts at
// 910000, security-box.test.ts picks from 2,000,000 up) are never leased or stopped by this one.
const SANDBOX_UIDS = 8;
const UID_FIRST = 5_000_000 + crypto.randomInt(0, 100_000) * SANDBOX_UIDS;

const FINAL = /\*\*ai-fix\*\* (finished|could not finish|task cancelled)/;

// ---- the scripted model -------------------------------------------------------------------------

type Step = ScriptedTurn | ((calls: ToolCall[]) => ScriptedTurn);

interface ToolCall {
  name: string;
  arguments: string;
  output: string;
}

/** The tool calls of the conversation in `request`, each with what it returned. */
function toolCalls(request: RecordedModelRequest): ToolCall[] {
  const input = (request.body as { input?: Array<{ type?: string; name?: string; arguments?: string; call_id?: string; output?: string }> }).input ?? [];
  const outputs = new Map(input.filter((item) => item.type === 'function_call_output').map((item) => [item.call_id, item.output ?? '']));
  return input.filter((item) => item.type === 'function_call').map((item) => ({ name: item.name ?? '', arguments: item.arguments ?? '', output: outputs.get(item.call_id) ?? '' }));
}

/** The repository a model request is about (`Repository: acme/<name>` opens every task prompt). */
function repoOf(request: RecordedModelRequest): string | undefined {
  return /^Repository: acme\/(\S+)$/m.exec(String(request.body?.input?.[0]?.content ?? ''))?.[1];
}

/** One scripted model for the whole file: each repository has its own steps, stepped by its conversation. */
class ScriptedAgents {
  private readonly steps = new Map<string, Step[]>();

  set(repo: string, steps: Step[]): void {
    this.steps.set(repo, steps);
  }

  readonly script: ScriptFn = (request) => {
    const step = this.steps.get(repoOf(request) ?? '')?.[stepOf(request)];
    if (!step) return { text: 'Done.' };
    return typeof step === 'function' ? step(toolCalls(request)) : step;
  };
}

const call = (name: string, args: Record<string, unknown>): ScriptedTurn => ({ toolCalls: [{ name, arguments: args }] });
const shell = (command: string): ScriptedTurn => call('run_shell', { command, timeout_seconds: 120 });

/** What a good agent does: see the failure, read the file, fix it, see the tests pass, finish. */
function fixingSteps(repo: RealRepo, probes: string[] = []): Step[] {
  return [
    call('run_tests', {}),
    call('read_file', { path: repo.fix.path, start_line: null, end_line: null }),
    ...probes.map(shell),
    call('edit_file', { path: repo.fix.path, old_string: repo.fix.oldString, new_string: repo.fix.newString }),
    call('run_tests', {}),
    call('finish', { summary: repo.fix.summary }),
  ];
}

// ---- the suite ----------------------------------------------------------------------------------

if (!RUN) {
  describe('real repositories in a bwrap box', () => {
    it.skip(`every case [skipped: bwrap cannot build a box here (${BWRAP_REASON}); AI_FIX_TEST_REQUIRE_BWRAP=1 makes this a failure]`, () => {});
  });
} else {
  describe('real repositories in a bwrap box', () => {
    let h: Harness;
    let app: AppProcess;
    const agents = new ScriptedAgents();
    const checkouts: string[] = [];

    beforeAll(async () => {
      if (!BWRAP.ok) throw new Error(`AI_FIX_TEST_REQUIRE_BWRAP=1, but bwrap cannot build a box for a sandbox user here: ${BWRAP_REASON}`);
      h = await createHarness('real-repos');
      h.model.script(agents.script);
      app = await h.start('start', {
        AI_FIX_SANDBOX: 'bwrap',
        AI_FIX_CONCURRENCY: '2',
        AI_FIX_SANDBOX_UID: String(UID_FIRST),
        AI_FIX_SANDBOX_UIDS: String(SANDBOX_UIDS),
      });
      await waitFor('the sandbox ready log line', () => sandboxReady(), 30_000);
    }, 90_000);

    afterAll(async () => {
      await h?.close();
      // Whatever outlived a failed case belongs to this run's sandbox users: stop it by pid.
      for (const pid of processesOf(UID_FIRST, SANDBOX_UIDS)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await Promise.all(checkouts.map((dir) => fs.rm(dir, { recursive: true, force: true })));
    }, 60_000);

    /** The worker's `sandbox ready` log line. */
    function sandboxReady(): { mode?: string; toolchains?: Record<string, string>; networkAllow?: string[] } | undefined {
      const line = app.output().split('\n').find((l) => l.includes('"msg":"sandbox ready"'));
      return line ? JSON.parse(line) : undefined;
    }

    /** The worker's last log lines, for a failure message. */
    const logTail = () => app.output().split('\n').slice(-40).join('\n');

    /** Labels an issue the way GitHub sends it (the issue's own title and body). */
    function label(repo: SimRepo, issueNumber: number, issue: { title: string; body: string }) {
      const payload = issueLabeledPayload({ repo, installationId: h.github.installationId, issueNumber, ...issue, label: 'ai-fix', sender: 'maintainer' });
      return sendWebhook({ url: app.webhookUrl, secret: WEBHOOK_SECRET, event: 'issues', payload });
    }

    /** Creates the repository and its issue, labels it, and waits for the task's final progress comment. */
    async function runTask(fixture: RealRepo, files: Record<string, string>, steps: Step[]): Promise<{ repo: SimRepo; issueNumber: number; comment: SimComment; seconds: number }> {
      const started = Date.now();
      const repo = await h.newRepo(fixture.name, files);
      const issueNumber = h.github.createIssue('acme', repo.name, { ...fixture.issue, user: 'maintainer' });
      agents.set(repo.name, steps);
      expect((await label(repo, issueNumber, fixture.issue)).status).toBe(200);
      let comment: SimComment;
      try {
        comment = await waitFor('the final progress comment', () => {
          const c = h.progressComment(repo, issueNumber);
          return c && FINAL.test(c.body) ? c : undefined;
        }, 240_000, 250);
      } catch (err) {
        throw new Error(`${(err as Error).message} on acme/${repo.name}#${issueNumber}\nprogress comment: ${h.progressComment(repo, issueNumber)?.body ?? '(none)'}\nworker log (end):\n${logTail()}`, { cause: err });
      }
      await taskLeftWorker(repo);
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`real-repos: ${fixture.name}: label → final comment in ${seconds.toFixed(1)} s\n`);
      return { repo, issueNumber, comment, seconds };
    }

    /** Waits until the repository's task job has ended (its box closed). */
    async function taskLeftWorker(repo: SimRepo): Promise<void> {
      await waitFor('the task to leave the worker', async () => {
        const jobs = (await h.queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'])).filter((job) => job.data.repo.name === repo.name);
        const states = await Promise.all(jobs.map((job) => job.getState()));
        return jobs.length > 0 && states.every((state) => state === 'completed' || state === 'failed');
      }, 60_000);
    }

    /** The worker's `setup finished` log line for the repository's task. */
    function setupLog(repo: SimRepo): { exitCode?: number | null; durationMs?: number } | undefined {
      const line = app.output().split('\n').find((l) => l.includes('"msg":"setup finished"') && l.includes(`"repo":"acme/${repo.name}"`));
      return line ? JSON.parse(line) : undefined;
    }

    /** Every tool call of the repository's latest conversation, with its output. */
    function callsFor(repo: SimRepo): ToolCall[] {
      const last = h.model.requests.filter((r) => repoOf(r) === repo.name).at(-1);
      return last ? toolCalls(last) : [];
    }

    /** A checkout of the pushed branch, outside the sandbox. */
    async function checkout(repo: SimRepo, branch: string): Promise<string> {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ai-fix-real-${repo.name}-`));
      checkouts.push(dir);
      await h.github.cloneWithToken('acme', repo.name, dir, branch);
      return dir;
    }

    /** Runs a shell command in `dir` on the host; its exit code and output. */
    async function onHost(dir: string, command: string, timeoutMs = 300_000): Promise<{ code: number; output: string }> {
      try {
        const { stdout, stderr } = await execFileAsync('bash', ['-c', command], { cwd: dir, timeout: timeoutMs, maxBuffer: 32 * 2 ** 20, env: { ...process.env, CI: 'true', NO_COLOR: '1' } });
        return { code: 0, output: stdout + stderr };
      } catch (err) {
        const e = err as { code?: number | string; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    }

    /**
     * What every successful case shows: a ready pull request on ai-fix/issue-N that names the
     * detected test command as passed, one progress comment that ends with its link, the agent
     * seeing the tests fail and then pass, a commit of the one fixed file, and the repository's
     * own test command passing on a checkout of the pushed branch.
     */
    async function expectReadyPullRequest(fixture: RealRepo, run: { repo: SimRepo; issueNumber: number; comment: SimComment }, host: { install?: string } = {}): Promise<SimPull> {
      const { repo, issueNumber, comment } = run;
      const context = `acme/${repo.name}#${issueNumber}\nprogress comment: ${comment.body}\nworker log (end):\n${logTail()}`;
      const pulls = h.github.pulls('acme', repo.name);
      if (pulls.length !== 1) throw new Error(`expected one pull request, found ${pulls.length}: ${context}`);
      const [pr] = pulls as [SimPull];
      expect(comment.body).toMatch(new RegExp(`^✅ \\*\\*ai-fix\\*\\* finished: \\S*/pull/${pr.number}$`, 'm'));
      expect(h.github.issueComments('acme', repo.name, issueNumber).filter((c) => c.body.includes('<!-- ai-fix:progress -->'))).toHaveLength(1);
      expect(pr.head).toBe(`ai-fix/issue-${issueNumber}`);
      expect(pr.base).toBe('main');
      expect(pr.draft).toBe(false);
      expect(pr.title).not.toContain('[failing tests]');
      expect(pr.body).toContain(`Fixes #${issueNumber}`);
      expect(pr.body).toContain(`Final check: \`${fixture.testCommand}\`: ✅ passed`);
      expect(pr.body).toContain(`- \`${fixture.fix.path}\` (modified)`);

      // The agent ran the detected command, saw it fail on the bug, and pass after its edit.
      const runs = callsFor(repo).filter((c) => c.name === 'run_tests').map((c) => c.output);
      expect(runs).toHaveLength(2);
      expect(runs[0]!.split('\n')[0]).toBe(`FAILED: ${fixture.testCommand}`);
      expect(runs[1]!.split('\n')[0]).toBe(`PASSED: ${fixture.testCommand}`);

      // The pushed branch: one commit changing only the fixed file (no caches, builds or
      // dependencies), and the repository's own tests pass on it outside the sandbox.
      const dir = await checkout(repo, pr.head);
      const changed = await onHost(dir, 'git diff --name-only HEAD~1 HEAD');
      expect(changed.output.trim().split('\n')).toEqual([fixture.fix.path]);
      expect((await fs.readFile(path.join(dir, fixture.fix.path), 'utf8'))).toContain(fixture.fix.newString);
      if (host.install) {
        const installed = await onHost(dir, host.install);
        if (installed.code !== 0) throw new Error(`${host.install} failed on the checkout:\n${installed.output}`);
      }
      const tested = await onHost(dir, fixture.testCommand);
      if (tested.code !== 0) throw new Error(`${fixture.testCommand} fails on the pushed branch:\n${tested.output}`);
      return pr;
    }

    if (REQUIRE_BWRAP) {
      it('bwrap works here (AI_FIX_TEST_REQUIRE_BWRAP=1)', () => {
        expect(BWRAP_REASON).toBe('');
        expect(sandboxReady()?.mode).toBe('bwrap');
      });
    }

    it('the worker proved bwrap, and its setup allow-list is the package registries its tools are configured for', async () => {
      const ready = sandboxReady();
      expect(ready?.mode).toBe('bwrap');
      const registry = await npmRegistryHost();
      expect(ready?.networkAllow).toContain(registry);
    });

    const python = TOOLCHAIN_MISSING.python ? it.skip : it;
    python(`Python: a src/ layout package with pytest configured in pyproject.toml; detected \`python3 -m pytest\`${skipNote(TOOLCHAIN_MISSING.python)}`, async () => {
      const run = await runTask(pythonDurations, pythonDurations.files, fixingSteps(pythonDurations));
      await expectReadyPullRequest(pythonDurations, run);
      // pytest itself ran in the box, on the package from src/.
      const [failed] = callsFor(run.repo).filter((c) => c.name === 'run_tests').map((c) => c.output);
      expect(failed).toMatch(/FAILED tests\/test_parser\.py::test_several_units/);
    }, 300_000);

    const go = TOOLCHAIN_MISSING.go ? it.skip : it;
    go(`Go: a go 1.19 module with a package and its _test.go, no dependencies; detected \`go test ./...\`${skipNote(TOOLCHAIN_MISSING.go)}`, async () => {
      const run = await runTask(goSemver, goSemver.files, fixingSteps(goSemver));
      await expectReadyPullRequest(goSemver, run);
      const [failed] = callsFor(run.repo).filter((c) => c.name === 'run_tests').map((c) => c.output);
      expect(failed).toContain('--- FAIL: TestCompare');
      expect(failed).toContain('example.com/acme/semver/semver');
    }, 300_000);

    const rust = TOOLCHAIN_MISSING.rust ? it.skip : it;
    rust(`Rust: a 2021 crate with unit tests, cargo from a rustup home under the worker's home, offline; detected \`cargo test\`${skipNote(TOOLCHAIN_MISSING.rust)}`, async () => {
      // The box finds cargo only when the sandbox users can pass through the worker's home.
      const cargo = sandboxReady()?.toolchains?.cargo;
      if (!cargo) {
        throw new Error(
          `the box has no cargo (toolchains it found: ${JSON.stringify(sandboxReady()?.toolchains)}); a root worker shows a rustup home under its home only when other users can pass through it (chmod o+x ${os.homedir()}, as .ci/run does)\n${logTail()}`,
        );
      }
      const run = await runTask(rustRoman, rustRoman.files, fixingSteps(rustRoman));
      await expectReadyPullRequest(rustRoman, run);
      const [failed] = callsFor(run.repo).filter((c) => c.name === 'run_tests').map((c) => c.output);
      expect(failed).toMatch(/tests::writes_years/);
      expect(failed).toContain('MCMLXIV');
    }, 300_000);

    it('Node: `setup: npm ci` downloads a real dependency through the egress proxy; the agent reaches neither the registry, Redis nor GitHub, and the blocked registry is reported', async () => {
      const registry = await npmRegistryHost();
      const githubPort = new URL(h.github.url).port;
      const files = { ...nodeMoney.files, 'package-lock.json': await npmLockfile(nodeMoney.files) };
      const probes = [
        'npm view is-number version --fetch-retries=0 --fetch-timeout=30000; echo "npm view exit code: $?"',
        '(exec 3<>/dev/tcp/127.0.0.1/6379) 2>&1 && echo "redis: connected" || echo "redis: refused"',
        `(exec 3<>/dev/tcp/127.0.0.1/${githubPort}) 2>&1 && echo "github: connected" || echo "github: refused"`,
      ];
      const run = await runTask(nodeMoney, files, fixingSteps(nodeMoney, probes));
      const pr = await expectReadyPullRequest(nodeMoney, run, { install: 'npm ci --no-audit --no-fund' });

      // The setup ran in the box and succeeded; the dependency was there when the tests ran.
      expect(setupLog(run.repo)?.exitCode).toBe(0);
      const runs = callsFor(run.repo).filter((c) => c.name === 'run_tests').map((c) => c.output);
      expect(runs[1]).not.toContain("Cannot find module 'is-number'");
      const shells = callsFor(run.repo).filter((c) => c.name === 'run_shell').map((c) => c.output);
      expect(shells).toHaveLength(3);
      const [npmView, redis, github] = shells as [string, string, string];
      // Refused by the egress proxy (the agent's allow-list is empty), not failed for another reason.
      expect(npmView).toMatch(/npm view exit code: [1-9]/);
      expect(npmView).toContain(registry);
      expect(npmView).toMatch(/\b403\b/);
      expect(npmView).not.toMatch(/^7\.0\.0$/m);
      expect(redis).toContain('redis: refused');
      expect(redis).not.toContain('redis: connected');
      expect(github).toContain('github: refused');
      expect(github).not.toContain('github: connected');

      // The reviewer is told what the agent tried to reach.
      const blocked = `Blocked network access: the sandbox refused \`${registry}\``;
      expect(pr.body).toContain(blocked);
      expect(run.comment.body).toContain(blocked);
    }, 300_000);

    it('Node: the same setup with `network.setup: []` cannot download: one failed progress comment naming the refused registry, no model request, no pull request', async () => {
      const registry = await npmRegistryHost();
      const fixture: RealRepo = { ...nodeMoney, name: 'money-js-offline-setup' };
      const files = { ...nodeMoney.files, 'package-lock.json': await npmLockfile(nodeMoney.files), '.github/ai-fix.yml': 'setup: npm ci\nnetwork:\n  setup: []\n' };
      const requestsBefore = h.model.requests.length;
      const run = await runTask(fixture, files, fixingSteps(fixture));

      expect(run.comment.body).toContain('❌ **ai-fix** could not finish this task: the setup command `npm ci` failed');
      expect(run.comment.body).toContain(`Hosts it tried to reach that are not on the network allow-list: \`${registry}\``);
      expect(setupLog(run.repo)?.exitCode).not.toBe(0);
      expect(h.github.issueComments('acme', run.repo.name, run.issueNumber).filter((c) => c.body.includes('<!-- ai-fix:progress -->'))).toHaveLength(1);
      expect(h.model.requests.length).toBe(requestsBefore);
      expect(h.github.pulls('acme', run.repo.name)).toHaveLength(0);
      expect(await h.github.branchSha('acme', run.repo.name, `ai-fix/issue-${run.issueNumber}`)).toBeNull();
    }, 300_000);

    it('a test program the box does not have: one failed progress comment naming it, no model request, no branch, no pull request', async () => {
      const fixture: RealRepo = { ...pythonDurations, name: 'durations-missing-runner', testCommand: 'nonexistent-test-runner run' };
      const files = { ...pythonDurations.files, '.github/ai-fix.yml': 'test: nonexistent-test-runner run\n' };
      const requestsBefore = h.model.requests.length;
      const run = await runTask(fixture, files, fixingSteps(fixture));

      expect(run.comment.body).toContain('❌ **ai-fix** could not finish this task: the test command `nonexistent-test-runner run` needs `nonexistent-test-runner`');
      expect(run.comment.body).toContain('Nothing was sent to the model');
      expect(h.github.issueComments('acme', run.repo.name, run.issueNumber).filter((c) => c.body.includes('<!-- ai-fix:progress -->'))).toHaveLength(1);
      expect(h.model.requests.length).toBe(requestsBefore);
      expect(h.model.requests.filter((r) => repoOf(r) === run.repo.name)).toHaveLength(0);
      expect(h.github.pulls('acme', run.repo.name)).toHaveLength(0);
      expect(await h.github.branchSha('acme', run.repo.name, `ai-fix/issue-${run.issueNumber}`)).toBeNull();
    }, 300_000);

    it('a monorepo (npm workspaces): the issue names packages/web/src/format-price.js, so the tests run in packages/web', async () => {
      const files = { ...npmWorkspacesShop.files, 'package-lock.json': await npmLockfile(npmWorkspacesShop.files, { offline: true }) };
      const run = await runTask(npmWorkspacesShop, files, fixingSteps(npmWorkspacesShop));
      await expectReadyPullRequest(npmWorkspacesShop, run, { install: 'npm ci --offline --no-audit --no-fund' });

      // Only the web package's tests ran, and they reached @acme/api through the workspace link
      // the detected install (`npm ci` at the root) made in the box.
      expect(setupLog(run.repo)?.exitCode).toBe(0);
      const runs = callsFor(run.repo).filter((c) => c.name === 'run_tests').map((c) => c.output);
      for (const output of runs) {
        expect(output).toContain('web: shows whole prices with their decimals');
        expect(output).not.toContain('api: ');
        expect(output).not.toContain("Cannot find module '@acme/api'");
      }
      expect(runs[0]).toContain("'$19.90'");
    }, 300_000);
  });
}

// ---- helpers ------------------------------------------------------------------------------------

function skipNote(missing: string | null): string {
  return missing ? ` [skipped: the host lacks the toolchain (${missing})]` : '';
}

/** The npm registry's host, asked of npm at run time (the worker asks npm the same way). */
async function npmRegistryHost(): Promise<string> {
  const { stdout } = await execFileAsync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' });
  return new URL(stdout.trim()).hostname;
}

/**
 * The package-lock.json npm makes for `files` (their package.json files), made here with the
 * host's npm: online for a real dependency, `offline` when the only dependencies are workspaces.
 */
async function npmLockfile(files: Record<string, string>, options: { offline?: boolean } = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-real-lock-'));
  try {
    for (const [file, content] of Object.entries(files)) {
      if (path.posix.basename(file) !== 'package.json') continue;
      await fs.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
      await fs.writeFile(path.join(dir, file), content);
    }
    const args = ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', ...(options.offline ? ['--offline'] : [])];
    await execFileAsync('npm', args, { cwd: dir, timeout: 120_000 });
    return await fs.readFile(path.join(dir, 'package-lock.json'), 'utf8');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Processes of the users [first, first + count), by pid. */
function processesOf(first: number, count: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      if (uid >= first && uid < first + count) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
