import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Probot, ProbotOctokit } from 'probot';
import { createInstallationOctokit, paceByInstallation, type InstallationOctokit } from '../../src/github/installation-client.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startGitHubSim, type GitHubSim } from '../support/github-sim.ts';

// plugin-throttling spaces writes about a second apart in limiters shared by the whole process;
// they are keyed by installation, so one installation's backlog never holds up another's writes,
// in the worker and in the server alike.
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

  type Client = Pick<InstallationOctokit, 'request'>;

  // Three writes for `busy`, and once they wait in the limiter one for `other`: it must not wait its turn after them.
  async function otherIsNotHeldUp(busy: Client, other: Client): Promise<void> {
    // A read first mints the tokens, so that only the writes are compared.
    await Promise.all([busy, other].map((octokit) => octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'paced' })));
    const finished: string[] = [];
    const react = (octokit: Client, name: string) =>
      octokit
        .request('POST /repos/{owner}/{repo}/issues/{issue_number}/reactions', { owner: 'acme', repo: 'paced', issue_number: 1, content: 'eyes' })
        .then(() => finished.push(name));
    const backlog = [1, 2, 3].map((n) => react(busy, `busy ${n}`));
    // Once the first is through, the other two wait in the limiter.
    await backlog[0];
    await react(other, 'other');
    await Promise.all(backlog);
    expect(finished.indexOf('other')).toBeLessThan(finished.indexOf('busy 3'));
  }

  it("is per installation for the worker's clients", async () => {
    const app = { appId: github.appId, privateKey: github.privateKey, baseUrl: github.apiUrl };
    const log = createLogger({ level: 'silent' });
    await otherIsNotHeldUp(
      createInstallationOctokit(app, github.installationId, log, []),
      createInstallationOctokit(app, github.addInstallation(), log, []),
    );
  }, 30_000);

  it("is per installation for the clients the server's webhook handlers get", async () => {
    const probot = new Probot({
      appId: github.appId,
      privateKey: github.privateKey,
      secret: 'unused',
      baseUrl: github.apiUrl,
      logLevel: 'fatal',
      Octokit: ProbotOctokit.defaults(paceByInstallation),
    });
    const clients = new Map<number, Client>();
    probot.on('issues.labeled', (context) => {
      clients.set(context.payload.installation!.id, context.octokit);
    });
    const ids = [github.installationId, github.addInstallation()];
    for (const [i, id] of ids.entries()) {
      await probot.receive({ id: `delivery-${i}`, name: 'issues', payload: { action: 'labeled', installation: { id } } as never });
    }
    await otherIsNotHeldUp(clients.get(ids[0]!)!, clients.get(ids[1]!)!);
  }, 30_000);
});
