import { describe, expect, it } from '@jest/globals';
import { defaultRepoConfig, parseRepoConfig } from '../../src/config/repo-config.ts';
import { taskLimits } from '../../src/config/task-limits.ts';

describe('repository config (.github/ai-fix.yml)', () => {
  it('defaults when the file is absent', () => {
    const result = parseRepoConfig(null);
    expect(result).toEqual({ ok: true, config: defaultRepoConfig() });
    expect(defaultRepoConfig().label).toBe('ai-fix');
    expect(defaultRepoConfig().limits.steps).toBeGreaterThan(0);
  });

  it('accepts the documented keys', () => {
    const result = parseRepoConfig({ label: 'bot', model: 'gpt-5-codex', setup: 'npm ci', test: 'npm test', draft: true, limits: { steps: 10, minutes: 5 } });
    expect(result.ok && result.config.limits).toMatchObject({ steps: 10, minutes: 5, tokens: 3_000_000 });
  });

  it('takes an optional per-repository concurrency limit', () => {
    expect(defaultRepoConfig().limits.concurrent_tasks).toBeUndefined();
    const result = parseRepoConfig({ limits: { concurrent_tasks: 1 } });
    expect(result.ok && result.config.limits.concurrent_tasks).toBe(1);
    expect(parseRepoConfig({ limits: { concurrent_tasks: 0 } })).toEqual({ ok: false, error: expect.stringMatching(/^`limits\.concurrent_tasks`: /) });
  });

  it('names the bad field', () => {
    expect(parseRepoConfig({ limits: { steps: 'many' } })).toEqual({ ok: false, error: expect.stringMatching(/^`limits\.steps`: /) });
    expect(parseRepoConfig({ labl: 'x' })).toEqual({ ok: false, error: expect.stringContaining('unknown key `labl`') });
    expect(parseRepoConfig({ draft: 'yes' })).toEqual({ ok: false, error: expect.stringMatching(/^`draft`: /) });
    expect(parseRepoConfig('just a string')).toEqual({ ok: false, error: expect.stringMatching(/^`\(top level\)`: /) });
  });

  it('takes test commands per path, and names the bad field', () => {
    const tests = [{ path: 'packages/web/**', command: 'pnpm --filter web test' }];
    const result = parseRepoConfig({ test: 'npm test', tests });
    expect(result.ok && result.config).toMatchObject({ test: 'npm test', tests });
    expect(defaultRepoConfig().tests).toBeUndefined();
    expect(parseRepoConfig({ tests: 'npm test' })).toEqual({ ok: false, error: expect.stringMatching(/^`tests`: /) });
    expect(parseRepoConfig({ tests: [{ path: 'a/**' }] })).toEqual({ ok: false, error: expect.stringMatching(/^`tests\.0\.command`: /) });
    expect(parseRepoConfig({ tests: [...tests, { path: '', command: 'x' }] })).toEqual({ ok: false, error: expect.stringMatching(/^`tests\.1\.path`: /) });
    expect(parseRepoConfig({ tests: [{ path: '../x/**', command: 'x' }] })).toEqual({ ok: false, error: expect.stringMatching(/^`tests\.0\.path`: must be a glob relative to the repository root/) });
    expect(parseRepoConfig({ tests: [{ path: 'a/**', command: 'x', cwd: 'a' }] })).toEqual({ ok: false, error: expect.stringMatching(/^`tests\.0`: unknown key `cwd`/) });
  });

  it('reads the allow-list and protected paths, and refuses bot logins in the allow-list', () => {
    const result = parseRepoConfig({ allowed_users: ['alice'], allowed_teams: ['core', 'other-org/release'], protected_paths: ['deploy/**'] });
    expect(result.ok && result.config).toMatchObject({ allowed_users: ['alice'], allowed_teams: ['core', 'other-org/release'], protected_paths: ['deploy/**'] });
    expect(defaultRepoConfig()).toMatchObject({ allowed_users: [], allowed_teams: [], protected_paths: [] });
    expect(parseRepoConfig({ allowed_users: ['evil[bot]'] })).toEqual({ ok: false, error: expect.stringMatching(/^`allowed_users\.0`: must be a GitHub login/) });
    expect(parseRepoConfig({ allowed_teams: ['a/b/c'] })).toEqual({ ok: false, error: expect.stringMatching(/^`allowed_teams\.0`: /) });
  });
});

describe('task limits', () => {
  it('takes the repository limits, lowered to the operator caps', () => {
    const parsed = parseRepoConfig({ limits: { steps: 200, dollars: 20, repeated_failures: 4 } });
    if (!parsed.ok) throw new Error(parsed.error);
    expect(taskLimits(parsed.config.limits, {})).toMatchObject({ steps: 200, dollars: 20, repeatedFailures: 4, repeatedCalls: 5, stepsWithoutEdit: 150 });
    expect(taskLimits(parsed.config.limits, { steps: 100, dollars: 50, minutes: 10 })).toMatchObject({ steps: 100, dollars: 20, minutes: 10 });
    expect(defaultRepoConfig().limits.dollars).toBe(5);
  });
});
