import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { failureFingerprint, ProgressWatch, type NoProgressLimits } from '../../src/agent/no-progress.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/test-outputs/${name}`, import.meta.url), 'utf8');
/** What run_tests hands the loop: its header (with this run's duration) and the runner's output. */
const asRunTests = (command: string, seconds: number, output: string) => `FAILED: ${command}\nexit code 1 after ${seconds.toFixed(1)}s\n${output}`;

// Real outputs, captured by running each runner twice on a tiny failing project (`add` subtracts),
// then once more with another bug (`add` multiplies).
const RUNNERS: Array<[string, string]> = [
  ['jest', 'npx jest'],
  ['vitest', 'npx vitest run'],
  ['node-test-tap-node20', 'node --test'],
  ['node-test-tap-node22', 'node --test'],
  ['node-test-spec-node22', 'node --test --test-reporter=spec'],
  ['pytest', 'python3 -m pytest'],
  ['go-test', 'go test ./...'],
  ['cargo-test', 'cargo test'],
];

describe('failure fingerprints of real test runners', () => {
  it.each(RUNNERS)('%s: two runs of the same failure are equal; another failure is not', (runner, command) => {
    const first = failureFingerprint(asRunTests(command, 1.4, fixture(`${runner}.run-1.txt`)));
    const second = failureFingerprint(asRunTests(command, 0.8, fixture(`${runner}.run-2.txt`)));
    const other = failureFingerprint(asRunTests(command, 1.1, fixture(`${runner}.other-failure.txt`)));
    expect(fixture(`${runner}.run-1.txt`)).not.toBe(fixture(`${runner}.run-2.txt`));
    expect(second).toBe(first);
    expect(other).not.toBe(first);
  });

  it('ignore what changes between runs of the same failure', () => {
    const run = (ms: number, line: number, omitted: number) =>
      `FAILED: npm test\nexit code 1 after ${ms / 1000}s\nAssertionError: -1 !== 5\n    at Object.<anonymous> (/tmp/job-${ms}/test.js:${line}:8)\n… (${omitted} characters omitted) …\nDone in ${ms}ms at 2026-11-24T03:00:${String(ms % 60).padStart(2, '0')}Z`;
    expect(failureFingerprint(run(812, 4, 100))).toBe(failureFingerprint(run(1303, 9, 2400)));
  });

  it('tell different failures apart', () => {
    expect(failureFingerprint('AssertionError: -1 !== 5')).not.toBe(failureFingerprint('AssertionError: 6 !== 5'));
    expect(failureFingerprint('3 failed, 10 passed')).not.toBe(failureFingerprint('2 failed, 11 passed'));
  });
});

const limits = (overrides: Partial<NoProgressLimits> = {}): NoProgressLimits => ({ repeatedFailures: 3, repeatedCalls: 5, stepsWithoutEdit: 150, ...overrides });
const shell = (command: string) => ({ name: 'run_shell', arguments: JSON.stringify({ command, timeout_seconds: null }) });
const read = (path: string) => ({ name: 'read_file', arguments: JSON.stringify({ path, start_line: null, end_line: null }) });

describe('repeated test failures', () => {
  it('stop at the same failure N times in a row; a pass or another failure resets the count', () => {
    const watch = new ProgressWatch(limits());
    watch.testRun(false, 'A');
    watch.testRun(false, 'A');
    watch.testRun(true, 'ok');
    watch.testRun(false, 'A');
    watch.testRun(false, 'B');
    watch.testRun(false, 'B');
    expect(watch.verdict()).toBeUndefined();
    watch.testRun(false, 'B');
    expect(watch.verdict()).toBe('no progress: the tests failed the same way 3 times in a row');
  });

  it('stop a node --test failure after repeated_failures runs, though its durations change', () => {
    const watch = new ProgressWatch(limits());
    const runs = ['run-1', 'run-2', 'run-1'].map((run, i) => asRunTests('node --test', 0.3 + i, fixture(`node-test-tap-node22.${run}.txt`)));
    expect(watch.testRun(false, runs[0]!)).toBeUndefined();
    expect(watch.testRun(false, runs[1]!)).toMatch(/^\[ai-fix\] The tests failed exactly as in the previous run \(2 times in a row\)/);
    expect(watch.verdict()).toBeUndefined();
    watch.testRun(false, runs[2]!);
    expect(watch.verdict()).toBe('no progress: the tests failed the same way 3 times in a row');
  });
});

describe('loop detection', () => {
  it('notes an identical call with an identical output, then stops when the model keeps repeating it', () => {
    const watch = new ProgressWatch(limits({ repeatedCalls: 3 }));
    const output = (seconds: number) => `exit code 0 after ${seconds}s\nREADME.md\ncalc.js`;
    expect(watch.toolCall(shell('ls'), output(0.1))).toBeUndefined();
    expect(watch.toolCall(shell('ls'), output(0.3))).toBe(
      '[ai-fix] You ran this already; the output is unchanged. Use what you have or try something different (2 more repeats in a row stop the task).',
    );
    expect(watch.verdict()).toBeUndefined();
    expect(watch.toolCall(shell('ls'), output(0.2))).toContain('(1 more repeat in a row stop the task)');
    expect(watch.verdict()).toBeUndefined();
    expect(watch.toolCall(shell('ls'), output(0.1))).toBe('[ai-fix] You ran this already; the output is unchanged. Use what you have or try something different.');
    expect(watch.verdict()).toBe('no progress: 3 tool calls in a row repeated earlier ones with unchanged output (last: `run_shell ls`; limit: `limits.repeated_calls`)');
  });

  it('counts a loop of two calls as a loop', () => {
    const watch = new ProgressWatch(limits({ repeatedCalls: 4 }));
    for (let i = 0; i < 3; i++) {
      watch.toolCall(read('calc.js'), 'calc.js:\n1| function add(a, b) {');
      watch.toolCall(shell('git status'), 'exit code 0 after 0.1s\nnothing to commit');
    }
    expect(watch.verdict()).toMatch(/^no progress: 4 tool calls in a row repeated earlier ones/);
  });

  it('treats new information as progress: a different output, another file, a read again after a compaction', () => {
    const watch = new ProgressWatch(limits({ repeatedCalls: 2 }));
    watch.toolCall(shell('cat log.txt'), 'exit code 0 after 0.1s\nstarting');
    expect(watch.toolCall(shell('cat log.txt'), 'exit code 0 after 0.1s\nstarting\nready')).toBeUndefined();
    watch.toolCall(shell('cat log.txt'), 'exit code 0 after 0.1s\nstarting\nready');
    watch.toolCall(read('other.js'), 'other.js: empty file');
    watch.toolCall(shell('cat log.txt'), 'exit code 0 after 0.1s\nstarting\nready');
    expect(watch.verdict()).toBeUndefined();
    watch.forgetCalls();
    expect(watch.toolCall(read('other.js'), 'other.js: empty file')).toBeUndefined();
  });

  it('lets a long exploration run: 60 different reads without an edit stop nothing', () => {
    const watch = new ProgressWatch(limits());
    for (let i = 0; i < 60; i++) {
      expect(watch.toolCall(read(`src/module-${i}.js`), `src/module-${i}.js:\n1| export const value = ${i};`)).toBeUndefined();
      watch.step(false);
    }
    expect(watch.verdict()).toBeUndefined();
  });

  it('keeps a ceiling for exploration: steps_without_edit steps in a row that change no file', () => {
    const watch = new ProgressWatch(limits({ stepsWithoutEdit: 3 }));
    watch.step(false);
    watch.step(false);
    watch.step(true);
    watch.step(false);
    watch.step(false);
    expect(watch.verdict()).toBeUndefined();
    watch.step(false);
    expect(watch.verdict()).toBe('no progress: 3 steps in a row changed no file (raise `limits.steps_without_edit` in .github/ai-fix.yml for a longer exploration)');
  });
});
