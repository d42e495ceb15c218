import { describe, expect, it } from '@jest/globals';
import type { UsageRecord } from '../../src/observability/task-record.ts';
import { parsePeriod, usageReport } from '../../src/observability/usage-report.ts';

const DAY = 24 * 3600 * 1000;
const start = Date.UTC(2026, 0, 10);

function record(overrides: Partial<UsageRecord>): UsageRecord {
  return {
    jobId: `j${Math.random()}`,
    repo: 'acme/app',
    kind: 'solve',
    outcome: 'succeeded',
    usage: { input: 1000, cached: 500, output: 100, reasoning: 20 },
    dollars: 0.5,
    queuedAt: start,
    finishedAt: start + 60_000,
    pullRequestUrl: 'http://x/pull/1',
    ...overrides,
  };
}

describe('usage report', () => {
  it('counts tasks, success rate, median time to PR and spend per repository and per day', () => {
    const records = [
      record({ finishedAt: start + 60_000 }),
      record({ queuedAt: start + DAY, finishedAt: start + DAY + 180_000, repo: 'acme/web', dollars: 2 }),
      record({ queuedAt: start + DAY, finishedAt: start + DAY + 600_000, outcome: 'failed', dollars: 1 }),
      record({ finishedAt: start + 120_000, dollars: null, outcome: 'cancelled', pullRequestUrl: undefined }),
      record({ finishedAt: start - DAY, dollars: 100 }),
    ];
    const report = usageReport(records, start, start + 2 * DAY);

    expect(report.totals.tasks).toBe(4);
    expect(report.totals.succeeded).toBe(2);
    expect(report.successRate).toBe(0.5);
    expect(report.medianTimeToPrMs).toBe(120_000);
    expect(report.totals.dollars).toBe(3.5);
    expect(report.totals.tokens).toBe(4 * 1100);
    expect(report.byRepo.map((r) => [r.repo, r.tasks, r.dollars])).toEqual([
      ['acme/web', 1, 2],
      ['acme/app', 3, 1.5],
    ]);
    expect(report.byDay.map((d) => [d.day, d.tasks, d.dollars])).toEqual([
      ['2026-01-10', 2, 0.5],
      ['2026-01-11', 2, 3],
      ['2026-01-12', 0, 0],
    ]);
  });

  it('has no rate and no median without tasks', () => {
    const report = usageReport([], start, start + DAY);
    expect(report.successRate).toBeNull();
    expect(report.medianTimeToPrMs).toBeNull();
    expect(report.byDay).toHaveLength(2);
  });

  it('reads periods like 7d, 24h, 2w and 90m', () => {
    expect(parsePeriod('7d')).toBe(7 * DAY);
    expect(parsePeriod('24h')).toBe(DAY);
    expect(parsePeriod('2w')).toBe(14 * DAY);
    expect(parsePeriod('90m')).toBe(90 * 60_000);
    for (const bad of ['', '7', 'd', '0d', '7y', '-1d']) expect(parsePeriod(bad)).toBeUndefined();
  });
});
