import type { LimitCaps } from './env.ts';
import type { Limits } from './repo-config.ts';

export interface TaskLimits {
  steps: number;
  minutes: number;
  tokens: number;
  dollars: number;
  repeatedFailures: number;
  repeatedCalls: number;
  stepsWithoutEdit: number;
}

const lower = (value: number, cap: number | undefined) => (cap === undefined ? value : Math.min(value, cap));

/** The limits one task runs under: the repository's, never above the operator's caps. */
export function taskLimits(repo: Limits, caps: LimitCaps): TaskLimits {
  return {
    steps: lower(repo.steps, caps.steps),
    minutes: lower(repo.minutes, caps.minutes),
    tokens: lower(repo.tokens, caps.tokens),
    dollars: lower(repo.dollars, caps.dollars),
    repeatedFailures: repo.repeated_failures,
    repeatedCalls: repo.repeated_calls,
    stepsWithoutEdit: repo.steps_without_edit,
  };
}
