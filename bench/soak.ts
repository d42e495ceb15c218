// `npm run soak`: many tasks through the whole app while workers are killed with SIGKILL at
// random, then counts tasks lost and duplicate pull requests (both must be 0).
// Usage: npm run soak -- [tasks=50] [workers=3] [kill-every-seconds=8]
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, type AppProcess } from '../test/support/app-process.ts';
import { createHarness, type Harness } from '../test/support/harness.ts';
import { fixingCalculatorScript } from '../test/support/scripted-agents.ts';
import type { SimRepo } from '../test/support/github-sim.ts';

const [tasks = 50, workerCount = 3, killEverySeconds = 8] = process.argv.slice(2).map(Number);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_ENV = { AI_FIX_JOB_LOCK_SECONDS: '5', AI_FIX_CONCURRENCY: '2' };

async function main(): Promise<void> {
  const h: Harness = await createHarness('soak');
  const started = Date.now();
  let kills = 0;
  try {
    const server = await h.start('serve', { LOG_LEVEL: 'warn' });
    const workers: AppProcess[] = [];
    for (let i = 0; i < workerCount; i++) workers.push(await h.start('worker', WORKER_ENV));
    // Each model turn takes a little while, so kills land in the middle of tasks.
    const script = fixingCalculatorScript();
    h.model.script((request, index) => ({ delayMs: 100 + Math.floor(Math.random() * 400), then: script(request, index) }));

    const repos: SimRepo[] = [];
    for (let i = 0; i < 5; i++) repos.push(await h.newRepo(`soak-${i}`));
    const issues: Array<{ repo: SimRepo; number: number }> = [];
    for (let i = 0; i < tasks; i++) {
      const repo = repos[i % repos.length]!;
      issues.push({ repo, number: h.newIssue(repo) });
    }
    for (const [i, issue] of issues.entries()) {
      const deliveryId = `soak-${i}`;
      await h.label(server, issue.repo, issue.number, { deliveryId });
      // Every fifth webhook arrives twice, as GitHub sometimes redelivers.
      if (i % 5 === 0) await h.label(server, issue.repo, issue.number, { deliveryId });
    }

    const done = () => issues.every(({ repo, number }) => h.github.pulls('acme', repo.name).some((pr) => pr.head === `ai-fix/issue-${number}`));
    let killing = true;
    const killer = (async () => {
      while (killing) {
        await new Promise((resolve) => setTimeout(resolve, killEverySeconds * 1000));
        if (!killing) break;
        const victim = Math.floor(Math.random() * workers.length);
        await workers[victim]!.stop('SIGKILL');
        kills++;
        workers[victim] = await h.start('worker', WORKER_ENV);
      }
    })();
    try {
      await waitFor('every task to open its PR', done, 10 * 60_000, 500);
    } catch {
      // Reported below as lost tasks.
    }
    killing = false;
    await killer;
    await Promise.all([server, ...workers].map((p) => p.stop('SIGKILL')));

    let lost = 0;
    let duplicates = 0;
    const jobs = await h.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    for (const { repo, number } of issues) {
      const prs = h.github.pulls('acme', repo.name).filter((pr) => pr.head === `ai-fix/issue-${number}`);
      if (prs.length > 1) duplicates += prs.length - 1;
      if (prs.length > 0) continue;
      lost++;
      const job = jobs.find((j) => {
        const data = j.data as { repo: { name: string }; issueNumber: number };
        return data.repo.name === repo.name && data.issueNumber === number;
      });
      const state = job ? await job.getState() : 'no job';
      process.stdout.write(`lost: ${repo.name}#${number}: ${state} ${job?.failedReason ?? ''} (attempts ${job?.attemptsMade ?? 0}, stalls ${job?.stalledCounter ?? 0})\n`);
    }
    const result = { tasks, workers: workerCount, killEverySeconds, kills, lost, duplicatePullRequests: duplicates, seconds: Math.round((Date.now() - started) / 1000), date: new Date().toISOString() };
    await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    await fs.writeFile(path.join(ROOT, 'bench/results/soak.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`soak: ${tasks} tasks, ${kills} worker kills, ${lost} lost, ${duplicates} duplicate PRs, ${result.seconds} s\n`);
    if (lost || duplicates) process.exitCode = 1;
  } finally {
    await h.close();
  }
}

await main();
