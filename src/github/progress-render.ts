import type { PlanStep } from '../agent/tools/update-plan.ts';
import { formatDollars, formatDuration, formatNumber } from '../util/markdown.ts';
import { noTestCommandNote } from './no-test-command.ts';

export type ProgressStage =
  | 'queued'
  | 'preparing'
  | 'working'
  | 'testing'
  | 'pushing'
  | 'done'
  | 'failed'
  | 'cancelled';

export interface ProgressView {
  stage: ProgressStage;
  startedAt?: number;
  now?: number;
  step?: number;
  maxSteps?: number;
  tokens?: number;
  /** Model cost so far, when the model has a price. */
  dollars?: number;
  pullRequestUrl?: string;
  /** Why it failed or was cancelled, in one sentence. */
  reason?: string;
  /** What was tried, for a failure. */
  details?: string;
  /** The task's page on the dashboard (when the app has a public URL). */
  taskPageUrl?: string;
  /** The stages the task got through (the reporter keeps it): only these are ticked. */
  completed?: ProgressStage[];
  /** Where a failed or cancelled task stopped. */
  stoppedAt?: ProgressStage;
  /** The test command (null: none configured or detected) and, once it ran, its verdict. */
  tests?: { command: string | null; passed?: boolean };
  /** What the user should know about the task's input, e.g. an issue text cut for the model. */
  notes?: string[];
  plan?: PlanStep[];
}

export const PROGRESS_MARKER = '<!-- ai-fix:progress -->';

const TERMINAL: ReadonlySet<ProgressStage> = new Set(['done', 'failed', 'cancelled']);
const ORDER: ProgressStage[] = ['queued', 'preparing', 'working', 'testing', 'pushing', 'done'];

const LABELS: Record<string, string> = {
  queued: 'Queued',
  preparing: 'Workspace prepared',
  working: 'Agent working',
  testing: 'Tests run',
  pushing: 'Branch pushed',
  done: 'Pull request ready',
};

// A plan longer than this is the model thinking aloud, not a checklist anyone reads.
const MAX_PLAN_STEPS = 12;
const MAX_PLAN_STEP_CHARS = 200;

function header(view: ProgressView): string {
  if (view.stage === 'done') {
    const verified = view.tests?.command !== null;
    return `${verified ? '✅' : '⚠️'} **ai-fix** finished${verified ? '' : ', unverified'}: ${view.pullRequestUrl ?? 'pull request ready'}`;
  }
  if (view.stage === 'failed') return `❌ **ai-fix** could not finish this task: ${view.reason ?? 'unknown error'}`;
  if (view.stage === 'cancelled') return `⏹️ **ai-fix** task cancelled${view.reason ? `: ${view.reason}` : ''}`;
  return '👀 **ai-fix** is working on this issue.';
}

function testsLabel(tests: ProgressView['tests']): string {
  if (tests?.command === null) return `${LABELS.testing} — no test command`;
  if (tests?.passed === undefined) return LABELS.testing!;
  return `${LABELS.testing} — \`${tests.command?.replaceAll('`', "'")}\` ${tests.passed ? 'passed' : 'failed'}`;
}

/** Ticks only what happened: the stages completed, tests that ran, a branch that was pushed. */
function checklist(view: ProgressView): string[] {
  const completed = new Set(view.completed ?? []);
  const terminal = TERMINAL.has(view.stage);
  // A task that ended before it began (green checks, a bad config) has no steps to show.
  if (terminal && [...completed].every((stage) => stage === 'queued') && (view.stoppedAt ?? 'queued') === 'queued') return [];
  const pushed = completed.has('pushing');
  return ORDER.map((stage) => {
    let label = LABELS[stage] ?? stage;
    let done = completed.has(stage);
    if (stage === 'working' && view.step !== undefined) label += ` — step ${view.step}${view.maxSteps ? ` of ${view.maxSteps}` : ''}`;
    if (stage === 'testing') {
      label = testsLabel(view.tests);
      done = view.tests?.passed !== undefined;
    }
    if (stage === 'done') {
      done = view.stage === 'done';
      if (!done && pushed && view.pullRequestUrl) {
        label = 'Pull request holds the work so far';
        done = true;
      }
    }
    const current = stage === view.stage && !terminal;
    const stopped = terminal && stage === view.stoppedAt && !done;
    const text = current || stopped ? `**${label}**` : label;
    return `- [${done ? 'x' : ' '}] ${text}${stopped ? ' ← stopped here' : ''}`;
  });
}

function planLines(plan: PlanStep[]): string[] {
  const shown = plan.slice(0, MAX_PLAN_STEPS);
  const lines = ['', '**Plan**', ''];
  for (const { step, status } of shown) {
    const line = step.replace(/\s+/g, ' ').trim();
    const text = line.length > MAX_PLAN_STEP_CHARS ? `${line.slice(0, MAX_PLAN_STEP_CHARS - 1)}…` : line;
    lines.push(`- [${status === 'completed' ? 'x' : ' '}] ${status === 'in_progress' ? `**${text}**` : text}`);
  }
  if (plan.length > shown.length) lines.push(`- … and ${plan.length - shown.length} more`);
  return lines;
}

export function renderProgress(view: ProgressView): string {
  const lines = [PROGRESS_MARKER, header(view)];
  if (view.tests?.command === null && view.stage !== 'cancelled') lines.push('', '> [!WARNING]', `> ${noTestCommandNote(TERMINAL.has(view.stage))}`);
  for (const note of view.notes ?? []) lines.push('', '> [!NOTE]', `> ${note}`);
  const steps = checklist(view);
  if (steps.length) lines.push('', ...steps);
  if (view.plan?.length) lines.push(...planLines(view.plan));
  if (view.details) lines.push('', view.details);
  const facts: string[] = [];
  if (view.startedAt !== undefined) facts.push(`⏱ ${formatDuration((view.now ?? Date.now()) - view.startedAt)}`);
  if (view.tokens) facts.push(`${formatNumber(view.tokens)} tokens`);
  if (view.dollars !== undefined) facts.push(formatDollars(view.dollars));
  if (view.pullRequestUrl && view.stage !== 'done') facts.push(`PR: ${view.pullRequestUrl}`);
  if (view.taskPageUrl) facts.push(`[Task page](${view.taskPageUrl})`);
  if (facts.length) lines.push('', facts.join(' · '));
  return lines.join('\n');
}
