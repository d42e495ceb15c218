import { HANDOFF_REQUEST } from '../../src/agent/compaction.ts';
import type { RecordedModelRequest, ScriptedTurn, ScriptFn } from './model-sim.ts';

/** A model that fixes the calculator fixture the way a good agent would. */
export function fixingCalculatorTurns(): ScriptedTurn[] {
  return [
    { toolCalls: [{ name: 'run_tests', arguments: {} }] },
    { toolCalls: [{ name: 'read_file', arguments: { path: 'calc.js', start_line: null, end_line: null } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'calc.js', old_string: 'return a - b;', new_string: 'return a + b;' } }] },
    { toolCalls: [{ name: 'run_tests', arguments: {} }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed `add` in `calc.js`: it subtracted its arguments.' } }] },
  ];
}

/** How many tool results the conversation in this request holds: the agent's step so far. */
export function stepOf(request: RecordedModelRequest): number {
  const input = (request.body as { input?: Array<{ type?: string }> }).input ?? [];
  return input.filter((item) => item.type === 'function_call_output').length;
}

/**
 * The same fix as a function of the conversation rather than of the request count, so it stays
 * right when a task restarts (a killed worker, a retry) and starts a new conversation. (On a
 * branch that already holds the fix, the edit is refused as not found and the rest still works.)
 */
export function fixingCalculatorScript(options: { slowStep?: number; delayMs?: number; slowTimes?: number } = {}): ScriptFn {
  const turns = fixingCalculatorTurns();
  let slowLeft = options.slowTimes ?? 1;
  return (request) => {
    const step = stepOf(request);
    const turn = turns[step] ?? { text: 'Done.' };
    if (step === options.slowStep && slowLeft > 0) {
      slowLeft--;
      return { delayMs: options.delayMs ?? 30_000, then: turn };
    }
    return turn;
  };
}

/** A model that edits something irrelevant and keeps running the failing tests. */
export function neverGreenTurns(count: number): ScriptedTurn[] {
  return [
    { toolCalls: [{ name: 'write_file', arguments: { path: 'NOTES.md', content: 'investigating\n' } }] },
    ...Array.from({ length: count }, (): ScriptedTurn => ({ toolCalls: [{ name: 'run_tests', arguments: {} }] })),
  ];
}

/** True for the compaction request that asks the model for its hand-off note. */
export function isHandoffRequest(request: RecordedModelRequest): boolean {
  const items: unknown[] = request.endpoint === 'chat' ? request.body?.messages ?? [] : request.body?.input ?? [];
  const last = items.at(-1) as { content?: unknown } | undefined;
  return last?.content === HANDOFF_REQUEST;
}

export interface LongSessionOptions {
  /** Working steps before the fix (each with one large tool output). */
  steps: number;
  /** Large files to read and search (paths in the repository). */
  files: string[];
  /** Lines per read_file call. */
  readLines?: number;
  /** Steps already taken (a session resumed from a checkpoint after that step). */
  firstStep?: number;
}

/**
 * A long working session on the calculator fixture plus large files: reads, searches, shell
 * commands and notes with large outputs, failing test runs now and then, then the fix and finish.
 * Answers the hand-off request of a summary compaction with a note.
 */
export function longSessionScript(options: LongSessionOptions): ScriptFn {
  const readLines = options.readLines ?? 120;
  let step = options.firstStep ?? 0;
  return (request) => {
    if (isHandoffRequest(request)) {
      return { text: `Hand-off note after step ${step}: the bug is in calc.js (add subtracts). Large modules read so far are unrelated. Next: fix add, run the tests, finish.` };
    }
    step++;
    const file = options.files[step % options.files.length]!;
    const fix = step - options.steps;
    if (fix === 1) return { toolCalls: [{ name: 'read_file', arguments: { path: 'calc.js', start_line: null, end_line: null } }] };
    if (fix === 2) return { toolCalls: [{ name: 'edit_file', arguments: { path: 'calc.js', old_string: 'return a - b;', new_string: 'return a + b;' } }] };
    if (fix === 3) return { toolCalls: [{ name: 'run_tests', arguments: {} }] };
    if (fix >= 4) return { toolCalls: [{ name: 'finish', arguments: { summary: `Fixed add() after a ${options.steps}-step investigation.` } }] };
    const start = 1 + ((step * 37) % 200);
    switch (step % 5) {
      case 0:
        return { toolCalls: [{ name: 'search', arguments: { query: `value${step % 10}`, regex: null, path_glob: null } }] };
      case 1:
        return { toolCalls: [{ name: 'read_file', arguments: { path: file, start_line: start, end_line: start + readLines - 1 } }], reasoning: true };
      case 2:
        return { toolCalls: [{ name: 'run_shell', arguments: { command: `sed -n '${start},${start + readLines - 1}p' ${file}`, timeout_seconds: null } }] };
      case 3:
        return { toolCalls: [{ name: 'write_file', arguments: { path: 'NOTES.md', content: `notes after step ${step}\n` } }] };
      default:
        return { text: 'Checking the tests again.', toolCalls: [{ name: 'run_tests', arguments: {} }] };
    }
  };
}

/** A large source file for long sessions: `lines` lines of about 90 characters. */
export function largeModule(seed: number, lines = 400): string {
  return Array.from({ length: lines }, (_, i) => `export const value${seed}_${i} = computeSomething(${i}, "${'x'.repeat(40)}", ${seed * i});`).join('\n') + '\n';
}

/** True when the request belongs to a revision task (its prompt asks to revise a PR). */
export function isRevision(request: RecordedModelRequest): boolean {
  return /^Task: revise pull request/m.test(String(request.body?.input?.[0]?.content ?? ''));
}

/** Fixes the calculator for a new task, and for a revision coerces the inputs to numbers. */
export function fixThenReviseScript(): ScriptFn {
  const fix = fixingCalculatorScript();
  const revise: ScriptedTurn[] = [
    { toolCalls: [{ name: 'read_file', arguments: { path: 'calc.js', start_line: null, end_line: null } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'calc.js', old_string: 'return a + b;', new_string: 'return Number(a) + Number(b);' } }] },
    { toolCalls: [{ name: 'run_tests', arguments: {} }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Coerced both arguments with `Number()`, as the review asked.' } }] },
  ];
  return (request, index) => (isRevision(request) ? revise[stepOf(request)] ?? { text: 'Done.' } : fix(request, index));
}

/** True when the request belongs to a CI fix task. */
export function isCiFix(request: RecordedModelRequest): boolean {
  return /^Task: make the failing CI checks/m.test(String(request.body?.input?.[0]?.content ?? ''));
}

/** Fixes the calculator; asked to fix CI, adds the missing case to the tests. */
export function fixThenFixCiScript(): ScriptFn {
  const fix = fixingCalculatorScript();
  const ciFix: ScriptedTurn[] = [
    { toolCalls: [{ name: 'read_file', arguments: { path: 'test.js', start_line: null, end_line: null } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'test.js', old_string: 'assert.strictEqual(add(2, 3), 5);', new_string: 'assert.strictEqual(add(2, 3), 5);\nassert.strictEqual(add(-2, -3), -5);' } }] },
    { toolCalls: [{ name: 'run_tests', arguments: {} }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'CI ran a case the local tests lacked; added it.' } }] },
  ];
  return (request, index) => (isCiFix(request) ? ciFix[stepOf(request)] ?? { text: 'Done.' } : fix(request, index));
}

/** True when the request belongs to a task resolving the conflicts of a merge. */
export function isConflictResolution(request: RecordedModelRequest): boolean {
  return /^Task: resolve the conflicts of merging/m.test(String(request.body?.input?.[0]?.content ?? ''));
}

/** Fixes the calculator; asked to resolve merge conflicts, writes `resolved` over the conflicted file. */
export function fixThenResolveScript(file: string, resolved: string): ScriptFn {
  const fix = fixingCalculatorScript();
  const resolve: ScriptedTurn[] = [
    { toolCalls: [{ name: 'read_file', arguments: { path: file, start_line: null, end_line: null } }] },
    { toolCalls: [{ name: 'write_file', arguments: { path: file, content: resolved } }] },
    { toolCalls: [{ name: 'run_tests', arguments: {} }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: `Kept both sides in \`${file}\`: the fix and what the base branch added.` } }] },
  ];
  return (request, index) => (isConflictResolution(request) ? resolve[stepOf(request)] ?? { text: 'Done.' } : fix(request, index));
}

/** Files for a long look around: `count` small modules the fix does not need. */
export function manyModules(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`lib/part-${String(i).padStart(2, '0')}.js`, `// Part ${i} of the library.\nexports.part${i} = () => ${i};\n`]));
}

/** A model that reads every one of `files` (one per step) before it fixes the calculator. */
export function exploreThenFixScript(files: string[]): ScriptFn {
  const fix = fixingCalculatorTurns();
  return (request) => {
    const step = stepOf(request);
    if (step < files.length) return { toolCalls: [{ name: 'read_file', arguments: { path: files[step], start_line: null, end_line: null } }] };
    return fix[step - files.length] ?? { text: 'Done.' };
  };
}

/** A model stuck in a loop: the same shell command, `count` times. */
export function loopingTurns(command: string, count: number): ScriptedTurn[] {
  return Array.from({ length: count }, (): ScriptedTurn => ({ toolCalls: [{ name: 'run_shell', arguments: { command, timeout_seconds: null } }] }));
}
