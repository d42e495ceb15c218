import crypto from 'node:crypto';
import type { CiFailure } from './ci-state.ts';

const ERROR_LINE = /(error|fail|failed|failure|exception|assert|expected|panic|traceback|✕|×|not ok)/i;
const TAIL_LINES = 60;

/** The part of a CI log that matters: error-looking lines, then the tail (where runners summarise). */
export function trimLog(log: string, maxChars = 6000): string {
  const lines = log.replace(/\r/g, '').split('\n').map((line) => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z\s?/, ''));
  const errors = lines.filter((line) => ERROR_LINE.test(line)).slice(0, 40);
  const tail = lines.slice(-TAIL_LINES);
  const text = [...(errors.length ? ['Error lines:', ...errors, '', 'End of the log:'] : []), ...tail].join('\n');
  return text.length > maxChars ? text.slice(-maxChars) : text;
}

/** What a CI failure looks like regardless of timings, ids and paths: equal twice means no progress. */
export function failureFingerprint(failures: CiFailure[]): string {
  const normalise = (text: string) =>
    text
      .replace(/\b[0-9a-f]{7,40}\b/g, '')
      .replace(/\d+(\.\d+)?\s*(ms|s|sec|seconds)\b/g, '')
      .replace(/\d+/g, '#');
  const parts = failures
    .map((f) => `${f.name}|${f.conclusion}|${f.annotations.map((a) => `${a.path}:${normalise(a.message)}`).join(';')}|${normalise((f.log ? trimLog(f.log, 2000) : f.summary).split('\n').filter((l) => ERROR_LINE.test(l)).join('\n'))}`)
    .sort();
  return crypto.createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

/** The failures as the agent reads them. */
export function renderFailures(failures: CiFailure[]): string {
  const parts: string[] = [];
  for (const failure of failures) {
    parts.push(`### ${failure.name}: ${failure.conclusion}`);
    if (failure.summary) parts.push(failure.summary.slice(0, 2000));
    for (const a of failure.annotations.slice(0, 20)) parts.push(`- ${a.path}:${a.line}: ${a.message.slice(0, 500)}`);
    if (failure.log) parts.push('```', trimLog(failure.log), '```');
    parts.push('');
  }
  return parts.join('\n');
}
