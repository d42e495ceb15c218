import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor } from '../support/app-process.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import type { SimRepo } from '../support/github-sim.ts';
import type { RecordedModelRequest, ScriptedTurn, ScriptFn } from '../support/model-sim.ts';
import { fixingCalculatorTurns, manyModules, stepOf } from '../support/scripted-agents.ts';

// Hours-long tasks, shortened: a worker lost mid-task, responses cut off, a model that never
// answers. What the user sees is the pull request (or the comment), and what it cost.

const PARTS = manyModules(34);
const PART_FILES = Object.keys(PARTS);

/**
 * A 39-step task: the fix first (steps 0–2), then a long read through the library, then the
 * tests and finish. A resumed run must have the fix back in its tree, or its tests fail.
 */
function longTaskScript(slow?: { step: number; delayMs: number }): ScriptFn {
  const fix = fixingCalculatorTurns();
  let slowed = false;
  return (request) => {
    const step = stepOf(request);
    let turn: ScriptedTurn;
    if (step < 3) turn = fix[step]!;
    else if (step < 3 + PART_FILES.length) turn = { toolCalls: [{ name: 'read_file', arguments: { path: PART_FILES[step - 3], start_line: null, end_line: null } }] };
    else turn = fix[step - PART_FILES.length] ?? { text: 'Done.' };
    if (slow && step === slow.step && !slowed) {
      slowed = true;
      return { delayMs: slow.delayMs, then: turn };
    }
    return turn;
  };
}

describe('long tasks: checkpoints, resumption, limits that hold', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('long-task');
  }, 60_000);
  afterEach(async () => {
    await h?.stopApps();
  });
  afterAll(async () => {
    await h?.close();
  });

  const isFor = (r: RecordedModelRequest, repo: SimRepo) => JSON.stringify(r.body.input?.[0] ?? '').includes(`acme/${repo.name}`);
  const finalComment = (repo: SimRepo, issueNumber: number, word: string) =>
    waitFor(`a progress comment saying ${word}`, () => {
      const body = h.progressComment(repo, issueNumber)?.body;
      return body?.includes(word) ? body : undefined;
    }, 120_000);

  it('a worker SIGKILLed at step 30 of a 39-step task: another worker resumes from the checkpoint and opens a passing PR', async () => {
    const server = await h.start('serve');
    const fast = { AI_FIX_JOB_LOCK_SECONDS: '5' };
    const doomed = await h.start('worker', fast);
    const repo = await h.newRepo('killed-long-task', { ...buggyCalculator, ...PARTS });
    const issueNumber = h.newIssue(repo);
    h.model.script(longTaskScript({ step: 30, delayMs: 600_000 }));

    await h.label(server, repo, issueNumber);
    await waitFor('the task at step 30', () => h.model.requests.some((r) => isFor(r, repo) && stepOf(r) === 30), 120_000);
    doomed.child.kill('SIGKILL');
    await doomed.waitForExit();
    const before = h.model.requests.filter((r) => isFor(r, repo)).length;
    const rescuer = await h.start('worker', fast);

    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 120_000);
    await finalComment(repo, issueNumber, 'finished');
    const requests = h.model.requests.filter((r) => isFor(r, repo));
    const resumed = requests.slice(before);
    const extra = requests.length - 39;
    console.log(`killed at step 30 of 39: ${requests.length} model requests in all, ${extra} more than an uninterrupted run`);
    // The rescuer picked up the conversation where the checkpoint left it, not from the task prompt.
    expect(stepOf(resumed[0]!)).toBeGreaterThanOrEqual(25);
    expect(JSON.stringify(resumed[0]!.body.input)).toContain('resumes from a checkpoint');
    expect(extra).toBeLessThanOrEqual(5);
    expect(pr.draft).toBe(false);
    expect(pr.body).toContain('✅ passed');
    expect(h.github.pulls('acme', repo.name)).toHaveLength(1);
    await Promise.all([server.stop(), rescuer.stop()]);
  }, 300_000);

  it('a response cut mid-body twice is asked again in place: no job attempt is spent', async () => {
    const app = await h.start('start');
    const repo = await h.newRepo('cut-responses');
    const issueNumber = h.newIssue(repo);
    const fix = fixingCalculatorTurns();
    let cuts = 0;
    h.model.script((request) => {
      const step = stepOf(request);
      if (step === 2 && cuts < 2) {
        cuts++;
        return { cut: true };
      }
      return fix[step] ?? { text: 'Done.' };
    });

    await h.label(app, repo, issueNumber);
    await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 120_000);
    await finalComment(repo, issueNumber, 'finished');
    const jobs = await h.queue.getJobs(['completed', 'active', 'waiting', 'delayed']);
    const job = jobs.find((j) => j.data.repo.name === repo.name);
    expect(cuts).toBe(2);
    expect(job?.attemptsMade).toBe(0);
    expect(h.model.requests.filter((r) => isFor(r, repo))).toHaveLength(fix.length + 2);
    await app.stop();
  }, 180_000);

  it('a model that never answers: the time limit ends the task with a comment, and the request is abandoned', async () => {
    const app = await h.start('start', { AI_FIX_MAX_MINUTES: '0.1' });
    const repo = await h.newRepo('never-answers');
    const issueNumber = h.newIssue(repo);
    h.model.script(() => ({ delayMs: 600_000, then: { text: 'too late' } }));

    const started = Date.now();
    await h.label(app, repo, issueNumber);
    const body = await finalComment(repo, issueNumber, 'time limit');
    console.log(`a 6-second limit with a model that never answers: the task ended after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(body).toContain('could not finish');
    await waitFor('the hung request to be abandoned', () => h.model.requests.filter((r) => isFor(r, repo)).every((r) => r.aborted), 30_000);
    expect(h.github.pulls('acme', repo.name)).toHaveLength(0);
    await app.stop();
  }, 180_000);
});
