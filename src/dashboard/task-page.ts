import { totalTokens } from '../agent/conversation.ts';
import { DASHBOARD_PATH } from '../observability/dashboard-links.ts';
import { TRANSCRIPT_MAX_ENTRIES, type TimelineEntry, type TranscriptEntry } from '../observability/task-record.ts';
import type { TaskRecord } from '../observability/task-records.ts';
import { formatCost, formatDuration, formatNumber, formatTime } from './format.ts';
import { html, type Html } from './html.ts';
import { layout } from './layout.ts';

const STAGE_LABELS: Record<string, string> = {
  queued: 'Queued',
  preparing: 'Workspace',
  working: 'Agent working',
  testing: 'Tests',
  pushing: 'Pushed',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function timeline(entries: TimelineEntry[], endedAt: number): Html {
  const first = entries[0]?.at;
  return html`<table><thead><tr><th>stage</th><th>attempt</th><th>at</th><th class="num">since queued</th><th class="num">took</th></tr></thead><tbody>${entries.map(
    (entry, index) => {
      const next = entries[index + 1]?.at ?? endedAt;
      const terminal = ['done', 'failed', 'cancelled'].includes(entry.stage);
      return html`<tr><td>${STAGE_LABELS[entry.stage] ?? entry.stage}</td><td>${entry.attempt}</td><td>${formatTime(entry.at)}</td>
<td class="num">${first === undefined ? '' : formatDuration(entry.at - first)}</td><td class="num">${terminal ? '' : formatDuration(next - entry.at)}</td></tr>`;
    },
  )}</tbody></table>`;
}

function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 1).replace(/\n\s*/g, ' ');
  } catch {
    return text;
  }
}

function transcriptEntry(entry: TranscriptEntry): Html {
  if (entry.kind === 'model') {
    const tokens = `${formatNumber(entry.usage.input)} in (${formatNumber(entry.usage.cached)} cached) · ${formatNumber(entry.usage.output)} out`;
    return html`<div class="entry model"><div class="head"><strong>${entry.compaction ? 'Compaction' : `Model turn ${entry.turn}`}</strong>
<span>${entry.model}</span><span>${tokens}</span><span>${formatCost(entry.dollars)}</span><span>${formatTime(entry.at)}</span></div>
<div class="body">${entry.text ? html`<pre>${entry.text}</pre>` : ''}${entry.toolCalls.map(
      (call) => html`<div>→ <code><strong>${call.name}</strong> ${prettyArguments(call.arguments)}</code></div>`,
    )}${!entry.text && entry.toolCalls.length === 0 ? html`<span class="muted">(no text)</span>` : ''}</div></div>`;
  }
  const verdict =
    entry.testsPassed === undefined ? '' : entry.testsPassed ? html`<span class="pass">passed</span>` : html`<span class="fail">failed</span>`;
  const long = entry.output.length > 600;
  return html`<div class="entry tool"><div class="head"><strong>Tool ${entry.name}</strong>${verdict}<span>${formatTime(entry.at)}</span></div>
<div class="body">${long ? html`<details><summary>output (${formatNumber(entry.output.length)} characters)</summary><pre>${entry.output}</pre></details>` : html`<pre>${entry.output}</pre>`}</div></div>`;
}

export function renderTaskPage(record: TaskRecord, now: number): string {
  const { summary: s, transcript } = record;
  const running = !s.outcome;
  const ended = s.finishedAt ?? now;
  const status = s.outcome ?? 'running';
  const facts: Array<[string, string]> = [
    ['Stage', `${STAGE_LABELS[s.stage] ?? s.stage}${s.stage === 'working' && s.step !== undefined ? ` — step ${s.step}${s.maxSteps ? ` of ${s.maxSteps}` : ''}` : ''}`],
    ['Elapsed', formatDuration(ended - s.queuedAt)],
    ['Cost', formatCost(s.dollars)],
    ['Tokens', formatNumber(totalTokens(s.usage))],
    ['Input (cached)', `${formatNumber(s.usage.input)} (${formatNumber(s.usage.cached)})`],
    ['Output (reasoning)', `${formatNumber(s.usage.output)} (${formatNumber(s.usage.reasoning)})`],
    ['Model', s.model ?? '—'],
    ['Attempt', String(s.attempt)],
    ['Triggered by', s.triggeredBy],
  ];
  const body = html`<h1>${s.repo}#${s.issueNumber} <span class="badge ${status}">${status}</span></h1>
<p class="links">${s.issueUrl ? html`<a href="${s.issueUrl}">Issue #${s.issueNumber}</a>` : ''}${s.pullRequestUrl ? html`<a href="${s.pullRequestUrl}">Pull request</a>` : html`<span class="muted">no pull request yet</span>`}
<a href="${DASHBOARD_PATH}/queues/queue/tasks/${encodeURIComponent(s.jobId)}">Job in the queue</a></p>
${s.reason ? html`<p>${s.outcome === 'succeeded' ? '' : 'Why: '}${s.reason}</p>` : ''}
<div class="cards">${facts.map(([label, value]) => html`<div class="card"><div class="label">${label}</div><div class="value">${value}</div></div>`)}</div>
<p class="note">Task <code>${s.jobId}</code> · ${s.kind} · delivery <code>${s.deliveryId}</code>${running ? ' · refreshes every 5 s while running' : ''}</p>
<h2>Timeline</h2>${timeline(record.timeline, ended)}
<h2 id="transcript">Transcript</h2>
${s.transcriptEntries > transcript.length ? html`<p class="note">Showing the last ${transcript.length} of ${s.transcriptEntries} entries (at most ${TRANSCRIPT_MAX_ENTRIES} are kept).</p>` : ''}
${transcript.length ? transcript.map(transcriptEntry) : html`<p class="muted">Nothing yet.</p>`}`;
  return layout({ title: `${s.repo}#${s.issueNumber}`, section: 'tasks', body, refreshSeconds: running ? 5 : undefined });
}
