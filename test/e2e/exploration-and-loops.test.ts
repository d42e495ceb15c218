import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { waitFor, type AppProcess } from '../support/app-process.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import type { RecordedModelRequest } from '../support/model-sim.ts';
import { exploreThenFixScript, loopingTurns, manyModules } from '../support/scripted-agents.ts';

const toolOutputs = (request: RecordedModelRequest): string[] =>
  ((request.body?.input ?? []) as Array<{ type?: string; output?: string }>).filter((item) => item.type === 'function_call_output').map((item) => item.output ?? '');

// Default limits throughout: what a repository without `.github/ai-fix.yml` limits gets.
describe('a long look around is progress; a loop is not', () => {
  let h: Harness;
  let app: AppProcess;

  beforeAll(async () => {
    h = await createHarness('e2e-loops');
    app = await h.start('start');
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('a model that reads 60 files before its first edit ends in a ready pull request whose tests pass', async () => {
    const modules = manyModules(60);
    const repo = await h.newRepo('calculator-explored', { ...buggyCalculator, ...modules });
    const issueNumber = h.newIssue(repo);
    h.model.script(exploreThenFixScript(Object.keys(modules)));

    await h.label(app, repo, issueNumber);
    const pr = await waitFor('the pull request', () => h.github.pulls('acme', repo.name)[0], 150_000);
    const comment = await waitFor('the final progress comment', () => {
      const c = h.progressComment(repo, issueNumber);
      return c?.body.includes('finished') || c?.body.includes('could not finish') ? c : undefined;
    }, 60_000);

    expect(comment.body).not.toContain('could not finish');
    expect(pr.draft).toBe(false);
    expect(pr.body).toContain('`npm test`: ✅ passed');
    // Every read ran: the model's last request carries all 60 file contents.
    const outputs = toolOutputs(h.model.requests.at(-1)!);
    for (const path of Object.keys(modules)) expect(outputs.some((output) => output.startsWith(`${path}:`))).toBe(true);
  }, 180_000);

  it('a model repeating one command with an unchanged output is told so, then stopped with a clear comment', async () => {
    const repo = await h.newRepo('calculator-looping');
    const issueNumber = h.newIssue(repo);
    const first = h.model.requests.length;
    h.model.script(loopingTurns('ls', 10));

    await h.label(app, repo, issueNumber);
    const comment = await waitFor('the failure comment', () => {
      const c = h.progressComment(repo, issueNumber);
      return c?.body.includes('could not finish') ? c : undefined;
    }, 90_000);

    expect(comment.body).toContain('no progress: 5 tool calls in a row repeated earlier ones with unchanged output (last: `run_shell ls`');
    const requests = h.model.requests.slice(first).filter((r) => r.endpoint !== 'compact');
    // The second run of `ls` came back with the note, and the model saw it in its next request.
    expect(toolOutputs(requests[1]!)).toEqual([expect.not.stringContaining('[ai-fix]')]);
    expect(toolOutputs(requests[2]!)[1]).toMatch(/calc\.js[\s\S]*\n\n\[ai-fix\] You ran this already; the output is unchanged\./);
    // Stopped after the first call and five repeats: four of the ten scripted turns were never asked for.
    expect(requests).toHaveLength(6);
  }, 120_000);
});
