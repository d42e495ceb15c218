import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Octokit } from '@octokit/core';
import { isAllowListed } from '../../src/app/allow-list.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';

// The repository allow-list against the GitHub simulator's team membership endpoint.
describe('allow-list (allowed_users, allowed_teams)', () => {
  let github: GitHubSim;
  let octokit: Octokit;
  const log = createLogger({ level: 'silent' });

  beforeAll(async () => {
    github = await startGitHubSim();
    octokit = new Octokit({ auth: github.mintToken(), baseUrl: github.apiUrl });
    github.setTeamMember('acme', 'core', 'carol');
    github.setTeamMember('acme', 'core', 'invited', 'pending');
    github.setTeamMember('partner', 'release', 'dave');
  });

  afterAll(async () => {
    await github?.close();
  });

  const config = (allowed_users: string[], allowed_teams: string[]) => ({ allowed_users, allowed_teams });

  it('lets everyone with write access in when no list is set', async () => {
    expect(await isAllowListed(octokit, config([], []), 'acme', 'anyone', log)).toBe(true);
  });

  it('matches listed users case-insensitively and refuses everyone else', async () => {
    expect(await isAllowListed(octokit, config(['Alice'], []), 'acme', 'alice', log)).toBe(true);
    expect(await isAllowListed(octokit, config(['alice'], []), 'acme', 'mallory', log)).toBe(false);
  });

  it('asks the API for active team membership, in the repository owner or a named organisation', async () => {
    expect(await isAllowListed(octokit, config([], ['core']), 'acme', 'carol', log)).toBe(true);
    expect(await isAllowListed(octokit, config([], ['core']), 'acme', 'invited', log)).toBe(false);
    expect(await isAllowListed(octokit, config([], ['core']), 'acme', 'dave', log)).toBe(false);
    expect(await isAllowListed(octokit, config([], ['partner/release']), 'acme', 'dave', log)).toBe(true);
    expect(await isAllowListed(octokit, config(['alice'], ['core']), 'acme', 'carol', log)).toBe(true);
  });

  it('refuses when membership cannot be read (the app lacks the Members permission)', async () => {
    github.failNext('GET', /\/teams\/core\/memberships\//, 403, 1, { message: 'Resource not accessible by integration' });
    expect(await isAllowListed(octokit, config([], ['core']), 'acme', 'carol', log)).toBe(false);
  });
});
