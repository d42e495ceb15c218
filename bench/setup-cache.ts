// Part "setup-cache": the second task's setup with the dependency cache against the first (issue
// 14). A Node project depending on a few dozen small packages, served by a stand-in npm registry
// on loopback with a per-request latency; each task's setup (`npm ci`) runs in a TaskBox of its
// own (mode `none`) with a fresh home, as the worker's `runSetup` does: the first task installs
// and saves the home's package caches (saveHomeCache, adoptEntry), the second restores them
// (restoreHomeCache) before installing, and a second task without the cache is the baseline.
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { restoreHomeCache, saveHomeCache } from '../src/sandbox/box-cache.ts';
import type { SandboxPolicy } from '../src/sandbox/sandbox-policy.ts';
import { openTaskBox } from '../src/sandbox/task-box.ts';
import { adoptEntry, cacheEntry, dependencyKey, usableEntry, type DependencyCache } from '../src/workspace/dependency-cache.ts';
import { checkoutForBox, type Workspace } from '../src/workspace/prepare-workspace.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { describeMachine } from './machine.ts';
import { round, summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const execFileAsync = promisify(execFile);
const REPO_ID = 1414;
const COMMAND_TIMEOUT_MS = 120_000;

/** A small deterministic generator, so every run serves the same packages. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const WORDS = ['value', 'input', 'result', 'options', 'config', 'stream', 'buffer', 'parse', 'format', 'merge', 'assert', 'cache', 'token', 'node', 'list', 'map', 'key', 'index', 'error', 'state'];

/** JavaScript-looking source of about `bytes` bytes (compresses like code does). */
function source(random: () => number, bytes: number, name: string): string {
  const lines = [`'use strict';`, `// ${name}`];
  let size = 0;
  for (let f = 0; size < bytes; f++) {
    const w = () => WORDS[Math.floor(random() * WORDS.length)]!;
    const fn = `function ${w()}${f}(${w()}, ${w()}) {\n  const ${w()}${f} = ${w()}.${w()}(${Math.floor(random() * 1e6)});\n  if (${w()} > ${Math.floor(random() * 1000)}) return ${w()}${f} + '${w()}-${Math.floor(random() * 1e4)}';\n  return ${w()}(${w()}, ${f});\n}\nmodule.exports.${w()}${f} = ${w()}${f};`;
    lines.push(fn);
    size += fn.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

interface Tarball {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  file: string;
  bytes: Buffer;
  integrity: string;
  shasum: string;
}

/**
 * `count` packages `bench-dep-NN@1.0.0`, each a few source files (about `kb` KB), some depending
 * on later ones; tarballs made with tar (`package/` prefix, as `npm pack` lays them out).
 */
async function makePackages(dir: string, count: number, kb: number): Promise<Tarball[]> {
  const random = prng(14);
  const names = Array.from({ length: count }, (_, i) => `bench-dep-${String(i).padStart(2, '0')}`);
  const made: Tarball[] = [];
  await Promise.all(
    names.map(async (name, i) => {
      const dependencies: Record<string, string> = {};
      // About a third depend on one or two later packages: a tree, as real ones are, all hoisted.
      if (i + 2 < count && i % 3 === 0) dependencies[names[i + 1 + Math.floor(random() * (count - i - 1))]!] = '^1.0.0';
      if (i + 5 < count && i % 6 === 0) dependencies[names[count - 1]!] = '^1.0.0';
      const files = 4 + Math.floor(random() * 6);
      const per = Math.max(256, Math.floor((kb * 1024) / files));
      const root = path.join(dir, name, 'package');
      await fs.mkdir(path.join(root, 'lib'), { recursive: true });
      await fs.writeFile(path.join(root, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', description: `bench package ${i}`, main: 'index.js', license: 'MIT', dependencies }, null, 2)}\n`);
      await fs.writeFile(path.join(root, 'README.md'), `# ${name}\n\nA generated package for the setup-cache benchmark.\n`);
      await fs.writeFile(path.join(root, 'index.js'), `'use strict';\nmodule.exports = require('./lib/f0.js');\n`);
      const texts = Array.from({ length: files }, (_, f) => source(random, per, `${name}/lib/f${f}.js`));
      await Promise.all(texts.map((text, f) => fs.writeFile(path.join(root, 'lib', `f${f}.js`), text)));
      const file = path.join(dir, `${name}-1.0.0.tgz`);
      await execFileAsync('tar', ['-c', '-z', '-f', file, '--owner=0', '--group=0', '--numeric-owner', '--mtime=1985-10-26 08:15:00Z', '--sort=name', '-C', path.join(dir, name), 'package']);
      const bytes = await fs.readFile(file);
      made[i] = {
        name,
        version: '1.0.0',
        dependencies,
        file,
        bytes,
        integrity: `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}`,
        shasum: crypto.createHash('sha1').update(bytes).digest('hex'),
      };
    }),
  );
  return made;
}

type RequestKind = 'packument' | 'tarball' | 'audit' | 'other';

interface Registry {
  url: string;
  latencyMs: number;
  counts: Record<RequestKind, number>;
  bytesServed: number;
  reset(): void;
  close(): Promise<void>;
}

/** A stand-in npm registry on 127.0.0.1: packuments and tarballs, each response after `latencyMs`. */
async function startRegistry(packages: Tarball[], latencyMs: number): Promise<Registry> {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const zero = (): Record<RequestKind, number> => ({ packument: 0, tarball: 0, audit: 0, other: 0 });
  let url = '';
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const tarball = /^\/([^/]+)\/-\/([^/]+\.tgz)$/.exec(pathname);
    const packument = /^\/([^/]+)$/.exec(pathname);
    let kind: RequestKind = 'other';
    let status = 404;
    let body: Buffer | string = '{"error":"not found"}';
    let type = 'application/json';
    if (req.method === 'POST' && pathname.startsWith('/-/npm/v1/security/')) {
      kind = 'audit';
      status = 200;
      body = '{}';
    } else if (tarball && byName.get(tarball[1]!)?.file.endsWith(`/${tarball[2]}`)) {
      kind = 'tarball';
      status = 200;
      body = byName.get(tarball[1]!)!.bytes;
      type = 'application/octet-stream';
    } else if (packument && byName.has(packument[1]!)) {
      const p = byName.get(packument[1]!)!;
      kind = 'packument';
      status = 200;
      body = JSON.stringify({
        _id: p.name,
        name: p.name,
        'dist-tags': { latest: p.version },
        versions: {
          [p.version]: {
            _id: `${p.name}@${p.version}`,
            name: p.name,
            version: p.version,
            main: 'index.js',
            license: 'MIT',
            dependencies: p.dependencies,
            dist: { tarball: `${url}${p.name}/-/${path.basename(p.file)}`, integrity: p.integrity, shasum: p.shasum },
          },
        },
      });
    }
    registry.counts[kind]++;
    // The request body (an audit's) is read before the answer, as a real server would.
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        const bytes = typeof body === 'string' ? Buffer.from(body) : body;
        registry.bytesServed += bytes.length;
        res.writeHead(status, { 'content-type': type, 'content-length': bytes.length });
        res.end(bytes);
      }, registry.latencyMs);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const registry: Registry = {
    url,
    latencyMs,
    counts: zero(),
    bytesServed: 0,
    reset() {
      registry.counts = zero();
      registry.bytesServed = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return registry;
}

/** The environment of the host's own npm (the lockfile): nothing of the caller's npm config. */
function hostNpmEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C', CI: 'true', npm_config_update_notifier: 'false' };
}

function dirBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

type Kind = 'first' | 'cached' | 'uncached';

const KIND_LABELS: Record<Kind, string> = {
  first: 'first task: `npm ci`, then the caches saved (saveHomeCache + adoptEntry)',
  cached: 'second task, with the cache: restoreHomeCache, then `npm ci`',
  uncached: 'second task, without the cache (baseline): `npm ci`',
};

interface TaskRun {
  kind: Kind;
  totalMs: number;
  installMs: number;
  restoreMs?: number;
  saveMs?: number;
  requests: Record<RequestKind, number>;
  bytesServed: number;
  installed: number;
}

export async function runSetupCacheBench(options: Map<string, string>): Promise<boolean> {
  const count = Number(options.get('packages') ?? 48);
  const kb = Number(options.get('package-kb') ?? 24);
  const latencyMs = Number(options.get('latency') ?? 40);
  const rounds = Number(options.get('rounds') ?? 5);
  const budgetMs = Number(options.get('budget') ?? 90) * 1000;
  const command = `npm run bench -- setup-cache${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;
  const started = performance.now();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-bench-setup-cache-'));
  await fs.chmod(root, 0o711);
  let registry: Registry | undefined;
  const loadBefore = os.loadavg();
  try {
    const packages = await makePackages(path.join(root, 'packages'), count, kb);
    const tarballBytes = packages.reduce((sum, p) => sum + p.bytes.length, 0);
    registry = await startRegistry(packages, 0);
    const setup = `npm ci --registry ${registry.url}`;

    // The project: depends on every package directly (the tree adds nothing new, all hoisted);
    // its lockfile made against the stand-in registry, without latency.
    const project = path.join(root, 'project');
    await fs.mkdir(path.join(project, 'src'), { recursive: true });
    const manifest = { name: 'setup-cache-bench-app', version: '0.0.0', private: true, scripts: { test: 'node src/index.js' }, dependencies: Object.fromEntries(packages.map((p) => [p.name, '^1.0.0'])) };
    await fs.writeFile(path.join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await fs.writeFile(path.join(project, 'src/index.js'), `${packages.map((p) => `require('${p.name}');`).join('\n')}\nconsole.log('ok');\n`);
    await fs.writeFile(path.join(project, '.gitignore'), 'node_modules/\n');
    const lockStarted = performance.now();
    await execFileAsync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--registry', registry.url], { cwd: project, env: hostNpmEnv(path.join(root, 'host-home')), timeout: COMMAND_TIMEOUT_MS });
    const lockMs = performance.now() - lockStarted;
    const lock = JSON.parse(await fs.readFile(path.join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; integrity?: string }> };
    const locked = Object.entries(lock.packages).filter(([key]) => key.startsWith('node_modules/'));
    if (locked.length !== count || !locked.every(([, p]) => p.resolved?.startsWith(registry!.url) && p.integrity)) throw new Error(`the lockfile does not pin the ${count} packages to the stand-in registry`);

    // The task repository, as the worker's host repository of a job.
    const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid' };
    execFileSync('git', ['init', '-q', '-b', 'main', project]);
    execFileSync('git', ['-C', project, 'add', '-A']);
    execFileSync('git', ['-C', project, 'commit', '-qm', 'app'], { env: gitEnv });
    const hostGitDir = path.join(root, 'host.git');
    execFileSync('git', ['clone', '-q', '--bare', project, hostGitDir]);
    const baseSha = execFileSync('git', ['--git-dir', hostGitDir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const workspace = { hostGitDir, baseSha, objects: path.join(hostGitDir, 'objects') } as Workspace;

    const policy: SandboxPolicy = {
      mode: 'none',
      limits: { memoryBytes: 2 ** 32, processes: 4096, fileSizeBytes: 2 ** 30 },
      hidden: [],
      tmpBytes: 2 ** 28,
      exposed: [],
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
      toolchains: {},
      networkAllow: [],
    };
    const key = await dependencyKey(workspace, [setup, JSON.stringify(policy.toolchains)]);
    let jobs = 0;
    let versions = '';
    let archiveBytes = 0;
    let npmCacheBytes = 0;

    /** One task's setup, in a job directory laid out like the worker's and a box of its own. */
    const task = async (kind: Kind, cache: DependencyCache): Promise<TaskRun> => {
      const jobDir = path.join(root, 'work', `job-${++jobs}`);
      const box = { dir: path.join(jobDir, 'box', 'repo'), gitDir: path.join(jobDir, 'box', 'git'), home: path.join(jobDir, 'box', 'home') };
      await fs.mkdir(box.home, { recursive: true });
      await checkoutForBox({ hostGitDir, box, branch: `ai-fix/issue-${jobs}`, startSha: baseSha, cloneUrl: 'http://127.0.0.1:9/acme/app.git', committer: { name: 'ai-fix[bot]', email: 'ai-fix@example.invalid' } });
      const taskBox = await openTaskBox(policy, { workspace: box.dir, home: box.home, gitDir: box.gitDir, readOnly: [workspace.objects] });
      try {
        versions ||= (await taskBox.run('echo "node $(node -v), npm $(npm -v)"', { timeoutMs: 30_000 })).output.trim();
        registry!.reset();
        const entry = cacheEntry(cache, REPO_ID, key);
        const taskStarted = performance.now();
        // As runSetup: the entry when there is one, restored before the setup command.
        const usable = kind === 'uncached' ? null : await usableEntry(entry);
        let restoreMs: number | undefined;
        if (kind === 'cached') {
          if (!usable) throw new Error('the second task found no cache entry');
          const restoreStarted = performance.now();
          if (!(await restoreHomeCache(taskBox, usable))) throw new Error('restoreHomeCache failed');
          restoreMs = performance.now() - restoreStarted;
        } else if (usable) throw new Error('a cache entry before the first task');
        const installStarted = performance.now();
        const result = await taskBox.run(setup, { timeoutMs: COMMAND_TIMEOUT_MS });
        const installMs = performance.now() - installStarted;
        if (result.exitCode !== 0) throw new Error(`\`${setup}\` failed (${kind}): ${result.output.slice(-2000)}`);
        let saveMs: number | undefined;
        if (kind === 'first') {
          const saveStarted = performance.now();
          await fs.mkdir(cache.root, { recursive: true });
          const archive = `${entry}.job-${jobs}.partial`;
          if (!(await saveHomeCache(taskBox, archive, Math.min(cache.maxBytes, 2 ** 30)))) throw new Error('saveHomeCache failed');
          await adoptEntry(cache, archive, entry);
          saveMs = performance.now() - saveStarted;
          archiveBytes = (await fs.stat(entry)).size;
          npmCacheBytes = dirBytes(path.join(box.home, '.npm'));
        }
        const totalMs = performance.now() - taskStarted;
        const installed = (await fs.readdir(path.join(box.dir, 'node_modules')).catch(() => [] as string[])).filter((n) => n.startsWith('bench-dep-')).length;
        if (installed !== count) throw new Error(`${kind}: ${installed} of ${count} packages installed`);
        return { kind, totalMs, installMs, restoreMs, saveMs, requests: { ...registry!.counts }, bytesServed: registry!.bytesServed, installed };
      } finally {
        await taskBox.close();
        await fs.rm(jobDir, { recursive: true, force: true });
      }
    };

    registry.latencyMs = latencyMs;
    const runs: Record<Kind, TaskRun[]> = { first: [], cached: [], uncached: [] };
    let done = 0;
    for (let r = 0; r < rounds; r++) {
      if (done >= 2 && performance.now() - started > budgetMs) break;
      // A cache of the round's own: the first task always finds it empty.
      const cache: DependencyCache = { root: path.join(root, `dependency-cache-${r}`), maxBytes: 2 ** 30 };
      runs.first.push(await task('first', cache));
      // The two second tasks in alternating order, so neither always runs right after the first.
      const order: Kind[] = r % 2 ? ['uncached', 'cached'] : ['cached', 'uncached'];
      for (const kind of order) runs[kind].push(await task(kind, cache));
      await fs.rm(cache.root, { recursive: true, force: true });
      done++;
      process.stdout.write(`round ${r + 1}/${rounds}: ${(Object.keys(runs) as Kind[]).map((k) => `${k} ${runs[k].at(-1)!.totalMs.toFixed(0)}`).join(' · ')} ms\n`);
    }
    const loadAfter = os.loadavg();
    const kinds = Object.keys(runs) as Kind[];
    const summaries = Object.fromEntries(kinds.map((k) => [k, summarize(runs[k].map((run) => run.totalMs))])) as Record<Kind, Summary>;
    const part = (k: Kind, field: 'installMs' | 'restoreMs' | 'saveMs') => summarize(runs[k].map((run) => run[field] ?? 0));
    const requests = Object.fromEntries(kinds.map((k) => [k, Object.fromEntries((Object.keys(runs[k][0]!.requests) as RequestKind[]).map((q) => [q, Math.max(...runs[k].map((run) => run.requests[q]))]))])) as Record<Kind, Record<RequestKind, number>>;
    const roundSummary = (s: Summary) => ({ mean: round(s.mean), p50: round(s.p50), p95: round(s.p95), max: round(s.max) });
    const ratio = round(summaries.cached.p50 / summaries.first.p50, 3);
    const ratioToBaseline = round(summaries.cached.p50 / summaries.uncached.p50, 3);
    const goals = {
      'second task with the cache faster than the first': summaries.cached.p50 < summaries.first.p50,
      'second task with the cache faster than without': summaries.cached.p50 < summaries.uncached.p50,
      'no tarball downloaded with the cache': runs.cached.every((run) => run.requests.tarball === 0),
    };
    const machine = describeMachine();
    const elapsedMs = performance.now() - started;
    const result = {
      command,
      date: new Date().toISOString(),
      machine,
      tools: versions,
      loadAverage: { before: loadBefore.map((v) => round(v)), after: loadAfter.map((v) => round(v)) },
      project: { packages: count, packageKb: kb, tarballBytes, lockfileMs: round(lockMs) },
      registry: { latencyMs, served: 'loopback (127.0.0.1), stand-in written in the bench' },
      setupCommand: 'npm ci --registry <stand-in>',
      rounds: done,
      archive: { bytes: archiveBytes, npmCacheDirBytes: npmCacheBytes },
      setupMs: Object.fromEntries(kinds.map((k) => [k, runs[k].map((run) => round(run.totalMs))])),
      summaryMs: Object.fromEntries(kinds.map((k) => [k, roundSummary(summaries[k])])),
      phasesMs: {
        first: { install: roundSummary(part('first', 'installMs')), save: roundSummary(part('first', 'saveMs')) },
        cached: { restore: roundSummary(part('cached', 'restoreMs')), install: roundSummary(part('cached', 'installMs')) },
        uncached: { install: roundSummary(part('uncached', 'installMs')) },
      },
      requestsPerTaskMax: requests,
      cachedOverFirst: ratio,
      cachedOverUncached: ratioToBaseline,
      elapsedMs: round(elapsedMs),
      goals,
    };
    await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    await fs.writeFile(path.join(ROOT, 'bench/results/setup-cache.json'), `${JSON.stringify(result, null, 2)}\n`);

    const ms = (s: Summary) => `**${s.p50.toFixed(0)}** | ${s.p95.toFixed(0)}`;
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
    const req = (k: Kind) => `${requests[k].tarball} tarballs, ${requests[k].packument} packuments, ${requests[k].audit} audit`;
    const markdown = [
      '## Setup cache: the second task\'s setup against the first',
      '',
      `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine} (load average ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after); in the box: ${versions}.`,
      '',
      `A Node project depending on ${count} generated packages (${mb(tarballBytes)} of tarballs, some depending on others), its \`package-lock.json\` made against a stand-in npm registry the bench serves on 127.0.0.1 (packuments and tarballs with their integrity) that answers every request after **${latencyMs} ms**.`,
      "Each task's setup is `npm ci --registry <stand-in>` in a TaskBox of its own (mode `none`), in a job directory laid out like the worker's with a fresh home, timed as `runSetup` runs it:",
      `the first task installs, then saves the home's package caches (\`saveHomeCache\` inside the box, \`adoptEntry\` on the host); the second restores them (\`restoreHomeCache\`) before installing; a second task without the cache is the baseline. ${done} rounds, each with a new, empty cache.`,
      '',
      '| setup | runs (ms) | median ms | p95 ms | ÷ first |',
      '| --- | --- | --- | --- | --- |',
      ...kinds.map((k) => `| ${KIND_LABELS[k]} | ${runs[k].map((run) => run.totalMs.toFixed(0)).join(', ')} | ${ms(summaries[k])} | ${round(summaries[k].p50 / summaries.first.p50, 3)}× |`),
      '',
      `**Second task with the cache ÷ first: ${ratio}×** (÷ second without the cache: ${ratioToBaseline}×). Median phases: first — install ${result.phasesMs.first.install.p50.toFixed(0)}, save ${result.phasesMs.first.save.p50.toFixed(0)} ms; with the cache — restore ${result.phasesMs.cached.restore.p50.toFixed(0)}, install ${result.phasesMs.cached.install.p50.toFixed(0)} ms.`,
      `Archive: ${mb(archiveBytes)} (\`$HOME/.npm\` after the first install: ${mb(npmCacheBytes)}). Requests per task (most in a run): first ${req('first')}; with the cache ${req('cached')}; without ${req('uncached')}.`,
      '',
      "Not measured: the sandbox's isolation (no bwrap, no task user, no egress proxy: the box runs commands unisolated), a real registry's bandwidth, TLS and varying latency (loopback plus a fixed synthetic delay per request), install scripts and native builds, and other package managers. p95 of this few runs is about the slowest.",
      '',
      'Goals: ' + Object.entries(goals).map(([goal, met]) => `${goal}: ${met ? '**met**' : '**NOT met**'}`).join(' · '),
      '',
      'Raw figures: [`bench/results/setup-cache.json`](../bench/results/setup-cache.json).',
    ].join('\n');
    await writeBenchmarkSection(ROOT, 'setup-cache', markdown);
    process.stdout.write(`${markdown}\n`);
    return Object.values(goals).every(Boolean);
  } finally {
    await registry?.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}
