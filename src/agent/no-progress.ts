import { createHash } from 'node:crypto';
import { describeCall } from './plan-notes.ts';

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
// What changes between two runs of the same failure: durations, timestamps, addresses, thread
// ids, source positions (an edit shifts line numbers), rebuild notices and how much output was
// clipped. Checked against captured runs of jest, vitest, node --test, pytest, go and cargo
// (test/fixtures/test-outputs).
const VOLATILE: Array<[RegExp, string]> = [
  // node --test: `duration_ms: 160.07` (TAP) and `ℹ duration_ms 219.24` (spec).
  [/\bduration_ms:?\s+\d+(?:\.\d+)?/g, 'duration_ms <time>'],
  // jest: `Time: 0.401 s, estimated 1 s` (the estimate appears from the second run on).
  [/,\s*estimated \d+(?:\.\d+)?\s?s\b/g, ''],
  // go: a passing package's time becomes `(cached)` on the next run.
  [/\(cached\)/g, '<time>'],
  [/\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds|m|min)\b/g, '<time>'],
  [/\b\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?\b/g, '<timestamp>'],
  // vitest: `Start at 15:08:27`.
  [/\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b/g, '<clock>'],
  [/\b0x[0-9a-f]+\b/gi, '<address>'],
  // cargo: `thread 'tests::adds' (10604) panicked`.
  [/(thread '[^']*') \(\d+\)/g, '$1'],
  // cargo prints what it rebuilt, only when it rebuilt something.
  [/^\s*(?:Compiling|Checking|Downloading|Downloaded|Updating|Locking|Blocking|Adding|Fresh)\s.*$/gm, ''],
  [/:\d+(?::\d+)?\b/g, ':<pos>'],
  [/\bline \d+\b/gi, 'line <n>'],
  [/\(\d+ characters omitted\)/g, '(… omitted)'],
  [/\/tmp\/[^\s:'"]+/g, '<tmp>'],
  // Banners padded to a fixed width (pytest's `=== 1 failed in 1.41s ===`) change with the time.
  [/([=_\-⎯~*#])\1{2,}/g, '$1$1$1'],
];

function normalise(output: string): string {
  let text = output.replace(ANSI, '');
  for (const [pattern, replacement] of VOLATILE) text = text.replace(pattern, replacement);
  return text.replace(/\s+/g, ' ').trim();
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** Two failing test runs with equal fingerprints failed the same way. */
export function failureFingerprint(output: string): string {
  return sha1(normalise(output));
}

export interface NoProgressLimits {
  /** The tests failing the same way this many times in a row stops the run. */
  repeatedFailures: number;
  /** This many tool calls in a row that repeat an earlier call with an unchanged output stop the run. */
  repeatedCalls: number;
  /** A ceiling for exploration: steps in a row that change no file. */
  stepsWithoutEdit: number;
}

export interface ObservedCall {
  name: string;
  /** The arguments as the model sent them (JSON). */
  arguments: string;
}

function canonicalArguments(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw || '{}'));
  } catch {
    return raw;
  }
}

/**
 * Notices a run going in circles: the same call with the same output again and again, or the
 * same test failure again and again. New information (a file not read yet, a search not run
 * yet, a different output) is progress, however long the look around takes, up to a generous
 * ceiling of steps without an edit.
 */
export class ProgressWatch {
  readonly #limits: NoProgressLimits;
  readonly #seen = new Set<string>();
  #lastFailure: string | undefined;
  #failureRepeats = 0;
  #callRepeats = 0;
  #lastRepeated = '';
  #stepsWithoutEdit = 0;

  constructor(limits: NoProgressLimits) {
    this.#limits = limits;
  }

  /** Records a test run; returns a note for the model when it failed exactly as the run before. */
  testRun(passed: boolean, output: string): string | undefined {
    if (passed) {
      this.#lastFailure = undefined;
      this.#failureRepeats = 0;
      return undefined;
    }
    const fingerprint = failureFingerprint(output);
    this.#failureRepeats = fingerprint === this.#lastFailure ? this.#failureRepeats + 1 : 1;
    this.#lastFailure = fingerprint;
    if (this.#failureRepeats < 2) return undefined;
    return `[ai-fix] The tests failed exactly as in the previous run (${this.#failureRepeats} times in a row): the change did not reach this failure. Re-read the failure and try a different fix; at ${this.#limits.repeatedFailures} the task stops.`;
  }

  /** Records a tool call and its output; returns a note for the model when both repeat an earlier call. */
  toolCall(call: ObservedCall, output: string): string | undefined {
    const key = sha1(`${call.name}\0${canonicalArguments(call.arguments)}\0${normalise(output)}`);
    if (!this.#seen.has(key)) {
      this.#seen.add(key);
      this.#callRepeats = 0;
      return undefined;
    }
    this.#callRepeats++;
    this.#lastRepeated = describeCall(call);
    const left = this.#limits.repeatedCalls - this.#callRepeats;
    return `[ai-fix] You ran this already; the output is unchanged. Use what you have or try something different${left > 0 ? ` (${left} more repeat${left === 1 ? '' : 's'} in a row stop the task)` : ''}.`;
  }

  /** After a compaction the model no longer holds earlier outputs: reading them again is new to it. */
  forgetCalls(): void {
    this.#seen.clear();
    this.#callRepeats = 0;
  }

  step(edited: boolean): void {
    this.#stepsWithoutEdit = edited ? 0 : this.#stepsWithoutEdit + 1;
  }

  /** Why the run is making no progress, or undefined while it is. */
  verdict(): string | undefined {
    if (this.#failureRepeats >= this.#limits.repeatedFailures) {
      return `no progress: the tests failed the same way ${this.#failureRepeats} times in a row`;
    }
    if (this.#callRepeats >= this.#limits.repeatedCalls) {
      return `no progress: ${this.#callRepeats} tool calls in a row repeated earlier ones with unchanged output (last: \`${this.#lastRepeated}\`; limit: \`limits.repeated_calls\`)`;
    }
    if (this.#stepsWithoutEdit >= this.#limits.stepsWithoutEdit) {
      return `no progress: ${this.#stepsWithoutEdit} steps in a row changed no file (raise \`limits.steps_without_edit\` in .github/ai-fix.yml for a longer exploration)`;
    }
    return undefined;
  }
}
