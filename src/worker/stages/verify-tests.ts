import type { IssueContext } from '../../agent/prompts.ts';
import type { Verification } from '../../github/verification-section.ts';
import { checkoutInBox } from '../../sandbox/box-checkout.ts';
import { errorMessage } from '../../util/errors.ts';
import { compareOutcomes, parseTestOutcomes, type TestRun } from '../../workspace/test-outcomes.ts';
import type { PreparedTask } from '../task-context.ts';

// The worker's own runs of the test command, before the agent and on the commit it pushes: the
// pull request's proof comes from these, not from what the model says it ran.

// Enough to keep every test name of a large suite; the command's own limits bound the rest.
const OUTPUT_LIMIT = 2 * 2 ** 20;

async function runTests(task: PreparedTask, command: string, sha: string): Promise<TestRun> {
  const result = await task.box.run(command, { timeoutMs: task.config.limits.command_timeout_seconds * 1000, signal: task.signal, outputLimit: OUTPUT_LIMIT });
  task.signal.throwIfAborted();
  const run = { sha, command, exitCode: result.exitCode, timedOut: result.timedOut, outcomes: parseTestOutcomes(result.output) };
  task.log.info({ sha, exitCode: run.exitCode, timedOut: run.timedOut, runners: run.outcomes.runners, failed: run.outcomes.failed.length, passed: run.outcomes.passed.length }, 'tests run by ai-fix');
  return run;
}

/** The test command on the base, after setup and before the agent changes anything (null: no test command). */
export async function testOnBase(task: PreparedTask): Promise<TestRun | null> {
  return task.testCommand ? runTests(task, task.testCommand, task.workspace.baseSha) : null;
}

/**
 * The test command on exactly the committed tree (after the change was sealed, so the box's work
 * tree is free to change). Null without a test command, or when the box could not check the
 * commit out: the pull request then says nothing rather than something unproven.
 */
export async function testOnFinal(task: PreparedTask, commitSha: string): Promise<TestRun | null> {
  if (!task.testCommand) return null;
  try {
    await checkoutInBox(task.box, [task.workspace.objects], task.workspace.baseSha, commitSha, task.signal);
  } catch (err) {
    task.signal.throwIfAborted();
    task.log.warn({ err: errorMessage(err) }, 'no verification run on the final commit');
    return null;
  }
  return runTests(task, task.testCommand, commitSha);
}

/** What the two runs show, for the pull request. */
export function verificationOf(base: TestRun, head: TestRun): Verification {
  const named = base.outcomes.runners.length > 0 || head.outcomes.runners.length > 0;
  return {
    command: base.command,
    base: { sha: base.sha, exitCode: base.exitCode, timedOut: base.timedOut },
    head: { sha: head.sha, exitCode: head.exitCode, timedOut: head.timedOut },
    tests: named ? compareOutcomes(base.outcomes, head.outcomes) : undefined,
  };
}

/** The final run on the pushed commit compared with the base run; undefined when either is missing. */
export async function verifyPushed(task: PreparedTask, base: TestRun | null | undefined, commitSha: string | null): Promise<Verification | undefined> {
  if (!base || !commitSha) return undefined;
  const head = await testOnFinal(task, commitSha);
  return head ? verificationOf(base, head) : undefined;
}

// "Describes a bug" is kept simple and visible: a label naming one, or the title's words.
const BUG_LABEL = /\b(bug|defect|regression|crash)\b/i;
const BUG_TITLE = /\b(bugs?|errors?|crash(es|ed|ing)?|fail(s|ed|ing|ure)?|broken|wrong|incorrect|exceptions?|regression)\b/i;

/** The issue reports a bug, and no test fails on the base: the agent is to write the failing test first. */
export function reproduceFirst(issue: Pick<IssueContext, 'title' | 'labels'>, base: TestRun | null): boolean {
  if (!base || base.exitCode !== 0 || base.outcomes.failed.length) return false;
  return (issue.labels ?? []).some((label) => BUG_LABEL.test(label)) || BUG_TITLE.test(issue.title);
}
