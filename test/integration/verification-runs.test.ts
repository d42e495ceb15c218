import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseRepoConfig } from '../../src/config/repo-config.ts';
import { renderPullRequestBody } from '../../src/github/pull-request-body.ts';
import { startSandbox } from '../../src/sandbox/start-sandbox.ts';
import { openTaskBox, type TaskBox } from '../../src/sandbox/task-box.ts';
import { createLogger } from '../../src/util/logger.ts';
import { commitTree } from '../../src/workspace/commit-and-push.ts';
import { prepareWorkspace } from '../../src/workspace/prepare-workspace.ts';
import { sealChange } from '../../src/worker/stages/seal.ts';
import { testOnBase, verifyPushed } from '../../src/worker/stages/verify-tests.ts';
import type { PreparedTask } from '../../src/worker/task-context.ts';

// A bug fix, as the worker handles it: ai-fix runs the tests on the base in the box, the "agent"
// fixes the code (and also rewrites a test it may not touch), the change is sealed and committed
// on the host, and ai-fix runs the tests again on exactly the committed tree, in the box.
const files: Record<string, string> = {
  '.gitignore': 'node_modules/\n',
  'package.json': '{ "name": "calc", "private": true, "type": "module" }\n',
  'calc.js': 'export const add = (a, b) => a - b;\nexport const sub = (a, b) => a - b;\n',
  // The helper only setup installs (ignored by git): the final run must still find it.
  'calc.test.js': [
    "import { describe, it } from 'node:test';",
    "import assert from 'node:assert';",
    "import { two, three } from 'helper';",
    "import { add, sub } from './calc.js';",
    "describe('calc', () => {",
    "  it('adds two numbers', () => assert.strictEqual(add(two, three), 5));",
    "  it('subtracts two numbers', () => assert.strictEqual(sub(three, two), 1));",
    '});',
    '',
  ].join('\n'),
  'contract/api.test.js': "import { test } from 'node:test';\nimport assert from 'node:assert';\nimport { add } from '../calc.js';\ntest('the API adds as documented', () => assert.strictEqual(add(2, 2), 5));\n",
};

describe('the Verification section comes from ai-fix’s own runs in the box', () => {
  let root: string;
  let box: TaskBox | undefined;
  let task: PreparedTask;

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-verify-')));
    // The sandbox users pass through to their job directories, as they do under /tmp/ai-fix.
    await fs.chmod(root, 0o711);
    const work = path.join(root, 'src');
    await fs.mkdir(path.join(work, 'contract'), { recursive: true });
    for (const [file, content] of Object.entries(files)) await fs.writeFile(path.join(work, file), content);
    const git = (...args: string[]) => execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args]);
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'calc');
    execFileSync('git', ['clone', '-q', '--bare', work, path.join(root, 'remote.git')]);

    const mode = process.env.AI_FIX_TEST_REQUIRE_BWRAP === '1' ? 'bwrap' : 'none';
    const log = createLogger({ level: 'silent' });
    const policy = await startSandbox({ requested: mode, limits: { memoryBytes: 2 ** 32, processes: 512, fileSizeBytes: 2 ** 30 }, users: { first: 910_000, count: 64 }, tmpBytes: 64 * 2 ** 20, workdir: path.join(root, 'work'), log });
    const workspace = await prepareWorkspace({
      jobDir: path.join(root, 'work', 'job'),
      cloneUrl: path.join(root, 'remote.git'),
      defaultBranch: 'main',
      branch: 'ai-fix/issue-1',
      token: 'unused',
      committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
    });
    box = await openTaskBox(policy, { workspace: workspace.box.dir, home: workspace.box.home, gitDir: workspace.box.gitDir, readOnly: [workspace.objects] });
    const parsed = parseRepoConfig({ protected_paths: ['contract/**'], limits: { command_timeout_seconds: 120 } });
    if (!parsed.ok) throw new Error(parsed.error);
    task = { workspace, box, log, config: parsed.config, signal: new AbortController().signal, deps: { secrets: new Set<string>() }, testCommand: 'node --test' } as unknown as PreparedTask;
  }, 60_000);

  afterAll(async () => {
    await box?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('lists the tests that failed on the base and pass on the pushed commit, and what the commit left failing', async () => {
    const run = (command: string) => box!.run(command, { timeoutMs: 30_000 });
    // Setup installs a dependency git ignores.
    expect((await run("mkdir -p node_modules/helper && printf '{\"name\":\"helper\",\"type\":\"module\",\"main\":\"index.js\"}' > node_modules/helper/package.json && echo 'export const two = 2, three = 3;' > node_modules/helper/index.js")).exitCode).toBe(0);

    const base = await testOnBase(task);
    expect(base?.exitCode).not.toBe(0);
    expect([...(base?.outcomes.failed ?? [])].sort()).toEqual(['calc > adds two numbers', 'the API adds as documented']);

    // The agent fixes `add`, and also "fixes" the protected contract test, which is left out of the change.
    expect((await run("sed -i '1s/a - b/a + b/' calc.js && sed -i 's/add(2, 2), 5/add(2, 2), 4/' contract/api.test.js")).exitCode).toBe(0);
    const sealed = await sealChange(task);
    expect(sealed.refusal).toBeUndefined();
    expect(sealed.change.files.map((file) => file.path)).toEqual(['calc.js']);
    const sha = await commitTree(task.workspace, sealed.change.tree, 'Fix #1: add() subtracts');

    const verification = await verifyPushed(task, base, sha);
    expect(verification?.tests).toEqual({ fixed: ['calc > adds two numbers'], noLongerFailing: [], stillFailing: ['the API adds as documented'], newlyFailing: [] });
    // The box's work tree is the commit's again, with what setup installed still there.
    expect(await fs.readFile(path.join(task.workspace.box.dir, 'contract/api.test.js'), 'utf8')).toBe(files['contract/api.test.js']);
    expect(await fs.readFile(path.join(task.workspace.box.dir, 'node_modules/helper/index.js'), 'utf8')).toContain('three = 3');

    const body = renderPullRequestBody({
      issueNumber: 1, summary: 'Fixed `add`.', files: sealed.change.files, testCommand: 'node --test', testsPassed: true,
      usage: { input: 1, cached: 0, output: 1, reasoning: 0 }, dollars: 0, steps: 4, model: 'gpt-5-codex', durationMs: 1000, verification,
    });
    expect(body).toContain(`Run by ai-fix on base \`${task.workspace.baseSha.slice(0, 7)}\` and head \`${sha!.slice(0, 7)}\`: \`node --test\` failed (exit 1) on the base, failed (exit 1) on this branch.`);
    expect(body).toContain('Fixed (failed on the base, pass on this branch):\n\n- `calc > adds two numbers`');
    expect(body).toContain('Still failing (on the base and on this branch):\n\n- `the API adds as documented`');
  }, 120_000);
});
