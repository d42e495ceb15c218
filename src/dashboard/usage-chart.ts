import { escapeHtml } from './html.ts';
import { formatCost } from './format.ts';

export interface ChartDay {
  day: string;
  dollars: number;
  tasks: number;
}

const WIDTH = 760;
const HEIGHT = 240;
const LEFT = 56;
const BOTTOM = 28;
const TOP = 12;

/** Spend per day as bars (server-rendered SVG: no script, nothing fetched). */
export function renderSpendChart(days: ChartDay[]): string {
  const max = Math.max(...days.map((d) => d.dollars), 0);
  // A round top for the axis, so the ticks read as simple numbers.
  const top = max > 0 ? niceCeiling(max) : 1;
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = plotWidth / Math.max(days.length, 1);
  const barWidth = Math.max(2, Math.min(40, slot * 0.7));
  const labelEvery = Math.ceil(days.length / 12);
  const parts: string[] = [];
  for (const fraction of [0, 0.5, 1]) {
    const y = TOP + plotHeight * (1 - fraction);
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - 8}" y1="${y}" y2="${y}" stroke="#d1d9e0"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${escapeHtml(formatCost(top * fraction))}</text>`);
  }
  days.forEach((day, index) => {
    const height = (day.dollars / top) * plotHeight;
    const x = LEFT + slot * index + (slot - barWidth) / 2;
    const title = `${day.day}: ${formatCost(day.dollars)}, ${day.tasks} task${day.tasks === 1 ? '' : 's'}`;
    parts.push(
      `<rect class="bar" x="${x.toFixed(1)}" y="${(TOP + plotHeight - height).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="#0969da" data-day="${day.day}"><title>${escapeHtml(title)}</title></rect>`,
    );
    if (index % labelEvery === 0) {
      parts.push(`<text x="${(LEFT + slot * index + slot / 2).toFixed(1)}" y="${HEIGHT - 8}" text-anchor="middle">${day.day.slice(5)}</text>`);
    }
  });
  return `<svg id="spend-chart" role="img" aria-label="Spend per day" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" style="max-width:${WIDTH}px" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}
