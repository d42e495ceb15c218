import { totalTokens } from '../agent/conversation.ts';
import { DASHBOARD_PATH } from '../observability/dashboard-links.ts';
import type { TaskSummary } from '../observability/task-record.ts';
import { formatCost, formatDuration, formatNumber, formatTime } from './format.ts';
import { html } from './html.ts';
import { layout } from './layout.ts';

/** The dashboard's front page: queue counts and the most recent tasks. */
export function renderTasksPage(tasks: TaskSummary[], counts: Record<string, number> | undefined, now: number): string {
  const body = html`<h1>Tasks</h1>
${counts ? html`<div class="cards">${['waiting', 'active', 'delayed', 'failed'].map((state) => html`<div class="card"><div class="label">${state}</div><div class="value">${counts[state] ?? 0}</div></div>`)}</div>` : html`<p class="fail">The queue cannot be read (is Redis reachable?).</p>`}
<p class="note">Jobs, retries and failures in detail: <a href="${DASHBOARD_PATH}/queues">the queues</a>.</p>
<h2>Recent tasks</h2>
<table><thead><tr><th>task</th><th>kind</th><th>status</th><th>started</th><th class="num">took</th><th class="num">tokens</th><th class="num">cost</th></tr></thead><tbody>
${tasks.map(
  (t) => html`<tr><td><a href="${DASHBOARD_PATH}/tasks/${encodeURIComponent(t.jobId)}">${t.repo}#${t.issueNumber}</a></td><td>${t.kind}</td>
<td><span class="badge ${t.outcome ?? 'running'}">${t.outcome ?? t.stage}</span>${!t.outcome && t.step !== undefined ? ` step ${t.step}` : ''}</td>
<td>${formatTime(t.startedAt)}</td><td class="num">${formatDuration((t.finishedAt ?? now) - t.queuedAt)}</td>
<td class="num">${formatNumber(totalTokens(t.usage))}</td><td class="num">${formatCost(t.dollars)}</td></tr>`,
)}</tbody></table>
${tasks.length === 0 ? html`<p class="muted">No tasks recorded yet (records are kept 14 days).</p>` : ''}`;
  return layout({ title: 'Tasks', section: 'tasks', body, refreshSeconds: 15 });
}
