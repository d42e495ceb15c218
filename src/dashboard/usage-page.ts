import { DASHBOARD_PATH } from '../observability/dashboard-links.ts';
import type { UsageReport } from '../observability/usage-report.ts';
import { formatCost, formatDuration, formatNumber, formatPercent, formatTime } from './format.ts';
import { html, trusted } from './html.ts';
import { layout } from './layout.ts';
import { renderSpendChart } from './usage-chart.ts';

export const USAGE_PERIODS = ['1d', '7d', '30d', '90d'];

export function renderUsagePage(report: UsageReport, period: string): string {
  const { totals } = report;
  const cards: Array<[string, string]> = [
    ['Tasks', formatNumber(totals.tasks)],
    ['Success rate', formatPercent(report.successRate)],
    ['Median time to PR', report.medianTimeToPrMs === null ? '—' : formatDuration(report.medianTimeToPrMs)],
    ['Tokens', formatNumber(totals.tokens)],
    ['Spend', formatCost(totals.dollars)],
  ];
  const row = (name: string, t: UsageReport['totals']) =>
    html`<tr><td>${name}</td><td class="num">${t.tasks}</td><td class="num">${formatPercent(t.tasks ? t.succeeded / t.tasks : null)}</td>
<td class="num">${formatNumber(t.tokens)}</td><td class="num">${formatCost(t.dollars)}</td></tr>`;
  const head = (first: string) =>
    html`<thead><tr><th>${first}</th><th class="num">tasks</th><th class="num">success</th><th class="num">tokens</th><th class="num">spend</th></tr></thead>`;
  const body = html`<h1>Usage</h1>
<nav class="periods">Last ${USAGE_PERIODS.map((p) => html`<a href="${DASHBOARD_PATH}/usage?since=${p}" class="${p === period ? 'here' : ''}">${p}</a>`)}</nav>
<p class="note">${formatTime(report.since)} to ${formatTime(report.until)}. Success: a pull request with passing tests. Time to PR: from the label to that pull request.</p>
<div class="cards">${cards.map(([label, value]) => html`<div class="card"><div class="label">${label}</div><div class="value">${value}</div></div>`)}</div>
<h2>Spend per day</h2>${trusted(renderSpendChart(report.byDay))}
<h2>Per repository</h2><table>${head('repository')}<tbody>${report.byRepo.map((r) => row(r.repo, r))}</tbody></table>
${report.byRepo.length === 0 ? html`<p class="muted">No finished tasks in this period.</p>` : ''}
<h2>Per day</h2><table>${head('day (UTC)')}<tbody>${[...report.byDay].reverse().map((d) => row(d.day, d))}</tbody></table>`;
  return layout({ title: 'Usage', section: 'usage', body });
}
