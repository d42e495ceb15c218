import { Readable } from 'node:stream';
import { extractPatch, PatchTooLargeError } from '../sandbox/box-git.ts';
import type { AgentSnapshot, TaskSpent } from '../agent/agent-snapshot.ts';
import { recordSpent, saveCheckpoint, type TaskCheckpoint } from '../state/task-checkpoint.ts';
import type { TestRun } from '../workspace/test-outcomes.ts';
import type { PreparedTask } from './task-context.ts';

// A checkpoint's work leaves the box the way a finished change does (a patch made inside the
// box) and goes back the same way (applied inside the box, before any command of the new run):
// the host never reads the agent's tree.

/** Redis holds the checkpoint; a change larger than this is not checkpointed (it would be refused at push anyway). */
const MAX_CHECKPOINT_PATCH = 16 * 2 ** 20;

/** Saves the work tree with the conversation that produced it; false when it could not be saved. */
export async function checkpointTask(task: PreparedTask, agent: AgentSnapshot, baseTests: TestRun | undefined, signal: AbortSignal = task.signal): Promise<boolean> {
  const { workspace, deps, log } = task;
  try {
    const { patch } = await extractPatch(task.box, [workspace.objects], workspace.baseSha, { maxBytes: MAX_CHECKPOINT_PATCH, signal });
    await saveCheckpoint(deps.redis, deps.env.queuePrefix, task.jobId, { startSha: workspace.baseSha, patch, agent, baseTests, savedAt: Date.now() });
    log.debug({ step: agent.step, patchBytes: patch.length }, 'checkpoint saved');
    return true;
  } catch (err) {
    if (signal.aborted && !(err instanceof PatchTooLargeError)) throw err;
    log.warn({ err, step: agent.step }, 'checkpoint not saved');
    return false;
  }
}

/**
 * Puts a checkpoint's work back into a fresh box whose checkout is at the checkpoint's start.
 * False (and the box's tree left as it was, at the start) when it does not apply.
 */
export async function restoreCheckpoint(task: PreparedTask, checkpoint: TaskCheckpoint): Promise<boolean> {
  if (checkpoint.startSha !== task.workspace.baseSha) return false;
  if (checkpoint.patch.length === 0) return true;
  const result = await task.box.run('git apply --binary --whitespace=nowarn -', { timeoutMs: 300_000, signal: task.signal, stdin: Readable.from([checkpoint.patch]) });
  if (result.exitCode === 0) return true;
  task.log.warn({ output: result.output.slice(-500) }, 'checkpoint did not apply; starting over');
  return false;
}

/**
 * The checkpoints of one run: the latest conversation in memory at every step, saved with the
 * work tree when due, and the task's spending recorded at every step.
 */
export class TaskCheckpoints {
  readonly #task: PreparedTask;
  #latest: AgentSnapshot | undefined;
  /** Kept with every checkpoint, so a resumed task's pull request still shows what failed on the base. */
  baseTests: TestRun | undefined;

  constructor(task: PreparedTask, baseTests?: TestRun) {
    this.#task = task;
    this.baseTests = baseTests;
  }

  readonly onSnapshot = async (snapshot: AgentSnapshot, due: boolean): Promise<void> => {
    this.#latest = snapshot;
    if (due) await checkpointTask(this.#task, snapshot, this.baseTests);
  };

  readonly onSpent = async (spent: TaskSpent): Promise<void> => {
    const { deps, jobId } = this.#task;
    await recordSpent(deps.redis, deps.env.queuePrefix, jobId, spent);
  };

  /** Saves the latest conversation and the tree as it is now (a stop between checkpoints). */
  async saveLatest(signal: AbortSignal): Promise<boolean> {
    return this.#latest ? checkpointTask(this.#task, this.#latest, this.baseTests, signal) : false;
  }
}
