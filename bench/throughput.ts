// Part "throughput": whole tasks (label → pull request) with the scripted model and the small
// calculator repository, through `ai-fix serve` and `ai-fix worker` at several concurrencies,
// sampling the worker's resident memory.
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

interface Level {
  concurrency: number;
  tasks: number;
  seconds: number;
  tasksPerMinute: number;
  idleRssMb: number;
  peakRssMb: number;
  rssPerConcurrentTaskMb: number;
}

async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function level(concurrency: number, tasks: number): Promise<Level> {
  const h = await createHarness(`bench-tp-${concurrency}`);
  try {
    h.model.script(fixingCalculatorScript());
    const server = await h.start('serve');
    const worker = await h.start('worker', { AI_FIX_CONCURRENCY: String(concurrency) });
    const repos = await Promise.all(Array.from({ length: tasks }, (_, i) => h.newRepo(`calculator-${i}`)));
    const pid = worker.child.pid!;
    const idleRssMb = await rssMb(pid);
    let peakRssMb = idleRssMb;
    const sampler = setInterval(() => void rssMb(pid).then((mb) => (peakRssMb = Math.max(peakRssMb, mb))), 100);
    const started = performance.now();
    for (const repo of repos) {
      const response = await h.label(server, repo, h.newIssue(repo));
      if (response.status !== 200) throw new Error(`label answered ${response.status}: ${response.body}`);
    }
    await waitFor('every pull request', () => repos.every((repo) => h.github.pulls('acme', repo.name).length > 0), 300_000, 50);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    return {
      concurrency,
      tasks,
      seconds: round(seconds),
      tasksPerMinute: round((tasks / seconds) * 60, 1),
      idleRssMb: round(idleRssMb, 1),
      peakRssMb: round(peakRssMb, 1),
      rssPerConcurrentTaskMb: round((peakRssMb - idleRssMb) / Math.min(concurrency, tasks), 1),
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
  for (const concurrency of levels) results.push(await level(concurrency, Math.max(6, concurrency * perSlot)));
  const base = results[0]!;
  const machine = describeMachine();
  const result = { command, date: new Date().toISOString(), machine, levels: results, ratios: Object.fromEntries(results.map((r) => [`c${r.concurrency}OverC${base.concurrency}`, round(r.tasksPerMinute / base.tasksPerMinute)])) };
  await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await fs.writeFile(path.join(ROOT, 'bench/results/throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  const markdown = [
    '## Throughput and memory: whole tasks',
    '',
    `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine}.`,
    '',
    'Each task is a labelled issue on its own copy of the small calculator repository, run end to end by `ai-fix serve` and `ai-fix worker` (started by the test harness, `AI_FIX_CONCURRENCY` as below)',
    'against the GitHub and model simulators with the scripted model that fixes it (read, edit, test, finish): clone, sandboxed test runs, push and pull request included.',
    'Time runs from the first label to the last pull request. RSS is the worker process\'s `VmRSS` (its git and test child processes not included), sampled every 100 ms; per concurrent task is (peak − idle) ÷ concurrency.',
    '',
    '| concurrency | tasks | seconds | tasks/min | × concurrency 1 | worker RSS idle / peak, MB | RSS per concurrent task, MB |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => `| ${r.concurrency} | ${r.tasks} | ${r.seconds} | ${r.tasksPerMinute} | ${round(r.tasksPerMinute / base.tasksPerMinute)}× | ${r.idleRssMb} / ${r.peakRssMb} | ${r.rssPerConcurrentTaskMb} |`),
    '',
    'What bounds it: tasks start together (the worker log shows all of them running at once), but every GitHub write (reaction, progress-comment edits, push-side API calls, the pull request) goes through `@octokit/plugin-throttling`, whose write limiter lets one write per second through per worker process, shared by all its tasks and installations, as GitHub asks of integrations to avoid its secondary rate limits. A task makes several writes, so tasks per minute stay near 60 ÷ (writes per task) at any concurrency on one installation. That pacing protects the app against real GitHub and is kept; more throughput on one installation would have to come from fewer progress-comment edits per task.',
    '',
    'Raw figures: [`bench/results/throughput.json`](../bench/results/throughput.json).',
  ].join('\n');
  await writeBenchmarkSection(ROOT, 'throughput', markdown);
  process.stdout.write(`${markdown}\n`);
  return true;
}
