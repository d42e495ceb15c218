import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createInstallationOctokit } from '../../src/github/installation-client.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';

// plugin-throttling spaces writes about a second apart in limiters shared by the whole process;
// they are keyed by installation, so one installation's backlog never holds up another's writes.
describe('the write pace of installation clients', () => {
  let github: GitHubSim;

  beforeAll(async () => {
    github = await startGitHubSim();
    await github.createRepo({ owner: 'acme', name: 'paced', files: { 'a.txt': 'a\n' } });
    github.createIssue('acme', 'paced', { title: 't', body: 'b' });
  });

  afterAll(async () => {
    await github?.close();
  });

  it('is per installation: a write for another installation does not queue behind a backlog', async () => {
    const app = { appId: github.appId, privateKey: github.privateKey, baseUrl: github.apiUrl };
    const log = createLogger({ level: 'silent' });
    const busy = createInstallationOctokit(app, github.installationId, log, []);
    const other = createInstallationOctokit(app, github.addInstallation(), log, []);
    // Tokens first, so that only the writes are compared.
    await Promise.all([busy.auth({ type: 'installation' }), other.auth({ type: 'installation' })]);
    const finished: string[] = [];
    const react = (octokit: typeof busy, name: string) =>
      octokit
        .request('POST /repos/{owner}/{repo}/issues/{issue_number}/reactions', { owner: 'acme', repo: 'paced', issue_number: 1, content: 'eyes' })
        .then(() => finished.push(name));
    const backlog = [1, 2, 3].map((n) => react(busy, `busy ${n}`));
    // Once the first is through, the other two wait in the limiter.
    await backlog[0];
    await react(other, 'other');
    await Promise.all(backlog);
    expect(finished.indexOf('other')).toBeLessThan(finished.indexOf('busy 3'));
  }, 30_000);
});
