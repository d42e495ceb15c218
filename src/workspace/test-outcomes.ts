import { cleanForDisplay } from '../util/display-text.ts';

// Per-test outcomes read from what the common runners print by default or in their verbose modes.
// Each reader looks for its runner's own summary first, so a stray line of another program's
// output is not taken for a test. Names keep the runner's own notation (`suite › test` for jest,
// `file > suite > test` for vitest, `file::test` for pytest, `TestX/sub` for go, `mod::test` for
// cargo), so a run on the base and one on the branch compare name for name.

export type TestRunner = 'jest' | 'vitest' | 'node' | 'pytest' | 'go' | 'cargo';

export interface TestOutcomes {
  /** The runners whose output was recognised; empty: only the exit code says anything. */
  runners: TestRunner[];
  failed: string[];
  /** Empty when the runner does not print passing tests (pytest without `-rA`/`-v`, jest over several files). */
  passed: string[];
}

interface Found {
  failed: string[];
  passed: string[];
}

type Reader = (lines: string[]) => Found | null;

/** jest: `● suite › test` per failure; in verbose mode a tree of `✓`/`✕` under describe blocks. */
const jest: Reader = (lines) => {
  if (!lines.some((line) => /^Tests:\s+.*\d+ total$/.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  let file = '';
  let suites: string[] = [];
  let inTree = false;
  for (const line of lines) {
    const header = /^(PASS|FAIL) (\S+)/.exec(line);
    if (header) {
      file = header[2]!.replace(/^\.\//, '');
      suites = [];
      inTree = true;
      continue;
    }
    const failure = /^ {2}● (.+)$/.exec(line);
    if (failure) {
      inTree = false;
      // A file that could not run at all has no test name: the file stands for its tests.
      if (failure[1] !== 'Console') found.failed.push(failure[1] === 'Test suite failed to run' ? file : failure[1]!);
      continue;
    }
    if (!inTree) continue;
    if (line.trim() === '') {
      inTree = false;
      continue;
    }
    const depth = (line.length - line.trimStart().length) / 2 - 1;
    const leaf = /^\s+([✓✕√×○]) (.+?)(?: \(\d+(?:\.\d+)? m?s\))?$/.exec(line);
    if (!leaf) {
      suites = [...suites.slice(0, depth), line.trim()];
      continue;
    }
    const name = [...suites.slice(0, depth), leaf[2]!].join(' › ');
    if (leaf[1] === '✓' || leaf[1] === '√') found.passed.push(name);
    else if (leaf[1] === '✕' || leaf[1] === '×') found.failed.push(name);
  }
  return found;
};

/** vitest: ` FAIL  file > suite > test` per failure; `✓ file > suite > test` in verbose mode. */
const vitest: Reader = (lines) => {
  if (!lines.some((line) => /^\s*Test Files\s+\d+ (failed|passed)/.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  for (const line of lines) {
    const failure = /^ FAIL {1,2}(.+?)\s*$/.exec(line);
    if (failure) found.failed.push(failure[1]!);
    // Only the verbose reporter names a test with its file; the default tree has bare names.
    const leaf = /^ ([✓×]) (\S+ > .+?)(?: \d+m?s)?$/.exec(line);
    if (leaf) (leaf[1] === '✓' ? found.passed : found.failed).push(leaf[2]!);
  }
  return found;
};

/** node --test, TAP reporter (the default without a terminal up to Node 22): nested `# Subtest:` blocks. */
const nodeTap: Reader = (lines) => {
  if (!lines.some((line) => /^TAP version \d+$/.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  const names: string[] = [];
  const hasChildren: boolean[] = [];
  for (const line of lines) {
    const depth = (line.length - line.trimStart().length) / 4;
    const subtest = /^\s*# Subtest: (.+)$/.exec(line);
    if (subtest) {
      names.length = depth;
      names[depth] = subtest[1]!;
      hasChildren[depth] = false;
      if (depth > 0) hasChildren[depth - 1] = true;
      continue;
    }
    const result = /^\s*(not ok|ok) \d+ - (.+?)(?: # (?:SKIP|TODO).*)?$/.exec(line);
    // A suite's own result line repeats what its tests said.
    if (!result || hasChildren[depth] || /# (SKIP|TODO)/.test(line)) continue;
    const name = [...names.slice(0, depth), result[2]!].join(' > ');
    (result[1] === 'ok' ? found.passed : found.failed).push(name);
  }
  return found;
};

/** node --test, spec reporter: an indented tree of `▶ suite`, `✔ test`, `✖ test`, then a repeat of the failures. */
const nodeSpec: Reader = (lines) => {
  if (!lines.some((line) => /^ℹ tests \d+$/.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  const suites: string[] = [];
  for (const line of lines) {
    if (/^✖ failing tests:$/.test(line)) break;
    const depth = (line.length - line.trimStart().length) / 2;
    const suite = /^\s*▶ (.+)$/.exec(line);
    if (suite) {
      suites.length = depth;
      suites[depth] = suite[1]!;
      continue;
    }
    const leaf = /^\s*([✔✖]) (.+?)(?: \(\d+(?:\.\d+)?m?s\))?(?: # .*)?$/.exec(line);
    if (!leaf) continue;
    // The line closing a suite names the suite itself.
    if (suites.length > depth && suites[depth] === leaf[2]) {
      suites.length = depth;
      continue;
    }
    const name = [...suites.slice(0, depth), leaf[2]!].join(' > ');
    (leaf[1] === '✔' ? found.passed : found.failed).push(name);
  }
  return found;
};

/** pytest: `FAILED file::test - why` in the short summary (default), `PASSED` too with `-rA`, `file::test PASSED [ 20%]` with `-v`. */
const pytest: Reader = (lines) => {
  if (!lines.some((line) => /^=+ (.*\b(passed|failed|error|errors|no tests ran)\b.*) =+$|^=+ short test summary info =+$/.test(line) || /^\d+ (passed|failed)\b.* in [\d.]+s/.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  for (const line of lines) {
    const summary = /^(PASSED|FAILED|ERROR) (.+?)(?: - .*)?$/.exec(line);
    const verbose = /^(\S+::.+?) (PASSED|FAILED|ERROR)(?:\s+\[\s*\d+%\])?$/.exec(line);
    const [status, name] = summary ? [summary[1], summary[2]] : verbose ? [verbose[2], verbose[1]] : [];
    if (!status || !name) continue;
    (status === 'PASSED' ? found.passed : found.failed).push(name);
  }
  return found;
};

/** go test: `--- FAIL: TestX (0.00s)` (always), `--- PASS:` with `-v`; a parent fails or passes with its subtests. */
const go: Reader = (lines) => {
  if (!lines.some((line) => /^(ok|FAIL|---)\s/.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  for (const line of lines) {
    const result = /^\s*--- (FAIL|PASS): (\S+) \(/.exec(line);
    if (result) (result[1] === 'PASS' ? found.passed : found.failed).push(result[2]!);
  }
  const leaves = (names: string[]) => names.filter((name) => !names.some((other) => other.startsWith(`${name}/`)));
  return { failed: leaves(found.failed), passed: leaves(found.passed) };
};

/** cargo test: `test path::name ... ok|FAILED` per test. */
const cargo: Reader = (lines) => {
  if (!lines.some((line) => /^test result: (ok|FAILED)\./.test(line))) return null;
  const found: Found = { failed: [], passed: [] };
  for (const line of lines) {
    const result = /^test (.+?) \.\.\. (ok|FAILED)$/.exec(line);
    if (result) (result[2] === 'ok' ? found.passed : found.failed).push(result[1]!);
  }
  return found;
};

const READERS: Array<[TestRunner, Reader[]]> = [
  ['jest', [jest]],
  ['vitest', [vitest]],
  ['node', [nodeTap, nodeSpec]],
  ['pytest', [pytest]],
  ['go', [go]],
  ['cargo', [cargo]],
];

/**
 * The failing (and, where printed, passing) tests a run's output names. Several runners in one
 * command (a monorepo's script) add up; a test that both failed and passed (a retry) counts as failed.
 */
export function parseTestOutcomes(output: string): TestOutcomes {
  const lines = cleanForDisplay(output).split('\n');
  const runners: TestRunner[] = [];
  const failed = new Set<string>();
  const passed = new Set<string>();
  for (const [runner, readers] of READERS) {
    for (const read of readers) {
      const found = read(lines);
      if (!found || found.failed.length + found.passed.length === 0) continue;
      if (!runners.includes(runner)) runners.push(runner);
      for (const name of found.failed) failed.add(name);
      for (const name of found.passed) passed.add(name);
    }
  }
  return { runners, failed: [...failed], passed: [...passed].filter((name) => !failed.has(name)) };
}

export interface OutcomeChanges {
  /** Failed on the base, listed as passing on the head. */
  fixed: string[];
  /** Failed on the base, neither failing nor listed as passing on the head (removed, or the runner lists no passes). */
  noLongerFailing: string[];
  stillFailing: string[];
  /** Failed on the head only. */
  newlyFailing: string[];
}

/** How each test the two runs named changed from the base to the head. */
export function compareOutcomes(base: TestOutcomes, head: TestOutcomes): OutcomeChanges {
  const headFailed = new Set(head.failed);
  const headPassed = new Set(head.passed);
  const baseFailed = new Set(base.failed);
  return {
    fixed: base.failed.filter((name) => headPassed.has(name)),
    noLongerFailing: base.failed.filter((name) => !headPassed.has(name) && !headFailed.has(name)),
    stillFailing: base.failed.filter((name) => headFailed.has(name)),
    newlyFailing: head.failed.filter((name) => !baseFailed.has(name)),
  };
}

/** One run of the test command by ai-fix itself, on one commit. */
export interface TestRun {
  sha: string;
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  outcomes: TestOutcomes;
}
