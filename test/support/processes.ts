import { execFileSync } from 'node:child_process';

/** Processes whose command line contains `needle` (tests use unusual numbers to be unique). */
export function processesMatching(needle: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}
