import { formatDollars, formatDuration, formatNumber } from '../util/markdown.ts';
import type { LocalRunResult } from './run-local.ts';

/** What `ai-fix run` prints when it is done: the summary, the test verdict, tokens and cost. */
export function formatLocalResult(result: LocalRunResult): string {
  const { outcome } = result;
  const passing = outcome.status === 'finished' && result.testsPassed !== false;
  const headline = passing ? 'finished, tests pass' : `stopped: ${outcome.reason ?? outcome.status}`;
  const verdict = result.testsPassed === null ? 'not run' : result.testsPassed ? 'passed' : 'failed';
  const { usage } = outcome;
  const rows: Array<[string, string]> = [
    ['branch', result.commit ? `${result.branch} (commit ${result.commit.sha.slice(0, 12)}, ${result.commit.files} file(s) changed)` : 'none: no file was changed'],
    ['summary', outcome.summary?.trim() || '(none)'],
    ['tests', result.testCommand ? `${result.testCommand}: ${verdict}` : 'no test command configured or detected'],
    ['tokens', `${formatNumber(usage.input + usage.output)} (${formatNumber(usage.input)} input of which ${formatNumber(usage.cached)} cached, ${formatNumber(usage.output)} output)`],
    ['cost', `${outcome.dollars === null ? 'unknown (no price for this model; see AI_FIX_MODELS)' : formatDollars(outcome.dollars)} · ${result.model}`],
    ['steps', `${outcome.steps} (${outcome.compactions} compaction(s)) in ${formatDuration(result.durationMs)}`],
  ];
  const indent = (text: string) => text.split('\n').join(`\n${' '.repeat(11)}`);
  return [`ai-fix run: ${headline}`, ...rows.map(([name, value]) => `  ${name.padEnd(8)} ${indent(value)}`)].join('\n') + '\n';
}
