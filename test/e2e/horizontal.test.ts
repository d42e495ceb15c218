import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import { createHarness, PROGRESS_MARKER, type Harness } from '../support/harness.ts';
import { fixingCalculatorScript, stepOf } from '../support/scripted-agents.ts';
import type { SimRepo } from '../support/github-sim.ts';
import type { RecordedModelRequest } from '../support/model-sim.ts';

// Several servers and workers on one Redis, as a scaled-out deployment runs them. A task spends
// most of its time waiting (GitHub writes are spaced a second apart), so four at once per worker.
const WORKER_ENV = { AI_FIX_CONCURRENCY: '4', AI_FIX_JOB_LOCK_SECONDS: '5' };
const ALL_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'] as const;

interface Issue {
  repo: SimRepo;
  number: number;
}

/** The task a model request belongs to, from the task prompt's first lines. */
function taskOf(request: RecordedModelRequest): string | undefined {
  const prompt = String(request.body?.input?.[0]?.content ?? '');
  const match = /^Repository: (\S+)\nTask: resolve issue #(\d+)/.exec(prompt);
  return match ? `${match[1]}#${match[2]}` : undefined;
}

/** Pino lines of a process's output with the given message. */
function logLines(app: AppProcess, msg: string): Array<Record<string, unknown>> {
  return app
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);
}

describe('scaled out: two servers and two workers on one Redis', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness('horizontal');
  }, 60_000);

  // A failed test leaves no worker behind to take the next test's jobs.
  afterEach(async () => {
    await h?.stopApps();
  });

  afterAll(async () => {
    await h?.close();
  });

  const finished = (issue: Issue) => h.progressComment(issue.repo, issue.number)?.body.includes('finished') === true;

  it('20 issues over both servers: each task runs once, and a SIGKILLed worker’s tasks move to the other', async () => {
    const servers = [await h.start('serve'), await h.start('serve')];
    const workers = [await h.start('worker', WORKER_ENV), await h.start('worker', WORKER_ENV)];
    const issues: Issue[] = [];
    for (let r = 0; r < 4; r++) {
      const repo = await h.newRepo(`fleet-${r}`);
      for (let i = 0; i < 5; i++) issues.push({ repo, number: h.newIssue(repo) });
    }
    // One of the last tasks stalls in its third model turn, so its worker can be killed while it
    // runs. It starts only when two rounds of eight tasks are done: the ceiling is generous.
    const victim = issues[issues.length - 1]!;
    const victimTask = `acme/${victim.repo.name}#${victim.number}`;
    const script = fixingCalculatorScript();
    let stalled = false;
    h.model.script((request, index) => {
      if (!stalled && taskOf(request) === victimTask && stepOf(request) === 2) {
        stalled = true;
        return { delayMs: 120_000, then: script(request, index) };
      }
      return script(request, index);
    });

    const labelled = Date.now();
    const answers = await Promise.all(issues.map((issue, i) => h.label(servers[i % 2]!, issue.repo, issue.number)));
    expect(answers.map((a) => a.status)).toEqual(issues.map(() => 200));

    await waitFor('the stalled model call', () => stalled, 180_000);
    const victimJob = (await h.queue.getJobs(['active'])).find((job) => job.data.issueNumber === victim.number && job.data.repo.name === victim.repo.name);
    expect(victimJob?.id).toBeDefined();
    const ranBy = (app: AppProcess) => logLines(app, 'task started').some((line) => line.jobId === victimJob?.id);
    const doomed = workers.find(ranBy);
    const survivor = workers.find((w) => w !== doomed);
    if (!doomed || !survivor) throw new Error('no worker runs the stalled task');
    doomed.child.kill('SIGKILL');
    await doomed.waitForExit();

    await waitFor('every task to finish', () => issues.every(finished), 300_000, 500);
    // A job completes a moment after its final comment (the token is revoked first).
    await waitFor('every job to complete', async () => (await h.queue.getCompletedCount()) >= 20, 30_000);
    process.stdout.write(`horizontal: 20 tasks on two workers, one killed, in ${((Date.now() - labelled) / 1000).toFixed(1)} s\n`);

    // One PR per issue, on its branch, and one progress comment per issue.
    for (const issue of issues) {
      const prs = h.github.pulls('acme', issue.repo.name).filter((pr) => pr.head === `ai-fix/issue-${issue.number}`);
      const progress = h.github.issueComments('acme', issue.repo.name, issue.number).filter((c) => c.body.includes(PROGRESS_MARKER));
      expect({ issue: issue.number, prs: prs.length, progress: progress.length }).toEqual({ issue: issue.number, prs: 1, progress: 1 });
    }
    expect(h.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pulls') && r.status === 201)).toHaveLength(20);

    // 20 jobs, all completed, each completed once, whichever worker ran it.
    const jobs = await h.queue.getJobs([...ALL_STATES]);
    expect(jobs).toHaveLength(20);
    expect(await h.queue.getJobCounts(...ALL_STATES)).toMatchObject({ completed: 20, failed: 0, waiting: 0, active: 0, delayed: 0 });
    const completions = workers.flatMap((w) => logLines(w, 'job completed').map((line) => String(line.jobId)));
    expect(completions.sort()).toEqual(jobs.map((job) => job.id).sort());

    // The killed worker's task was finished by the other one. Both servers took webhooks (their
    // answers above); their intakes shared the decisions, each task queued once between them.
    expect(logLines(survivor, 'job completed').map((line) => line.jobId)).toContain(victimJob?.id);
    expect(logLines(doomed, 'job completed').map((line) => line.jobId)).not.toContain(victimJob?.id);
    expect(servers.flatMap((server) => logLines(server, 'task queued').map((line) => line.jobId)).sort()).toEqual(jobs.map((job) => job.id).sort());

    await Promise.all([...servers, survivor].map((app) => app.stop()));
  }, 600_000);

  it('limits.concurrent_tasks: 1 holds across two workers: tasks of the repository never overlap', async () => {
    const server = await h.start('serve');
    // One task at a time per worker: while one worker runs the first task, the next ones can only
    // go to the other worker, where the limit has to stop them.
    const workers = [await h.start('worker', { ...WORKER_ENV, AI_FIX_CONCURRENCY: '1' }), await h.start('worker', { ...WORKER_ENV, AI_FIX_CONCURRENCY: '1' })];
    const repo = await h.newRepo('one-at-a-time', { ...buggyCalculator, '.github/ai-fix.yml': 'limits:\n  concurrent_tasks: 1\n' });
    const issues: Issue[] = [1, 2, 3].map(() => ({ repo, number: h.newIssue(repo) }));
    // Every turn takes a moment, so tasks running at once would interleave their model calls.
    const script = fixingCalculatorScript();
    h.model.script((request, index) => ({ delayMs: 300, then: script(request, index) }));
    const firstRequest = h.model.requests.length;
    const tasks = () => h.model.requests.slice(firstRequest).map(taskOf);

    await h.label(server, repo, issues[0]!.number);
    await waitFor('the first task at the model', () => tasks().length > 0, 60_000);
    await Promise.all(issues.slice(1).map((issue) => h.label(server, repo, issue.number)));
    await waitFor('every task to finish', () => issues.every(finished), 150_000, 500);
    await waitFor('every job to complete', async () => (await h.queue.getJobs(['completed'])).filter((job) => job.data.repo.name === repo.name).length === issues.length, 30_000);

    // With one task at a time, each task's model calls form one block (in whichever order).
    const order = tasks();
    const blocks = order.filter((task, i) => task !== order[i - 1]);
    expect(blocks.sort()).toEqual(issues.map((issue) => `acme/${repo.name}#${issue.number}`).sort());
    // The second task was held back by the other worker's task, and said so on its issue.
    const jobOf = async (issue: Issue) => (await h.queue.getJobs(['completed'])).find((job) => job.data.issueNumber === issue.number && job.data.repo.name === repo.name)?.id;
    const [first, second] = [await jobOf(issues[0]!), await jobOf(issues[1]!)];
    const startedBy = (jobId: string | undefined) => workers.filter((w) => logLines(w, 'task started').some((line) => line.jobId === jobId));
    expect(startedBy(first)).toHaveLength(1);
    expect(startedBy(second)).toContain(workers.find((w) => !startedBy(first).includes(w)));
    const secondComment = h.progressComment(repo, issues[1]!.number);
    // The worker may post the comment before the server's acknowledgement does, or edit it after.
    const waitingNotes = h.github.requests.filter(
      (r) =>
        ((r.method === 'PATCH' && r.path.endsWith(`/issues/comments/${secondComment?.id}`)) ||
          (r.method === 'POST' && r.path.endsWith(`/${repo.name}/issues/${issues[1]!.number}/comments`))) &&
        JSON.stringify(r.body).includes('Waiting for another task on this repository'),
    );
    expect(waitingNotes.length).toBeGreaterThan(0);
    for (const issue of issues) expect(h.github.pulls('acme', repo.name).filter((pr) => pr.head === `ai-fix/issue-${issue.number}`)).toHaveLength(1);

    await Promise.all([server, ...workers].map((app) => app.stop()));
  }, 180_000);
});
