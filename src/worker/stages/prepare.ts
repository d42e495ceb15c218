import path from 'node:path';
import { clip } from '../../github/markdown.ts';
import type { TaskResult } from '../../queue/task-queue.ts';
import { openTaskBox } from '../../sandbox/task-box.ts';
import { detectTestCommand } from '../../workspace/detect-test-command.ts';
import { prepareWorkspace } from '../../workspace/prepare-workspace.ts';
import type { PreparedTask, TaskContext } from '../task-context.ts';

/** Whom ai-fix's commits are by: GitHub links a bot's commits by host name (never a port). */
export function committer(appId: string | number, cloneUrl: string): { name: string; email: string } {
  return { name: 'ai-fix[bot]', email: `${appId}+ai-fix[bot]@users.noreply.${new URL(cloneUrl).hostname}` };
}

/**
 * Stage 1, on the host: the task's own repository from the mirror, the box's checkout of where
 * the task starts, and the box itself. The token stays here.
 */
export async function prepareTask(ctx: TaskContext, start: { base: string; branch: string }, beforeBox?: (task: Omit<PreparedTask, 'box' | 'shell' | 'testCommand'>) => Promise<void>): Promise<PreparedTask> {
  const { deps, repoData } = ctx;
  const workspace = await prepareWorkspace({
    jobDir: path.join(deps.workdir, ctx.jobId),
    cloneUrl: repoData.clone_url,
    defaultBranch: start.base,
    branch: start.branch,
    token: await ctx.token(),
    committer: committer(deps.app.appId, repoData.clone_url),
    signal: ctx.signal,
    mirrors: deps.env.mirrorCacheBytes > 0 ? { root: path.join(deps.env.workdir, 'mirrors'), maxBytes: deps.env.mirrorCacheBytes } : undefined,
  });
  await beforeBox?.({ ...ctx, workspace });
  const { box: dirs } = workspace;
  const box = await openTaskBox(deps.sandbox, { workspace: dirs.dir, home: dirs.home, gitDir: dirs.gitDir, readOnly: [workspace.objects] });
  const commandTimeoutMs = ctx.config.limits.command_timeout_seconds * 1000;
  return {
    ...ctx,
    workspace,
    box,
    testCommand: ctx.config.test ?? (await detectTestCommand(dirs.dir)),
    shell: (command, timeoutMs) => box.run(command, { timeoutMs: Math.min(timeoutMs ?? commandTimeoutMs, commandTimeoutMs), signal: ctx.signal }),
  };
}

/** Stage 2, in the box: the repository's setup command, when it has one. */
export async function runSetup(task: PreparedTask): Promise<TaskResult | null> {
  const { setup } = task.config;
  if (!setup) return null;
  const result = await task.shell(setup);
  if (result.exitCode === 0) return null;
  const reason = `the setup command \`${setup}\` failed (${result.timedOut ? 'timed out' : `exit code ${result.exitCode}`})`;
  await task.progress.update({ stage: 'failed', reason, details: `\`\`\`\n${clip(result.output, 2000)}\n\`\`\`` });
  return { outcome: 'failed', reason };
}
