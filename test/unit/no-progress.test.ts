import { describe, expect, it } from '@jest/globals';
import { failureFingerprint, ProgressWatch } from '../../src/agent/no-progress.ts';

describe('failure fingerprints', () => {
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

describe('progress watch', () => {
  it('stops at the same failure N times in a row; a pass or another failure resets the count', () => {
    const watch = new ProgressWatch({ repeatedFailures: 3, stepsWithoutEdit: 100 });
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

  it('stops after N steps without an edit', () => {
    const watch = new ProgressWatch({ repeatedFailures: 3, stepsWithoutEdit: 3 });
    watch.step(false);
    watch.step(false);
    watch.step(true);
    watch.step(false);
    watch.step(false);
    expect(watch.verdict()).toBeUndefined();
    watch.step(false);
    expect(watch.verdict()).toBe('no progress: 3 steps in a row changed no file');
  });
});
