import { formatDollars, formatDuration, formatNumber } from '../util/markdown.ts';

export { formatDuration, formatNumber };

export function formatCost(dollars: number | null): string {
  return dollars === null ? 'unknown' : formatDollars(dollars);
}

/** `2026-11-24 10:15:02 UTC`: one clock for every operator. */
export function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatPercent(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}
