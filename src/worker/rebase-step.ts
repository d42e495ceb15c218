import { mergeFollowUp } from '../agent/follow-ups.ts';
import type { FollowUp } from '../agent/prompts.ts';
import { clip } from '../github/markdown.ts';
import type { TaskResult } from '../queue/task-queue.ts';
import type { CommandResult } from '../sandbox/run-command.ts';
import { pushBranch } from '../workspace/commit-and-push.ts';
import { filesWithConflictMarkers, mergeBaseBranch, mergeChanged, sealMerge, type MergeOutcome } from '../workspace/merge-base.ts';
import type { Workspace } from '../workspace/prepare-workspace.ts';
import type { ProgressReporter } from './progress-reporter.ts';
import type { TaskPlan } from './task-plan.ts';

type RebasePlan = Extract<TaskPlan, { kind: 'rebase' }>;
export type MergedBase = Extract<MergeOutcome, { branchSha: string }>;

export function mergeMessage(plan: RebasePlan, branch: string): string {
  return `Merge ${plan.base} into ${branch}\n\nai-fix brought pull request #${plan.pullNumber} up to date with ${plan.base}.`;
}

/**
 * Merges the base branch in. Ends the task when nothing more is needed (already up to date; a
 * clean merge whose tests pass is pushed; an automatic check that found no conflict pushes
 * nothing); otherwise returns what the agent has to do.
 */
export async function startRebase(input: {
  plan: RebasePlan;
  workspace: Workspace;
  cloneUrl: string;
  token: () => Promise<string>;
  testCommand: string | null;
  shell: (command: string) => Promise<CommandResult>;
  progress: ProgressReporter;
  signal: AbortSignal;
}): Promise<{ result: TaskResult } | { merge: MergedBase; followUp: FollowUp }> {
  const { plan, workspace, progress } = input;
  const merge = await mergeBaseBranch(workspace, {
    cloneUrl: input.cloneUrl,
    base: plan.base,
    token: await input.token(),
    message: mergeMessage(plan, workspace.branch),
    signal: input.signal,
  });
  // The automatic kind acts on conflicts only; a clean merge stays local and unpushed.
  if (plan.ifConflicting && merge.status !== 'conflicts') return { result: { outcome: 'skipped', reason: `the branch merges ${plan.base} cleanly` } };
  if (merge.status === 'up-to-date') {
    await progress.update({ stage: 'done', pullRequestUrl: plan.pullUrl, details: `The branch already contains the latest \`${plan.base}\`; there was nothing to merge.` });
    return { result: { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl } };
  }
  // GitHub refuses a push that changes workflow files from an app without the `workflows`
  // permission, which ai-fix deliberately lacks; say so rather than fail at the push.
  const workflows = await mergeChanged(workspace, merge, '.github/workflows');
  if (workflows.length) {
    const reason = `\`${plan.base}\` changed CI workflows (${workflows.map((f) => `\`${f}\``).join(', ')}), and GitHub does not let ai-fix push a merge that brings workflow changes in (it has no \`workflows\` permission, on purpose). Please merge \`${plan.base}\` into this branch yourself (e.g. with **Update branch**)`;
    await progress.update({ stage: 'failed', reason, pullRequestUrl: plan.pullUrl });
    return { result: { outcome: 'failed', reason, pullRequestUrl: plan.pullUrl } };
  }
  if (merge.status === 'conflicts') {
    return { merge, followUp: mergeFollowUp({ pullNumber: plan.pullNumber, base: plan.base, conflicts: merge.conflicts }) };
  }
  let testOutput = '';
  if (input.testCommand) {
    await progress.update({ stage: 'testing' });
    const verdict = await input.shell(input.testCommand);
    if (verdict.exitCode !== 0) return { merge, followUp: mergeFollowUp({ pullNumber: plan.pullNumber, base: plan.base, conflicts: [], testOutput: verdict.output }) };
    testOutput = verdict.output;
  }
  await progress.update({ stage: 'pushing' });
  await pushBranch(workspace, input.cloneUrl, await input.token(), input.signal);
  const verified = input.testCommand ? `\`${input.testCommand}\` passes` : 'no test command is configured, so nothing was run';
  await progress.update({
    stage: 'done',
    pullRequestUrl: plan.pullUrl,
    details: `Merged the latest \`${plan.base}\` (${merge.baseSha.slice(0, 7)}) into the branch as ${workspace.baseSha.slice(0, 7)}: no conflicts; ${verified}.${testOutput ? `\n\n<details><summary>Test output (end)</summary>\n\n\`\`\`\n${clip(testOutput, 1500).slice(-1500)}\n\`\`\`\n</details>` : ''}`,
  });
  return { result: { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl } };
}

/**
 * After the agent resolved a conflicted merge: the resolution is folded into the merge commit,
 * or refused while a marker is left. (A clean merge's fix is a commit of its own.)
 */
export async function sealResolution(workspace: Workspace, merge: MergedBase, message: string): Promise<{ sha: string } | { refusal: string }> {
  const left = await filesWithConflictMarkers(workspace, merge.conflicts);
  if (left.length) {
    return { refusal: `nothing was pushed, because conflict markers are left in ${left.map((f) => `\`${f}\``).join(', ')}; a human needs to resolve ${left.length === 1 ? 'it' : 'them'}` };
  }
  return { sha: await sealMerge(workspace, message) };
}
