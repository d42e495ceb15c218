import { addUsage, emptyUsage, totalTokens, type TokenUsage } from '../agent/conversation.ts';
import type { UsageRecord } from './task-record.ts';

export interface UsageTotals {
  tasks: number;
  succeeded: number;
  usage: TokenUsage;
  tokens: number;
  dollars: number;
}

export interface UsageReport {
  since: number;
  until: number;
  totals: UsageTotals;
  /** Succeeded / tasks; null with no tasks. */
  successRate: number | null;
  /** From the label (queued) to the passing pull request, over succeeded tasks. */
  medianTimeToPrMs: number | null;
  /** Busiest spender first. */
  byRepo: Array<UsageTotals & { repo: string }>;
  /** Every UTC day of the period, oldest first, empty days included (the chart's x axis). */
  byDay: Array<UsageTotals & { day: string }>;
}

const DAY_MS = 24 * 3600 * 1000;

function emptyTotals(): UsageTotals {
  return { tasks: 0, succeeded: 0, usage: emptyUsage(), tokens: 0, dollars: 0 };
}

function add(totals: UsageTotals, record: UsageRecord): void {
  totals.tasks++;
  if (record.outcome === 'succeeded') totals.succeeded++;
  totals.usage = addUsage(totals.usage, record.usage);
  totals.tokens = totalTokens(totals.usage);
  totals.dollars += record.dollars ?? 0;
}

export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function usageReport(records: UsageRecord[], since: number, until: number): UsageReport {
  const inPeriod = records.filter((r) => r.finishedAt >= since && r.finishedAt <= until);
  const totals = emptyTotals();
  const repos = new Map<string, UsageTotals>();
  const days = new Map<string, UsageTotals>();
  for (let day = Math.floor(since / DAY_MS) * DAY_MS; day <= until; day += DAY_MS) days.set(utcDay(day), emptyTotals());
  for (const record of inPeriod) {
    add(totals, record);
    if (!repos.has(record.repo)) repos.set(record.repo, emptyTotals());
    add(repos.get(record.repo)!, record);
    const day = utcDay(record.finishedAt);
    if (!days.has(day)) days.set(day, emptyTotals());
    add(days.get(day)!, record);
  }
  return {
    since,
    until,
    totals,
    successRate: totals.tasks ? totals.succeeded / totals.tasks : null,
    medianTimeToPrMs: median(inPeriod.filter((r) => r.outcome === 'succeeded' && r.pullRequestUrl).map((r) => r.finishedAt - r.queuedAt)),
    byRepo: [...repos.entries()].map(([repo, t]) => ({ repo, ...t })).sort((a, b) => b.dollars - a.dollars || b.tasks - a.tasks),
    byDay: [...days.entries()].map(([day, t]) => ({ day, ...t })).sort((a, b) => a.day.localeCompare(b.day)),
  };
}

/** `7d`, `24h`, `90m` or `2w`: a period back from now, in ms; undefined when malformed. */
export function parsePeriod(text: string): number | undefined {
  const match = /^(\d+)\s*([mhdw])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }[match[2] as 'm' | 'h' | 'd' | 'w'];
  const amount = Number(match[1]);
  return amount > 0 ? amount * unit : undefined;
}
