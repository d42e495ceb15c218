import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { compareOutcomes, parseTestOutcomes, type TestOutcomes } from '../../src/workspace/test-outcomes.ts';

// Outputs of the real runners on tiny projects where some tests fail (captured with jest 30,
// vitest 4, node --test of Node 20 (TAP) and 22 (spec), pytest 9, go 1.19, cargo 1.95).
const output = (name: string) => fs.readFileSync(path.join(import.meta.dirname, '../fixtures/test-outputs', `verify-${name}.txt`), 'utf8');
const sorted = (outcomes: TestOutcomes) => ({ runners: outcomes.runners, failed: [...outcomes.failed].sort(), passed: [...outcomes.passed].sort() });

describe('per-test outcomes from the runners’ real output', () => {
  it('jest: failures by their describe path; passes too in verbose mode', () => {
    expect(sorted(parseTestOutcomes(output('jest')))).toEqual({ runners: ['jest'], failed: ['math › adds two numbers', 'strings › upper › shouts'], passed: [] });
    expect(sorted(parseTestOutcomes(output('jest-verbose')))).toEqual({
      runners: ['jest'],
      failed: ['math › adds two numbers', 'strings › upper › shouts'],
      passed: ['math › subtracts two numbers', 'top-level multiply stub'],
    });
  });

  it('vitest: failures with their file (colours and all); passes in verbose mode', () => {
    expect(sorted(parseTestOutcomes(output('vitest')))).toEqual({ runners: ['vitest'], failed: ['math.test.js > math > adds two numbers', 'math.test.js > strings > upper > shouts'], passed: [] });
    expect(sorted(parseTestOutcomes(output('vitest-verbose')))).toEqual({
      runners: ['vitest'],
      failed: ['math.test.js > math > adds two numbers', 'math.test.js > strings > upper > shouts'],
      passed: ['math.test.js > math > subtracts two numbers', 'math.test.js > top-level multiply stub'],
    });
  });

  it('node --test: the same names from the TAP and the spec reporters, suites left out', () => {
    const expected = { runners: ['node'], failed: ['math > adds two numbers', 'parses input'], passed: ['math > subtracts two numbers', 'top-level check'] };
    expect(sorted(parseTestOutcomes(output('node-test-tap')))).toEqual(expected);
    expect(sorted(parseTestOutcomes(output('node-test-spec')))).toEqual(expected);
  });

  it('pytest: failures from the short summary by default; passes with -rA and -v', () => {
    const failed = ['test_calc.py::TestParse::test_int', 'test_calc.py::test_add', 'test_calc.py::test_param[2]'];
    const passed = ['test_calc.py::test_param[1]', 'test_calc.py::test_sub'];
    expect(sorted(parseTestOutcomes(output('pytest')))).toEqual({ runners: ['pytest'], failed, passed: [] });
    expect(sorted(parseTestOutcomes(output('pytest-ra')))).toEqual({ runners: ['pytest'], failed, passed });
    expect(sorted(parseTestOutcomes(output('pytest-verbose')))).toEqual({ runners: ['pytest'], failed, passed });
  });

  it('go test: the failing subtest rather than its parent; passes with -v', () => {
    expect(sorted(parseTestOutcomes(output('go-test')))).toEqual({ runners: ['go'], failed: ['TestAdd', 'TestTable/large'], passed: [] });
    expect(sorted(parseTestOutcomes(output('go-test-verbose')))).toEqual({ runners: ['go'], failed: ['TestAdd', 'TestTable/large'], passed: ['TestSub', 'TestTable/small'] });
  });

  it('cargo test: every test by its module path', () => {
    expect(sorted(parseTestOutcomes(output('cargo-test')))).toEqual({ runners: ['cargo'], failed: ['tests::adds', 'tests::nested::parses'], passed: ['tests::subtracts'] });
  });

  it('output no runner of its kind printed names nothing: only the exit code will tell', () => {
    expect(parseTestOutcomes('> calculator@1.0.0 test\n> node test.js\n\nAssertionError: -1 == 5\nFAIL: everything\n')).toEqual({ runners: [], failed: [], passed: [] });
  });
});

describe('comparing the base with the head', () => {
  it('tells fixed, still failing, newly failing and no longer failing tests apart', () => {
    const base = { runners: ['jest' as const], failed: ['a', 'b', 'c'], passed: ['d'] };
    const head = { runners: ['jest' as const], failed: ['b', 'd'], passed: ['a'] };
    expect(compareOutcomes(base, head)).toEqual({ fixed: ['a'], noLongerFailing: ['c'], stillFailing: ['b'], newlyFailing: ['d'] });
  });
});
