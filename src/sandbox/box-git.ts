import fs from 'node:fs/promises';
import path from 'node:path';
import { readRegularFile } from '../util/regular-file.ts';
import { shellQuote } from '../util/shell-quote.ts';
import type { CommandResult } from './run-command.ts';
import type { TaskBox } from './task-box.ts';

// git commands on the agent's work tree run inside its box, never on the host: the tree may
// hold a nested repository, attributes and config written to make git run a program.

export class BoxGitError extends Error {
  override name = 'BoxGitError';
}

/** A git script in the box that failed, in one line: why, and its last words. */
export function boxGitFailure(what: string, result: CommandResult): BoxGitError {
  return new BoxGitError(`${what} (${result.timedOut ? 'timed out' : `exit code ${result.exitCode}`}): ${result.output.trim().split('\n').slice(-3).join(' / ')}`);
}

/** The change is larger than a pull request should be: not worth retrying. */
export class PatchTooLargeError extends BoxGitError {
  override name = 'PatchTooLargeError';
}

/** Runs `git <args>` in the box, in the checkout, with the agent's own repository metadata. */
export function runGitInBox(box: TaskBox, args: string[], options: { signal?: AbortSignal; outputLimit?: number; timeoutMs?: number }): Promise<CommandResult> {
  return box.run(`git -c core.quotePath=false ${args.map(shellQuote).join(' ')}`, {
    timeoutMs: options.timeoutMs ?? 120_000,
    signal: options.signal,
    outputLimit: options.outputLimit,
  });
}

/**
 * A script that stages the whole work tree into a repository of its own (created here, so
 * nothing the agent wrote configures it), reading the task's objects through `objects`. Its
 * index starts from `base`, so deletions count.
 */
export function stageScript(repo: string, objects: string[], base: string, fresh: boolean): string {
  const git = `git --git-dir=${shellQuote(repo)} --work-tree=.`;
  return [
    'set -e',
    'export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0',
    `export GIT_ALTERNATE_OBJECT_DIRECTORIES=${shellQuote(objects.join(':'))}`,
    fresh ? `rm -rf ${shellQuote(repo)}` : ':',
    `if [ ! -f ${shellQuote(path.join(repo, 'HEAD'))} ]; then rm -rf ${shellQuote(repo)}; git init -q --bare ${shellQuote(repo)}; ${git} read-tree ${base}; fi`,
    // What cannot be staged (a nested repository with no commit, an unreadable file) is left out
    // and named on stderr (exit code 1), not a reason to lose the whole change.
    `${git} -c core.hooksPath=/dev/null -c core.fsmonitor=false -c advice.addEmbeddedRepo=false add --all --ignore-errors || [ $? -eq 1 ]`,
  ].join('\n');
}

const TREE = /^[0-9a-f]{40,64}$/;

/**
 * The tree the work tree would commit as: equal trees mean a command changed no file that git
 * would see. Cheap after the first call (the index keeps its stat cache); null when it fails.
 */
export async function workTreeId(box: TaskBox, objects: string[], base: string, signal?: AbortSignal): Promise<string | null> {
  const repo = path.join(box.dirs.home, '.ai-fix-snapshot.git');
  const result = await box.run(`${stageScript(repo, objects, base, false)}\ngit --git-dir=${shellQuote(repo)} write-tree`, { timeoutMs: 300_000, signal });
  const last = result.output.trim().split('\n').at(-1) ?? '';
  return result.exitCode === 0 && TREE.test(last) ? last : null;
}

/** Paths git could not stage, from its `error: '<path>' …` lines. */
function unstaged(output: string): string[] {
  return [...output.matchAll(/^error: '([^'\n]+)' does not have a commit checked out$|^error: open\("([^"\n]+)"\)/gm)].map((m) => (m[1] ?? m[2] ?? '').replace(/\/$/, ''));
}

/**
 * The agent's whole change as a binary patch against `base`: only these bytes leave the box,
 * with the paths that could not be staged. Read back without following links or blocking, and
 * never beyond `maxBytes`.
 */
export async function extractPatch(box: TaskBox, objects: string[], base: string, options: { maxBytes: number; signal?: AbortSignal }): Promise<{ patch: Buffer; unstaged: string[] }> {
  const repo = path.join(box.dirs.home, '.ai-fix-extract.git');
  const out = path.join(box.dirs.home, '.ai-fix-change.patch');
  const diff = `git --git-dir=${shellQuote(repo)} diff --cached --binary --full-index --no-renames --no-color --no-ext-diff --no-textconv ${base} > ${shellQuote(out)}`;
  const result = await box.run(`rm -f ${shellQuote(out)}\n${stageScript(repo, objects, base, true)}\n${diff}`, { timeoutMs: 600_000, signal: options.signal });
  if (result.exitCode !== 0) throw boxGitFailure('could not take the change out of the sandbox', result);
  const size = (await fs.lstat(out).catch(() => null))?.size ?? 0;
  if (size > options.maxBytes) throw new PatchTooLargeError(`the change is ${Math.ceil(size / 2 ** 20)} MB as a patch, more than the ${options.maxBytes / 2 ** 20} MB a pull request may carry`);
  try {
    return { patch: await readRegularFile(out, options.maxBytes), unstaged: unstaged(result.output) };
  } catch (err) {
    throw new BoxGitError(`could not take the change out of the sandbox: ${(err as Error).message.replace(out, 'the patch')}`);
  }
}
