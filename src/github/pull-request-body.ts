import type { TokenUsage } from '../agent/conversation.ts';
import type { AgentPlan, CommandRun } from '../agent/plan-notes.ts';
import type { CiPresence } from '../ci/ci-presence.ts';
import { clip, codeBlock, formatDollars, formatDuration, formatNumber } from '../util/markdown.ts';
import { noTestCommandNote } from './no-test-command.ts';
import { renderVerificationSection, type Verification } from './verification-section.ts';

export interface PullRequestReport {
  issueNumber: number;
  summary: string;
  files: Array<{ status: string; path: string }>;
  testCommand: string | null;
  testsPassed: boolean | null;
  testOutput?: string;
  /** Why the agent stopped short, for a draft that does not pass. */
  stopReason?: string;
  usage: TokenUsage;
  /** null when the model has no price. */
  dollars: number | null;
  steps: number;
  model: string;
  durationMs: number;
  /** What ai-fix itself changed or held back, e.g. undone changes to protected paths. */
  notes?: string[];
  /** The agent's first notes and its tool calls in order. */
  plan?: AgentPlan;
  /** Commands the agent ran to check its work (tests, shell), in order. */
  commands?: CommandRun[];
  /** The task's page on the dashboard, when it has a public URL. */
  taskPageUrl?: string;
  /** What else checks the pull request: the repository's CI (watched and fixed), or nothing. */
  ci?: { presence: CiPresence; base: string; maxAttempts: number };
  /** ai-fix's own test runs on the base and on the pushed head. */
  verification?: Verification;
}

const MAX_COMMANDS = 15;
const MAX_STEPS = 80;

const STATUS_WORDS: Record<string, string> = { A: 'added', M: 'modified', D: 'deleted', T: 'type changed' };

export function pullRequestTitle(issueNumber: number, issueTitle: string, passing: boolean): string {
  const title = `Fix #${issueNumber}: ${issueTitle}`.slice(0, 240);
  return passing ? title : `[failing tests] ${title}`;
}

export function renderPullRequestBody(report: PullRequestReport): string {
  const lines: string[] = [];
  if (!report.testCommand) {
    lines.push('> [!WARNING]', `> ${noTestCommandNote(true)} It is opened as a draft: check the change yourself before marking it ready for review.`, '');
  } else if (report.testsPassed === false) {
    lines.push(
      `> [!WARNING]`,
      `> The tests do not pass on this branch yet${report.stopReason ? `: ${report.stopReason}` : ''}. This draft holds the agent's work so far.`,
      '',
    );
  }
  for (const note of report.notes ?? []) lines.push('> [!NOTE]', `> ${note}`, '');
  lines.push('## Summary', '', report.summary.trim() || '(no summary)', '', `Fixes #${report.issueNumber}`, '');
  lines.push('## Changes', '');
  for (const file of report.files) lines.push(`- \`${file.path}\` (${STATUS_WORDS[file.status[0] ?? ''] ?? file.status})`);
  if (report.files.length === 0) lines.push('- (no file changes in this run)');
  lines.push('', '## How it was verified', '');
  if (!report.testCommand) {
    lines.push('No test command was configured or detected in this repository, so the change was **not** verified by tests.');
  } else {
    const verdict = report.testsPassed === true ? '✅ passed' : report.testsPassed === false ? '❌ failed' : 'not run';
    lines.push(`Final check: \`${report.testCommand}\`: ${verdict}`);
    if (report.testOutput) {
      lines.push('', '<details><summary>Test output (end)</summary>', '', codeBlock(clip(report.testOutput, 3000).slice(-3000)), '', '</details>');
    }
  }
  if (report.ci?.presence.configured) {
    const { maxAttempts } = report.ci;
    lines.push('', `CI (${report.ci.presence.source}): ai-fix watches this pull request's checks${maxAttempts > 0 ? ` and, when one fails, reads the failure and pushes a fix (up to ${maxAttempts} attempts)` : ''}.`);
  } else if (report.ci) {
    const only = report.testCommand ? `only the local test command \`${report.testCommand}\` verified this change` : 'nothing but its reviewers will check this change';
    lines.push('', `**No CI is configured** for this repository (no workflow or CI files, and no checks or statuses on \`${report.ci.base}\`): ${only}.`);
  }
  const commands = report.commands ?? [];
  if (commands.length) {
    const shown = commands.slice(-MAX_COMMANDS);
    lines.push('', `Commands the agent ran${commands.length > shown.length ? ` (last ${shown.length} of ${commands.length})` : ''}:`, '');
    for (const run of shown) lines.push(`- \`${run.command.replaceAll('`', "'").split('\n')[0]}\` → ${run.result}`);
  }
  if (report.verification) lines.push('', ...renderVerificationSection(report.verification));
  const { usage } = report;
  lines.push(
    '',
    '## Cost',
    '',
    `${report.dollars === null ? `cost unknown (no price for \`${report.model}\`)` : `**${formatDollars(report.dollars)}**`} · ${formatNumber(usage.input + usage.output)} tokens (${formatNumber(usage.input)} input, of which ${formatNumber(usage.cached)} cached; ${formatNumber(usage.output)} output) · ${report.steps} steps · model \`${report.model}\` · ${formatDuration(report.durationMs)}`,
  );
  if (report.plan && (report.plan.notes || report.plan.steps.length)) {
    const { notes, steps } = report.plan;
    lines.push('', `<details><summary>The agent's plan and steps (${steps.length} tool calls)</summary>`, '');
    if (notes) lines.push(...notes.split('\n').map((line) => `> ${line}`), '');
    steps.slice(0, MAX_STEPS).forEach((step, index) => lines.push(`${index + 1}. \`${step.replaceAll('`', "'")}\``));
    if (steps.length > MAX_STEPS) lines.push(`… and ${steps.length - MAX_STEPS} more`);
    lines.push('', '</details>');
  }
  lines.push(
    '',
    '---',
    `_Opened by ai-fix${report.taskPageUrl ? ` ([task page](${report.taskPageUrl}))` : ''}. Comment on this pull request to ask for changes._`,
  );
  return lines.join('\n');
}
