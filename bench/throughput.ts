// Part "throughput": whole tasks (label → pull request → final progress comment) with the
// scripted model and the small calculator repository, through `ai-fix serve` and `ai-fix worker`
// at several concurrencies, all on one installation and spread over several, sampling the
// worker's resident memory and counting the GitHub writes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../test/support/app-process.ts';
import { createHarness } from '../test/support/harness.ts';
import { fixingCalculatorScript } from '../test/support/scripted-agents.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { describeMachine } from './machine.ts';
import { round } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const WHAT_BOUNDS_IT = [
  'What bounds it: every GitHub write goes through `@octokit/plugin-throttling`, which lets one write a second through per installation in each process, and one every three seconds of those that notify people (creating the progress comment, the pull request), as GitHub asks of integrations to avoid its secondary rate limits.',
  'On one installation the worker makes three or four writes per task (the final progress edit, the pull request, revoking the task\'s token, and an intermediate edit when the task has to wait), so its tasks stay near 15 a minute however many run at once; concurrency 1 is close to that already, because a quick task spends most of its time on those writes. Spread over installations, tasks do not wait for each other\'s writes and concurrency pays until the two cores are busy with clones, test runs and pushes.',
  'Progress-comment edits are coalesced (a new stage at most five seconds after the previous edit, the step count at most every fifteen, the final state at once), so a task shows one edit when it is quick and a few more when it waits for the cores or the write pace.',
].join(' ');

interface Level {
  concurrency: number;
  installations: number;
  tasks: number;
  seconds: number;
  tasksPerMinute: number;
  idleRssMb: number;
  peakRssMb: number;
  rssPerConcurrentTaskMb: number;
  writesPerTask: number;
  /** REST writes (not token minting) by route, per task. */
  writesPerTaskByRoute: Record<string, number>;
}

function route(method: string, apiPath: string): string {
  const shape = apiPath
    .replace(/^\/api\/v3/, '')
    .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{owner}/{repo}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
  return `${method} ${shape}`;
}

async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function level(concurrency: number, tasks: number, installations: number): Promise<Level> {
  const h = await createHarness(`bench-tp-${concurrency}-${installations}`);
  try {
    h.model.script(fixingCalculatorScript());
    const server = await h.start('serve');
    const worker = await h.start('worker', { AI_FIX_CONCURRENCY: String(concurrency) });
    const repos = await Promise.all(Array.from({ length: tasks }, (_, i) => h.newRepo(`calculator-${i}`)));
    const installationIds = [h.github.installationId, ...Array.from({ length: installations - 1 }, () => h.github.addInstallation())];
    const pid = worker.child.pid!;
    const idleRssMb = await rssMb(pid);
    let peakRssMb = idleRssMb;
    const sampler = setInterval(() => void rssMb(pid).then((mb) => (peakRssMb = Math.max(peakRssMb, mb))), 100);
    const started = performance.now();
    const issues: number[] = [];
    for (const [i, repo] of repos.entries()) {
      issues.push(h.newIssue(repo));
      const response = await h.label(server, repo, issues[i]!, { installationId: installationIds[i % installations] });
      if (response.status !== 200) throw new Error(`label answered ${response.status}: ${response.body}`);
    }
    // A task ends when its job completes: pull request opened, final comment written, token revoked.
    await waitFor('every task', async () => (await h.queue.getJobCounts('completed')).completed === tasks, 300_000, 50);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const unfinished = repos.filter((repo, i) => h.github.pulls('acme', repo.name).length === 0 || !h.progressComment(repo, issues[i]!)?.body.includes('finished'));
    if (unfinished.length) throw new Error(`tasks without a pull request or a final comment: ${unfinished.map((r) => r.name).join(', ')}`);
    const writes = h.github.requests.filter(
      (r) => r.path.startsWith('/api/v3/') && r.method !== 'GET' && r.method !== 'HEAD' && !r.path.endsWith('/access_tokens'),
    );
    const byRoute: Record<string, number> = {};
    for (const r of writes) byRoute[route(r.method, r.path)] = (byRoute[route(r.method, r.path)] ?? 0) + 1;
    return {
      concurrency,
      installations,
      tasks,
      seconds: round(seconds),
      tasksPerMinute: round((tasks / seconds) * 60, 1),
      idleRssMb: round(idleRssMb, 1),
      peakRssMb: round(peakRssMb, 1),
      rssPerConcurrentTaskMb: round((peakRssMb - idleRssMb) / Math.min(concurrency, tasks), 1),
      writesPerTask: round(writes.length / tasks, 2),
      writesPerTaskByRoute: Object.fromEntries(Object.entries(byRoute).map(([k, n]) => [k, round(n / tasks, 2)])),
    };
  } finally {
    await h.close();
  }
}

export async function runThroughputBench(options: Map<string, string>): Promise<boolean> {
  const levels = (options.get('concurrency') ?? '1,4,8').split(',').map(Number);
  const perSlot = Number(options.get('tasks-per-slot') ?? 2);
  const command = `npm run bench -- throughput${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;
  const results: Level[] = [];
  // Each concurrency on one installation (GitHub's pace for one customer), and above 1 also with
  // the tasks spread round-robin over as many installations as tasks run at once.
  for (const concurrency of levels) {
    const tasks = Math.max(6, concurrency * perSlot);
    results.push(await level(concurrency, tasks, 1));
    if (concurrency > 1) results.push(await level(concurrency, tasks, concurrency));
  }
  const base = results[0]!;
  const key = (r: Level) => `c${r.concurrency}i${r.installations}`;
  const machine = describeMachine();
  const result = {
    command,
    date: new Date().toISOString(),
    machine,
    levels: results,
    ratios: Object.fromEntries(results.map((r) => [`${key(r)}Over${key(base)}`, round(r.tasksPerMinute / base.tasksPerMinute)])),
  };
  await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await fs.writeFile(path.join(ROOT, 'bench/results/throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  const routes = [...new Set(results.flatMap((r) => Object.keys(r.writesPerTaskByRoute)))].sort();
  const markdown = [
    '## Throughput and memory: whole tasks',
    '',
    `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine}.`,
    '',
    'Each task is a labelled issue on its own copy of the small calculator repository, run end to end by `ai-fix serve` and `ai-fix worker` (started by the test harness, `AI_FIX_CONCURRENCY` as below)',
    'against the GitHub and model simulators with the scripted model that fixes it (read, edit, test, finish): clone, sandboxed test runs, push, pull request and final progress comment included.',
    'Each concurrency runs with every task on one installation, and above 1 also with the tasks spread over as many installations (organisations or accounts that installed the app) as tasks run at once.',
    'Time runs from the first label to the last task\'s job completing. RSS is the worker process\'s `VmRSS` (its git and test child processes not included), sampled every 100 ms; per concurrent task is (peak − idle) ÷ concurrency.',
    'Writes are the REST requests other than GET that reached the GitHub simulator (server and worker; minting tokens not counted).',
    '',
    '| concurrency | installations | tasks | seconds | tasks/min | × concurrency 1 | GitHub writes per task | worker RSS idle / peak, MB | RSS per concurrent task, MB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.concurrency} | ${r.installations} | ${r.tasks} | ${r.seconds} | ${r.tasksPerMinute} | ${round(r.tasksPerMinute / base.tasksPerMinute)}× | ${r.writesPerTask} | ${r.idleRssMb} / ${r.peakRssMb} | ${r.rssPerConcurrentTaskMb} |`,
    ),
    '',
    'Writes per task, by request:',
    '',
    `| request | ${results.map((r) => `c${r.concurrency}, ${r.installations} inst.`).join(' | ')} |`,
    `| --- | ${results.map(() => '---').join(' | ')} |`,
    ...routes.map((name) => `| \`${name}\` | ${results.map((r) => r.writesPerTaskByRoute[name] ?? 0).join(' | ')} |`),
    '',
    WHAT_BOUNDS_IT,
    '',
    'Raw figures: [`bench/results/throughput.json`](../bench/results/throughput.json).',
  ].join('\n');
  await writeBenchmarkSection(ROOT, 'throughput', markdown);
  process.stdout.write(`${markdown}\n`);
  return true;
}
