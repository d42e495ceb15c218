import { formatDollars, formatDuration, formatNumber } from '../util/markdown.ts';
import type { UsageReport, UsageTotals } from '../observability/usage-report.ts';
import { textTable } from './text-table.ts';

function percent(t: UsageTotals): string {
  return t.tasks ? `${Math.round((t.succeeded / t.tasks) * 100)}%` : '—';
}

function cells(name: string, t: UsageTotals): string[] {
  return [name, String(t.tasks), percent(t), formatNumber(t.tokens), formatDollars(t.dollars)];
}

const HEADER = ['TASKS', 'SUCCESS', 'TOKENS', 'SPEND'];
const NUMERIC = new Set([1, 2, 3, 4]);

/** `ai-fix usage`: the same figures as the dashboard's usage page, for a terminal. */
export function formatUsageReport(report: UsageReport, period: string): string {
  const since = new Date(report.since).toISOString().slice(0, 16).replace('T', ' ');
  const { totals } = report;
  const lines = [
    `Usage over the last ${period} (since ${since} UTC)`,
    `  tasks ${totals.tasks} · success rate ${report.successRate === null ? '—' : `${Math.round(report.successRate * 100)}%`} · median time to PR ${
      report.medianTimeToPrMs === null ? '—' : formatDuration(report.medianTimeToPrMs)
    } · tokens ${formatNumber(totals.tokens)} (${formatNumber(totals.usage.input)} input, ${formatNumber(totals.usage.cached)} cached, ${formatNumber(totals.usage.output)} output) · spend ${formatDollars(totals.dollars)}`,
    '',
    'Per repository',
    report.byRepo.length ? textTable(['REPOSITORY', ...HEADER], report.byRepo.map((r) => cells(r.repo, r)), NUMERIC) : '  (no finished tasks)',
    '',
    'Per day (UTC)',
    textTable(['DAY', ...HEADER], report.byDay.map((d) => cells(d.day, d)), NUMERIC),
  ];
  return `${lines.join('\n')}\n`;
}
