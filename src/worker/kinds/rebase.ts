import { totalTokens } from '../../agent/conversation.ts';
import { mergeFollowUp } from '../../agent/follow-ups.ts';
import { clip } from '../../util/markdown.ts';
import { commitTree, pushBranch } from '../../workspace/commit-and-push.ts';
import { filesWithConflictMarkers, mergeBaseBranch, mergeChanged } from '../../workspace/merge-base.ts';
import { checkoutForBox } from '../../workspace/prepare-workspace.ts';
import type { TaskKind } from '../task-context.ts';
import type { TaskPlan } from '../task-plan.ts';
import { announceTask } from './announce-task.ts';
import { commitMessage } from './commit-message.ts';

type RebasePlan = Extract<TaskPlan, { kind: 'rebase' }>;

function mergeMessage(plan: RebasePlan, branch: string): string {
  return `Merge ${plan.base} into ${branch}\n\nai-fix brought pull request #${plan.pullNumber} up to date with ${plan.base}.`;
}

const files = (list: string[]) => list.map((f) => `\`${f}\``).join(', ');

/**
 * The base branch is merged into the pull request's branch (on the host, without a work tree);
 * the agent resolves conflicts, or fixes what a clean merge broke. A conflicted merge is not
 * saved on shutdown: its commit may still hold markers, and the next worker simply merges again.
 */
export const rebaseKind: TaskKind<RebasePlan> = {
  savesWorkInProgress: false,
  async prepare(task, plan) {
    const { workspace } = task;
    plan.merged = await mergeBaseBranch(workspace, { cloneUrl: task.repoData.clone_url, base: plan.base, token: await task.token(), message: mergeMessage(plan, workspace.branch), signal: task.signal });
    if (plan.merged.status === 'up-to-date') return;
    await checkoutForBox({ hostGitDir: workspace.hostGitDir, box: workspace.box, branch: workspace.branch, startSha: workspace.baseSha, cloneUrl: task.repoData.clone_url, committer: workspace.committer, signal: task.signal });
  },
  async start(task, plan) {
    const merge = plan.merged;
    const { progress } = task;
    if (!merge) throw new Error('the rebase task started without its merge');
    // The automatic kind acts on conflicts only; a clean merge stays local and unpushed.
    if (plan.ifConflicting && merge.status !== 'conflicts') return { result: { outcome: 'skipped', reason: `the branch merges ${plan.base} cleanly` } };
    await announceTask(task);
    if (merge.status === 'up-to-date') {
      await progress.update({ stage: 'done', pullRequestUrl: plan.pullUrl, details: `The branch already contains the latest \`${plan.base}\`; there was nothing to merge.` });
      return { result: { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl } };
    }
    // GitHub refuses a push that changes workflow files from an app without the `workflows`
    // permission, which ai-fix deliberately lacks; say so rather than fail at the push.
    const workflows = await mergeChanged(task.workspace, merge, '.github/workflows');
    if (workflows.length) {
      const reason = `\`${plan.base}\` changed CI workflows (${files(workflows)}), and GitHub does not let ai-fix push a merge that brings workflow changes in (it has no \`workflows\` permission, on purpose). Please merge \`${plan.base}\` into this branch yourself (e.g. with **Update branch**)`;
      await progress.update({ stage: 'failed', reason, pullRequestUrl: plan.pullUrl });
      return { result: { outcome: 'failed', reason, pullRequestUrl: plan.pullUrl } };
    }
    if (merge.status === 'conflicts') return { followUp: mergeFollowUp({ pullNumber: plan.pullNumber, base: plan.base, conflicts: merge.conflicts }) };
    let testOutput = '';
    if (task.testCommand) {
      await progress.update({ stage: 'testing' });
      const verdict = await task.shell(task.testCommand);
      if (verdict.exitCode !== 0) return { followUp: mergeFollowUp({ pullNumber: plan.pullNumber, base: plan.base, conflicts: [], testOutput: verdict.output }) };
      testOutput = verdict.output;
    }
    await progress.update({ stage: 'pushing', ...(task.testCommand ? { tests: { command: task.testCommand, passed: true } } : {}) });
    await pushBranch(task.workspace, task.repoData.clone_url, await task.token(), task.signal);
    const verified = task.testCommand ? `\`${task.testCommand}\` passes` : 'no test command is configured, so nothing was run';
    await progress.update({
      stage: 'done',
      pullRequestUrl: plan.pullUrl,
      details: `Merged the latest \`${plan.base}\` (${merge.baseSha.slice(0, 7)}) into the branch as ${merge.mergeSha.slice(0, 7)}: no conflicts; ${verified}.${testOutput ? `\n\n<details><summary>Test output (end)</summary>\n\n\`\`\`\n${clip(testOutput, 1500).slice(-1500)}\n\`\`\`\n</details>` : ''}`,
    });
    return { result: { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl } };
  },
  async commit(task, plan, change, outcome) {
    const merge = plan.merged;
    if (merge?.status !== 'conflicts') {
      return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, `Fix tests after merging ${plan.base} into #${plan.pullNumber}`, outcome)) };
    }
    // The resolution becomes the merge commit's tree, so the pushed history never holds a marker.
    const left = await filesWithConflictMarkers(task.workspace, change.tree, merge.conflicts);
    if (left.length) {
      return { refusal: `nothing was pushed, because conflict markers are left in ${files(left)}; a human needs to resolve ${left.length === 1 ? 'it' : 'them'}` };
    }
    return { sha: await commitTree(task.workspace, change.tree, commitMessage(task, mergeMessage(plan, task.workspace.branch), outcome), [merge.branchSha, merge.baseSha]) };
  },
  async finish(task, plan, { outcome, sha, passing, testsPassed, notes }) {
    const merge = plan.merged;
    const verdict = passing ? (testsPassed ? 'the tests pass' : 'no test command ran, so nothing verified it') : `the local tests still fail (${outcome.reason ?? 'unknown'}); pushed anyway so CI and reviewers can tell`;
    const what = merge?.status === 'conflicts' ? `resolved conflicts in ${files(merge.conflicts)}` : 'fixed what the merge broke';
    await task.progress.update({
      stage: passing ? 'done' : 'failed',
      reason: passing ? undefined : verdict,
      pullRequestUrl: plan.pullUrl,
      tests: { command: task.testCommand, passed: testsPassed ?? undefined },
      details: [`Merged the latest \`${plan.base}\` into the branch and ${what} (${sha ? sha.slice(0, 7) : 'no new commit'}); ${verdict}.`, outcome.summary ?? '', ...notes].join('\n\n'),
      tokens: totalTokens(outcome.usage),
      dollars: outcome.dollars ?? undefined,
    });
    return passing ? { outcome: 'pr-updated', pullRequestUrl: plan.pullUrl } : { outcome: 'failed', reason: verdict, pullRequestUrl: plan.pullUrl };
  },
};
