import { createHash } from 'node:crypto';

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
// What changes between two runs of the same failure: durations, timestamps, addresses, source
// positions (an edit shifts line numbers), and how much output was clipped.
const VOLATILE: Array<[RegExp, string]> = [
  [/\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds|m|min)\b/g, '<time>'],
  [/\b\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?\b/g, '<timestamp>'],
  [/\b0x[0-9a-f]+\b/gi, '<address>'],
  [/:\d+(?::\d+)?\b/g, ':<pos>'],
  [/\bline \d+\b/gi, 'line <n>'],
  [/\(\d+ characters omitted\)/g, '(… omitted)'],
  [/\/tmp\/[^\s:'"]+/g, '<tmp>'],
];

/** Two failing test runs with equal fingerprints failed the same way. */
export function failureFingerprint(output: string): string {
  let text = output.replace(ANSI, '');
  for (const [pattern, replacement] of VOLATILE) text = text.replace(pattern, replacement);
  return createHash('sha1').update(text.replace(/\s+/g, ' ').trim()).digest('hex');
}

export interface NoProgressLimits {
  repeatedFailures: number;
  stepsWithoutEdit: number;
}

/** Notices a run going in circles: the same test failure again and again, or steps that change nothing. */
export class ProgressWatch {
  readonly #limits: NoProgressLimits;
  #lastFailure: string | undefined;
  #repeats = 0;
  #stepsWithoutEdit = 0;

  constructor(limits: NoProgressLimits) {
    this.#limits = limits;
  }

  testRun(passed: boolean, output: string): void {
    if (passed) {
      this.#lastFailure = undefined;
      this.#repeats = 0;
      return;
    }
    const fingerprint = failureFingerprint(output);
    this.#repeats = fingerprint === this.#lastFailure ? this.#repeats + 1 : 1;
    this.#lastFailure = fingerprint;
  }

  step(edited: boolean): void {
    this.#stepsWithoutEdit = edited ? 0 : this.#stepsWithoutEdit + 1;
  }

  /** Why the run is making no progress, or undefined while it is. */
  verdict(): string | undefined {
    if (this.#repeats >= this.#limits.repeatedFailures) {
      return `no progress: the tests failed the same way ${this.#repeats} times in a row`;
    }
    if (this.#stepsWithoutEdit >= this.#limits.stepsWithoutEdit) {
      return `no progress: ${this.#stepsWithoutEdit} steps in a row changed no file`;
    }
    return undefined;
  }
}
