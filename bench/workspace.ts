// Part "workspace": preparing a checkout of a large repository served over git smart HTTP by the
// GitHub simulator, first (cold mirror cache) and again (warm), beside the plain network clone;
// and the agent's `search` tool (`git grep`) on that checkout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FileViews } from '../src/agent/tools/file-views.ts';
import { searchTool } from '../src/agent/tools/search.ts';
import { boxAccess } from '../src/sandbox/box-access.ts';
import { openTaskBox } from '../src/sandbox/task-box.ts';
import type { ToolContext } from '../src/agent/tools/tool.ts';
import type { MirrorCache } from '../src/workspace/mirror-cache.ts';
import { prepareWorkspace, type Workspace } from '../src/workspace/prepare-workspace.ts';
import { startGitHubSim } from '../test/support/github-sim.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { largeRepo, type LargeRepoShape } from './large-repo.ts';
import { describeMachine } from './machine.ts';
import { round, summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function upstreamCommit(bareDir: string, n: number): void {
  // A small change pushed upstream between two tasks, so the warm preparation has something to fetch.
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid' };
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: bareDir, input: `change ${n}\n`, encoding: 'utf8' }).trim();
  const tree = execFileSync('git', ['mktree'], { cwd: bareDir, input: `${execFileSync('git', ['ls-tree', 'main'], { cwd: bareDir, encoding: 'utf8' })}100644 blob ${blob}\tCHANGE-${n}.txt\n`, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
  const commit = execFileSync('git', ['commit-tree', tree, '-p', 'main', '-m', `change ${n}`], { cwd: bareDir, env, encoding: 'utf8' }).trim();
  execFileSync('git', ['update-ref', 'refs/heads/main', commit], { cwd: bareDir });
}

const ms = (s: Summary) => `p50 ${s.p50.toFixed(1)} · p95 ${s.p95.toFixed(1)} · max ${s.max.toFixed(1)} ms`;

export async function runWorkspaceBench(options: Map<string, string>): Promise<boolean> {
  const shape: LargeRepoShape = { files: Number(options.get('files') ?? 20_000), commits: Number(options.get('commits') ?? 2_000), filesPerCommit: 10 };
  const command = `npm run bench -- workspace${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;
  const generated = performance.now();
  const source = await largeRepo(shape);
  const generateMs = performance.now() - generated;
  const github = await startGitHubSim();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-bench-ws-'));
  try {
    const repo = await github.createRepo({ owner: 'acme', name: 'large', files: { 'README.md': 'x\n' } });
    await fs.rm(repo.bareDir, { recursive: true, force: true });
    execFileSync('git', ['clone', '-q', '--bare', '--no-local', source, repo.bareDir]);
    execFileSync('git', ['config', 'http.receivepack', 'true'], { cwd: repo.bareDir });
    const packBytes = Number(execFileSync('du', ['-sb', repo.bareDir], { encoding: 'utf8' }).split('\t')[0]);
    const token = github.mintToken();
    let jobs = 0;
    const mirrors: MirrorCache = { root: path.join(root, 'mirrors'), maxBytes: 4 << 30 };
    const prepare = async (cache?: MirrorCache): Promise<{ ms: number; workspace: Workspace }> => {
      const started = performance.now();
      const workspace = await prepareWorkspace({
        jobDir: path.join(root, `job-${++jobs}`),
        cloneUrl: repo.cloneUrl,
        defaultBranch: 'main',
        branch: 'ai-fix/issue-1',
        token,
        committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
        mirrors: cache,
      });
      return { ms: performance.now() - started, workspace };
    };
    const remove = (w: Workspace) => fs.rm(w.jobDir, { recursive: true, force: true });

    const network: number[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await prepare();
      network.push(run.ms);
      await remove(run.workspace);
    }
    const first = await prepare(mirrors);
    const next: number[] = [];
    let last = first.workspace;
    for (let i = 0; i < 3; i++) {
      upstreamCommit(repo.bareDir, i);
      const run = await prepare(mirrors);
      next.push(run.ms);
      await remove(last);
      last = run.workspace;
    }
    const files = Number(execFileSync('git', [`--git-dir=${last.box.gitDir}`, 'ls-files'], { cwd: last.box.dir, encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n').filter(Boolean).length);
    // The search runs as in a task, through the box (unisolated here: this measures git grep).
    const box = await openTaskBox(
      { mode: 'none', limits: { memoryBytes: 4 << 30, processes: 4096, fileSizeBytes: 1 << 30 }, hidden: [], tmpBytes: 1 << 28, exposed: [], env: {}, toolchains: {}, networkAllow: [] },
      { workspace: last.box.dir, home: last.box.home, gitDir: last.box.gitDir, readOnly: [last.objects] },
    );
    const signal = new AbortController().signal;
    const context = { root: await fs.realpath(last.box.dir), signal, views: new FileViews(), ...boxAccess(box, { objects: last.objects, baseSha: last.baseSha, commandTimeoutMs: 60_000, signal }) } as unknown as ToolContext;
    const queries: Array<Record<string, unknown>> = [
      { query: 'value12345' },
      { query: 'step 19' },
      { query: 'input \\* 5[0-9] \\+', regex: true },
      { query: 'return input', path_glob: 'src/pkg3/**/*.ts' },
    ];
    const search: Record<string, Summary> = {};
    for (const args of queries) {
      const times: number[] = [];
      for (let r = 0; r < 10; r++) {
        const started = performance.now();
        await searchTool.run(args, context);
        times.push(performance.now() - started);
      }
      search[JSON.stringify(args)] = summarize(times);
    }
    const networkMs = summarize(network).p50;
    const nextMs = summarize(next).p50;
    const ratio = nextMs / first.ms;
    const goals = { 'next preparation ≤ 20% of the first': ratio <= 0.2 };
    const machine = describeMachine();
    const result = {
      command,
      date: new Date().toISOString(),
      machine,
      repository: { ...shape, trackedFiles: files, serverBytes: packBytes, generateMs: round(generateMs) },
      preparationMs: { networkClone: network.map((v) => round(v)), firstThroughMirror: round(first.ms), nextThroughMirror: next.map((v) => round(v)) },
      ratios: { nextOverFirst: round(ratio, 3), nextOverNetworkClone: round(nextMs / networkMs, 3) },
      searchMs: search,
      goals,
    };
    await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    await fs.writeFile(path.join(ROOT, 'bench/results/workspace.json'), `${JSON.stringify(result, null, 2)}\n`);
    const markdown = [
      '## Workspace: preparing a large repository',
      '',
      `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine}.`,
      '',
      `A synthetic repository (${files.toLocaleString('en-US')} files, ${shape.commits.toLocaleString('en-US')} commits, ${(packBytes / 2 ** 20).toFixed(1)} MB packed; made with \`git fast-import\` and cached in the temp directory; this run ${generateMs < 1000 ? 'reused it' : `built it in ${(generateMs / 1000).toFixed(1)} s`})`,
      'served by the GitHub simulator\'s git smart HTTP (`git http-backend`). Each preparation is `prepareWorkspace` as the worker calls it: clone, task branch, identity; one upstream commit lands before each "next" one.',
      '',
      '| preparation | ms |',
      '| --- | --- |',
      `| network clone, no mirror cache (\`AI_FIX_MIRROR_CACHE_MB=0\`), 2 runs | ${network.map((v) => v.toFixed(0)).join(', ')} |`,
      `| first through the mirror cache (builds the mirror) | ${first.ms.toFixed(0)} |`,
      `| next through the mirror cache (fetches one commit, local clone), 3 runs | ${next.map((v) => v.toFixed(0)).join(', ')} |`,
      '',
      `Ratios: next ÷ first **${result.ratios.nextOverFirst}×**, next ÷ network clone **${result.ratios.nextOverNetworkClone}×**.`,
      '',
      '`search` tool (`git grep` in the checkout, 10 runs each):',
      '',
      '| arguments | latency |',
      '| --- | --- |',
      ...Object.entries(search).map(([args, s]) => `| \`${args}\` | ${ms(s)} |`),
      '',
      'Goals: ' + Object.entries(goals).map(([goal, met]) => `${goal}: ${met ? '**met**' : '**NOT met**'}`).join(' · '),
      '',
      'Raw figures: [`bench/results/workspace.json`](../bench/results/workspace.json).',
    ].join('\n');
    await writeBenchmarkSection(ROOT, 'workspace', markdown);
    process.stdout.write(`${markdown}\n`);
    return Object.values(goals).every(Boolean);
  } finally {
    await github.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}
