/** One run of the test command by ai-fix itself (not by the model). */
export interface TestRunStatus {
  sha: string;
  exitCode: number | null;
  timedOut: boolean;
}

/** The test command on the base and on the pushed head, and what changed between them. */
export interface Verification {
  command: string;
  base: TestRunStatus;
  head: TestRunStatus;
  /** Per-test changes; absent when neither run's output named a test (only the exit statuses tell). */
  tests?: { fixed: string[]; noLongerFailing: string[]; stillFailing: string[]; newlyFailing: string[] };
}

const MAX_NAMES = 20;

// Test names come from the repository's code, which the agent may have written.
const inline = (text: string) => `\`${text.replaceAll('`', "'").replace(/\s+/g, ' ').slice(0, 200)}\``;

function status(run: TestRunStatus): string {
  if (run.timedOut) return 'timed out';
  if (run.exitCode === null) return 'killed';
  return run.exitCode === 0 ? 'passed (exit 0)' : `failed (exit ${run.exitCode})`;
}

function list(label: string, names: string[]): string[] {
  if (!names.length) return [];
  const shown = names.slice(0, MAX_NAMES).map((name) => `- ${inline(name)}`);
  if (names.length > MAX_NAMES) shown.push(`- … and ${names.length - MAX_NAMES} more`);
  return ['', `${label}:`, '', ...shown];
}

/** The PR body's "Verification" section: what the worker's own runs show, and what they do not. */
export function renderVerificationSection(verification: Verification): string[] {
  const { base, head, tests } = verification;
  const lines = [
    '## Verification',
    '',
    `Run by ai-fix on base \`${base.sha.slice(0, 7)}\` and head \`${head.sha.slice(0, 7)}\`: ${inline(verification.command)} ${status(base)} on the base, ${status(head)} on this branch.`,
  ];
  const failedOnBase = tests ? tests.fixed.length + tests.noLongerFailing.length + tests.stillFailing.length : 0;
  if (base.exitCode === 0 && !base.timedOut && failedOnBase === 0) {
    lines.push('', '> [!NOTE]', '> No test failed on the base: the change is not proven by a test.');
  } else if (!tests || failedOnBase === 0) {
    lines.push('', 'The test output named no failing test on the base, so only the exit statuses above tell what changed.');
  }
  if (tests) {
    lines.push(
      ...list('Fixed (failed on the base, pass on this branch)', tests.fixed),
      ...list('No longer failing (failed on the base; this branch\'s run does not name them as failing or passing)', tests.noLongerFailing),
      ...list('Still failing (on the base and on this branch)', tests.stillFailing),
      ...list('Newly failing (on this branch only)', tests.newlyFailing),
    );
  }
  return lines;
}
