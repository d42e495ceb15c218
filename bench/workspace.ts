// Part "workspace": preparing a checkout of a large repository served over git smart HTTP by the
// GitHub simulator, beside what a person would run: a plain `git clone` and a blobless one. In each
// round, in a rotating order: the plain clone, the blobless clone, ai-fix's preparation without a
// mirror cache, its first preparation (cold mirror) and, after one upstream commit, its next one
// (warm mirror). Every git command is traced (trace2) to say where the time goes. Then the agent's
// `search` tool (`git grep`) on the last checkout.
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
import { git } from '../src/workspace/git.ts';
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type Kind = 'plainClone' | 'bloblessClone' | 'noMirror' | 'first' | 'warm';

const KIND_LABELS: Record<Kind, string> = {
  plainClone: 'plain `git clone <url>` (full history, checkout)',
  bloblessClone: 'blobless `git clone --filter=blob:none <url>`',
  noMirror: 'ai-fix, no mirror cache (`AI_FIX_MIRROR_CACHE_MB=0`)',
  first: 'ai-fix, first preparation (cold mirror: builds it)',
  warm: 'ai-fix, next preparation (warm mirror, one new upstream commit)',
};

/**
 * Where a run's time went, from the trace2 event files of the git commands it ran (one file per
 * process; only the commands a program started count, not their own children). Commands that ran
 * concurrently each count their own time.
 */
async function gitPhases(traceDir: string, mirrorsRoot: string): Promise<Record<string, number>> {
  const phases: Record<string, number> = {};
  const add = (phase: string, seconds: number) => (phases[phase] = (phases[phase] ?? 0) + seconds * 1000);
  for (const name of await fs.readdir(traceDir).catch(() => [])) {
    const events = (await fs.readFile(path.join(traceDir, name), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string; sid: string; argv?: string[]; t_abs?: number; t_rel?: number; category?: string; label?: string; nesting?: number });
    const start = events.find((e) => e.event === 'start');
    const exit = events.find((e) => e.event === 'exit');
    if (!start?.argv || !exit || start.sid.includes('/')) continue;
    const args: string[] = [];
    for (let i = 1; i < start.argv.length; i++) {
      if (start.argv[i] === '-c') i++;
      else args.push(start.argv[i]!);
    }
    const command = args.find((a) => !a.startsWith('-')) ?? '?';
    const intoMirror = args.some((a) => a.startsWith(`--git-dir=${mirrorsRoot}`));
    const checkout = events.find((e) => e.event === 'region_leave' && e.category === 'unpack_trees' && e.label === 'unpack_trees' && e.nesting === 1)?.t_rel ?? 0;
    if (command === 'clone' && !args.includes('--bare') && !args.includes('--shared')) {
      // A person's clone: the transfer, then the checkout of the files (unpack_trees).
      add('clone: transfer and index', exit.t_abs! - checkout);
      add('checkout (writing the files)', checkout);
    } else if (command === 'fetch') add(intoMirror ? 'fetch into the mirror' : 'fetch (network)', exit.t_abs!);
    else if (command === 'clone' && args.includes('--shared')) add('box clone (`--shared --no-checkout`)', exit.t_abs!);
    else if (command === 'clone' && args.some((a) => a.includes('://'))) add(args.some((a) => a.startsWith(mirrorsRoot)) ? 'clone into the mirror (network)' : 'bare clone (network)', exit.t_abs!);
    else if (command === 'clone') add('host repository from the mirror (local clone)', exit.t_abs!);
    else if (command === 'checkout') add('checkout (writing the files)', exit.t_abs!);
    else if (command === 'ls-remote') add('ls-remote (task branch)', exit.t_abs!);
    else add('other git commands', exit.t_abs!);
  }
  return phases;
}

export async function runWorkspaceBench(options: Map<string, string>): Promise<boolean> {
  const shape: LargeRepoShape = { files: Number(options.get('files') ?? 20_000), commits: Number(options.get('commits') ?? 2_000), filesPerCommit: 10 };
  const rounds = Number(options.get('rounds') ?? 5);
  const command = `npm run bench -- workspace${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;
  const generated = performance.now();
  const source = await largeRepo(shape);
  const generateMs = performance.now() - generated;
  const github = await startGitHubSim();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-bench-ws-'));
  // Every git command this process starts reads HOME's config: it sends its trace2 events to the
  // run's own directory. Nothing else in it (the worker's HOME has an identity only).
  const home = path.join(root, 'home');
  const savedHome = process.env.HOME;
  await fs.mkdir(home, { recursive: true });
  process.env.HOME = home;
  const loadBefore = os.loadavg();
  try {
    const repo = await github.createRepo({ owner: 'acme', name: 'large', files: { 'README.md': 'x\n' } });
    await fs.rm(repo.bareDir, { recursive: true, force: true });
    execFileSync('git', ['clone', '-q', '--bare', '--no-local', source, repo.bareDir]);
    execFileSync('git', ['config', 'http.receivepack', 'true'], { cwd: repo.bareDir });
    // As on GitHub: partial clones (`--filter`) are served.
    execFileSync('git', ['config', 'uploadpack.allowFilter', 'true'], { cwd: repo.bareDir });
    const packBytes = Number(execFileSync('du', ['-sb', repo.bareDir], { encoding: 'utf8' }).split('\t')[0]);
    const token = github.mintToken();
    let runs = 0;
    let upstream = 0;
    const traced = async (kind: Kind, work: (dir: string) => Promise<Workspace | null>, mirrorsRoot = path.join(root, 'mirrors')) => {
      const dir = path.join(root, `run-${++runs}`);
      const traces = path.join(root, `trace-${runs}`);
      await fs.mkdir(traces, { recursive: true });
      await fs.writeFile(path.join(home, '.gitconfig'), `[trace2]\n\teventTarget = ${traces}\n`);
      const started = performance.now();
      const workspace = await work(dir);
      const elapsed = performance.now() - started;
      await fs.writeFile(path.join(home, '.gitconfig'), '');
      const phases = await gitPhases(traces, mirrorsRoot);
      await fs.rm(traces, { recursive: true, force: true });
      return { kind, ms: elapsed, phases, dir, workspace };
    };
    const prepare = (dir: string, cache?: MirrorCache) =>
      prepareWorkspace({
        jobDir: dir,
        cloneUrl: repo.cloneUrl,
        defaultBranch: 'main',
        branch: 'ai-fix/issue-1',
        token,
        committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' },
        mirrors: cache,
      });
    let bloblessPartial = true;
    const times: Record<Kind, number[]> = { plainClone: [], bloblessClone: [], noMirror: [], first: [], warm: [] };
    const phaseRuns: Record<Kind, Array<Record<string, number>>> = { plainClone: [], bloblessClone: [], noMirror: [], first: [], warm: [] };
    let last: Workspace | null = null;
    const record = async (run: { kind: Kind; ms: number; phases: Record<string, number>; dir: string; workspace: Workspace | null }, keep = false) => {
      times[run.kind].push(run.ms);
      phaseRuns[run.kind].push(run.phases);
      if (keep && run.workspace) {
        if (last) await fs.rm(last.jobDir, { recursive: true, force: true });
        last = run.workspace;
      } else await fs.rm(run.dir, { recursive: true, force: true });
    };
    // Units of one round; the first and the warm preparation share the round's new mirror cache.
    const units: Array<() => Promise<void>> = [
      async () => record(await traced('plainClone', async (dir) => (await git(['clone', '--quiet', repo.cloneUrl, dir], { token }), null))),
      async () =>
        record(
          await traced('bloblessClone', async (dir) => {
            await git(['clone', '--quiet', '--filter=blob:none', repo.cloneUrl, dir], { token });
            // The server must have honoured the filter, or this is just another full clone.
            bloblessPartial &&= (await git(['config', '--get', 'remote.origin.promisor'], { cwd: dir }).catch(() => '')).trim() === 'true';
            return null;
          }),
        ),
      async () => record(await traced('noMirror', (dir) => prepare(dir))),
      async () => {
        const mirrors: MirrorCache = { root: path.join(root, `mirrors-${runs + 1}`), maxBytes: 4 * 2 ** 30 };
        await record(await traced('first', (dir) => prepare(dir, mirrors), mirrors.root));
        upstreamCommit(repo.bareDir, upstream++);
        await record(await traced('warm', (dir) => prepare(dir, mirrors), mirrors.root), true);
        await fs.rm(mirrors.root, { recursive: true, force: true });
      },
    ];
    for (let r = 0; r < rounds; r++) {
      // A rotating order, so no kind always runs right after another's clean-up.
      for (let u = 0; u < units.length; u++) await units[(u + r) % units.length]!();
      process.stdout.write(`round ${r + 1}/${rounds}: ${(Object.keys(times) as Kind[]).map((k) => `${k} ${times[k].at(-1)!.toFixed(0)}`).join(' · ')} ms\n`);
    }
    const loadAfter = os.loadavg();
    const workspace = last as Workspace | null;
    if (!workspace) throw new Error('no preparation kept');
    const files = Number(execFileSync('git', [`--git-dir=${workspace.box.gitDir}`, 'ls-files'], { cwd: workspace.box.dir, encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n').filter(Boolean).length);

    // The search runs as in a task, through the box (unisolated here: this measures git grep).
    const box = await openTaskBox(
      { mode: 'none', limits: { memoryBytes: 4 * 2 ** 30, processes: 4096, fileSizeBytes: 1 << 30 }, hidden: [], tmpBytes: 1 << 28, exposed: [], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, toolchains: {}, networkAllow: [] },
      { workspace: workspace.box.dir, home: workspace.box.home, gitDir: workspace.box.gitDir, readOnly: [workspace.objects] },
    );
    const signal = new AbortController().signal;
    const context = { root: await fs.realpath(workspace.box.dir), signal, views: new FileViews(), ...boxAccess(box, { objects: workspace.objects, baseSha: workspace.baseSha, commandTimeoutMs: 60_000, signal }) } as unknown as ToolContext;
    const queries: Array<Record<string, unknown>> = [
      { query: 'value12345' },
      { query: 'step 19' },
      { query: 'input \\* 5[0-9] \\+', regex: true },
      { query: 'return input', path_glob: 'src/pkg3/**/*.ts' },
    ];
    const search: Record<string, Summary> = {};
    const searchErrors: Record<string, string> = {};
    for (const args of queries) {
      const latencies: number[] = [];
      for (let r = 0; r < 10; r++) {
        const started = performance.now();
        try {
          await searchTool.run(args, context);
        } catch (err) {
          // Recorded rather than thrown: the preparation figures above stand on their own.
          searchErrors[JSON.stringify(args)] = (err as Error).message;
          break;
        }
        latencies.push(performance.now() - started);
      }
      if (latencies.length) search[JSON.stringify(args)] = summarize(latencies);
    }

    const medians = Object.fromEntries((Object.keys(times) as Kind[]).map((k) => [k, round(median(times[k]))])) as Record<Kind, number>;
    const plain = medians.plainClone;
    const ratios = Object.fromEntries((Object.keys(times) as Kind[]).map((k) => [k, round(medians[k] / plain, 3)])) as Record<Kind, number>;
    const phaseNames = [...new Set(Object.values(phaseRuns).flatMap((runs) => runs.flatMap((p) => Object.keys(p))))];
    const phaseMedians = Object.fromEntries(
      (Object.keys(phaseRuns) as Kind[]).map((k) => [k, Object.fromEntries(phaseNames.filter((n) => phaseRuns[k].some((p) => n in p)).map((n) => [n, round(median(phaseRuns[k].map((p) => p[n] ?? 0)))]))]),
    ) as Record<Kind, Record<string, number>>;
    const goals = {
      'first preparation (cold mirror) ≤ a plain git clone': ratios.first <= 1,
      'next preparation (warm mirror) ≤ 50% of a plain git clone': ratios.warm <= 0.5,
      'blobless clone measured as a partial clone': bloblessPartial,
    };
    const machine = describeMachine();
    const result = {
      command,
      date: new Date().toISOString(),
      machine,
      loadAverage: { before: loadBefore.map((v) => round(v)), after: loadAfter.map((v) => round(v)) },
      repository: { ...shape, trackedFiles: files, serverBytes: packBytes, generateMs: round(generateMs) },
      rounds,
      preparationMs: Object.fromEntries((Object.keys(times) as Kind[]).map((k) => [k, times[k].map((v) => round(v))])),
      medianMs: medians,
      ratiosToPlainClone: ratios,
      warmOverFirst: round(medians.warm / medians.first, 3),
      gitPhasesMedianMs: phaseMedians,
      searchMs: search,
      ...(Object.keys(searchErrors).length ? { searchErrors } : {}),
      goals,
    };
    await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    await fs.writeFile(path.join(ROOT, 'bench/results/workspace.json'), `${JSON.stringify(result, null, 2)}\n`);
    const kinds = Object.keys(times) as Kind[];
    const phaseKinds = kinds.filter((k) => Object.keys(phaseMedians[k]).length);
    const markdown = [
      '## Workspace: preparing a large repository',
      '',
      `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine} (load average ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after: other programs ran on this machine too).`,
      '',
      `A synthetic repository (${files.toLocaleString('en-US')} files, ${shape.commits.toLocaleString('en-US')} commits, ${(packBytes / 2 ** 20).toFixed(1)} MB packed; made with \`git fast-import\` and cached in the temp directory; this run ${generateMs < 1000 ? 'reused it' : `built it in ${(generateMs / 1000).toFixed(1)} s`})`,
      "served by the GitHub simulator's git smart HTTP (`git http-backend`, partial clone allowed as on GitHub). Each ai-fix preparation is `prepareWorkspace` as the worker calls it: host repository, task branch, the box's checkout, identity.",
      `${rounds} rounds, each running every kind once in a rotating order; one upstream commit lands before each next preparation.`,
      '',
      '| preparation | runs (ms) | median | ÷ plain clone |',
      '| --- | --- | --- | --- |',
      ...kinds.map((k) => `| ${KIND_LABELS[k]} | ${times[k].map((v) => v.toFixed(0)).join(', ')} | **${medians[k].toFixed(0)}** | **${ratios[k]}×** |`),
      '',
      `Next ÷ first: ${result.warmOverFirst}×.`,
      '',
      'Where the time goes: median milliseconds per git command kind (trace2), per preparation kind; commands that ran at once each count in full. A person\'s clone is split at its checkout (`unpack_trees`); the blobless clone fetches the blobs of the checkout during it.',
      '',
      `| git command | ${phaseKinds.map((k) => k).join(' | ')} |`,
      `| --- | ${phaseKinds.map(() => '---').join(' | ')} |`,
      ...phaseNames.map((n) => `| ${n} | ${phaseKinds.map((k) => (n in phaseMedians[k] ? phaseMedians[k][n]!.toFixed(0) : '')).join(' | ')} |`),
      '',
      'How ai-fix prepares: the first task of a repository clones it, bare, into the mirror (a clone, not init + fetch: git trusts the pack it received and skips the walk over every object a fetch makes); the task\'s host repository is a local clone of the mirror (hard links: nothing copied, and removing the mirror later cannot break the task); whether the task branch exists is asked at the same time; the box\'s checkout borrows the host\'s objects and is written by parallel `checkout.workers`. Writing the files is most of the time on a large repository, for a person\'s clone too, and parallel workers write them several times as fast on this disk. A blobless mirror was measured and not taken: it transfers less history, but the checkout\'s blobs then come in a second round trip (here more than the whole history in one), and the box, which has no network, could not read the blobs of earlier commits (`git log -p`, `blame`). `index.version 4`, `core.untrackedCache` and `feature.manyFiles` changed neither the checkout nor `git status` measurably.',
      '',
      '`search` tool (`git grep` in the checkout, 10 runs each):',
      '',
      '| arguments | latency |',
      '| --- | --- |',
      ...queries.map((args) => JSON.stringify(args)).map((key) => `| \`${key}\` | ${search[key] ? ms(search[key]) : `failed: ${searchErrors[key]}`} |`),
      '',
      'Goals: ' + Object.entries(goals).map(([goal, met]) => `${goal}: ${met ? '**met**' : '**NOT met**'}`).join(' · '),
      '',
      'Raw figures: [`bench/results/workspace.json`](../bench/results/workspace.json).',
    ].join('\n');
    await writeBenchmarkSection(ROOT, 'workspace', markdown);
    process.stdout.write(`${markdown}\n`);
    return Object.values(goals).every(Boolean);
  } finally {
    process.env.HOME = savedHome;
    await github.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}
