import { formatDollars, formatDuration, formatNumber } from './markdown.ts';

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
}

export const PROGRESS_MARKER = '<!-- ai-fix:progress -->';

const ORDER: ProgressStage[] = ['queued', 'preparing', 'working', 'testing', 'pushing', 'done'];

const LABELS: Record<string, string> = {
  queued: 'Queued',
  preparing: 'Workspace prepared',
  working: 'Agent working',
  testing: 'Tests run',
  pushing: 'Branch pushed',
  done: 'Pull request ready',
};

export function renderProgress(view: ProgressView): string {
  const lines = [PROGRESS_MARKER];
  if (view.stage === 'done') {
    lines.push(`✅ **ai-fix** finished: ${view.pullRequestUrl ?? 'pull request ready'}`);
  } else if (view.stage === 'failed') {
    lines.push(`❌ **ai-fix** could not finish this task: ${view.reason ?? 'unknown error'}`);
  } else if (view.stage === 'cancelled') {
    lines.push(`⏹️ **ai-fix** task cancelled${view.reason ? `: ${view.reason}` : ''}`);
  } else {
    lines.push('👀 **ai-fix** is working on this issue.');
  }
  lines.push('');
  const reached = ORDER.indexOf(view.stage);
  for (const [index, stage] of ORDER.entries()) {
    const finished = view.stage === 'done' || (reached >= 0 && index < reached);
    let label = LABELS[stage] ?? stage;
    if (stage === 'working' && view.step !== undefined) {
      label += ` — step ${view.step}${view.maxSteps ? ` of ${view.maxSteps}` : ''}`;
    }
    const current = index === reached && view.stage !== 'done';
    lines.push(`- [${finished ? 'x' : ' '}] ${current ? `**${label}**` : label}`);
  }
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
