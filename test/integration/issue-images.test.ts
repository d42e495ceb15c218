import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAgentTask } from '../../src/agent/agent-task.ts';
import { collectIssueImages, issueTexts } from '../../src/agent/issue-images.ts';
import { modelInfo } from '../../src/agent/model-catalog.ts';
import { createModelClient, type ModelApi } from '../../src/agent/model-client.ts';
import type { IssueContext } from '../../src/agent/prompts.ts';
import { defaultRepoConfig } from '../../src/config/repo-config.ts';
import { taskLimits } from '../../src/config/task-limits.ts';
import { createLogger } from '../../src/util/logger.ts';
import { githubImageSource } from '../../src/worker/github-image-source.ts';
import { buggyCalculator } from '../fixtures/buggy-calculator.ts';
import { createLocalRepo, type LocalRepo } from '../support/local-repo.ts';
import { startModelSim } from '../support/model-sim.ts';
import { fixingCalculatorTurns } from '../support/scripted-agents.ts';

const TOKEN = 'ghs_imagetesttoken0123456789abcdefghij';
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('a screenshot')]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('a mock-up')]);

interface Host {
  url: string;
  server: Server;
  hits: Array<{ path: string; authorization?: string }>;
}

async function host(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Host> {
  const hits: Host['hits'] = [];
  const server = createServer((req, res) => {
    hits.push({ path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits };
}

let github: Host;
let storage: Host;
let elsewhere: Host;
let repo: LocalRepo;
const log = createLogger({ level: 'silent' });

beforeAll(async () => {
  storage = await host((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG));
  elsewhere = await host((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
  github = await host((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(404).end();
    if (req.url === '/acme/app/assets/screen.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    if (req.url === '/user-attachments/assets/mock') return void res.writeHead(302, { location: `${storage.url}/blob?sig=1` }).end();
    if (req.url === '/acme/app/assets/huge.png') return void res.writeHead(200).end(Buffer.concat([PNG, Buffer.alloc(3 * 1024 * 1024)]));
    if (req.url === '/acme/app/assets/page.png') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>');
    res.writeHead(404).end();
  });
  repo = await createLocalRepo(buggyCalculator);
});

afterAll(async () => {
  for (const h of [github, storage, elsewhere]) {
    h?.server.closeAllConnections();
    await new Promise((resolve) => h?.server.close(resolve));
  }
  await repo?.remove();
});

function issue(): IssueContext {
  return {
    repoFullName: 'acme/app',
    issueNumber: 3,
    title: 'The total is wrong on the checkout page',
    body: [
      'See the screenshot: ![screen](' + github.url + '/acme/app/assets/screen.png "checkout")',
      '<img width="300" src="' + github.url + '/user-attachments/assets/mock" alt="mock-up">',
      '![elsewhere](' + elsewhere.url + '/tracker.png)',
      '![huge](' + github.url + '/acme/app/assets/huge.png)',
      '![page](' + github.url + '/acme/app/assets/page.png)',
      '<!-- ![hidden](' + github.url + '/acme/app/assets/hidden.png) -->',
    ].join('\n'),
    comments: [{ author: 'maintainer', body: 'Same screenshot: ![again](' + github.url + '/acme/app/assets/screen.png)' }],
  };
}

const source = () => githubImageSource({ html_url: `${github.url}/acme/app`, url: `${github.url}/api/v3/repos/acme/app` }, TOKEN);

describe('issue images', () => {
  it('downloads images from the GitHub host only, within limits, with a note for each', async () => {
    github.hits.length = 0;
    const images = await collectIssueImages(issueTexts(issue()), { acceptsImages: true, model: 'gpt-5-codex', source: source() });

    expect(images.dataUrls).toEqual([`data:image/png;base64,${PNG.toString('base64')}`, `data:image/jpeg;base64,${JPEG.toString('base64')}`]);
    expect(images.notes).toEqual([
      `Image 1 (${github.url}/acme/app/assets/screen.png): attached as image 1.`,
      `Image 2 (${github.url}/user-attachments/assets/mock): attached as image 2.`,
      `Image 3 (${elsewhere.url}/tracker.png): not passed, its host ${elsewhere.url.slice('http://'.length)} is not one ai-fix downloads from.`,
      `Image 4 (${github.url}/acme/app/assets/huge.png): not passed, larger than 2048 KB.`,
      `Image 5 (${github.url}/acme/app/assets/page.png): not passed, not a PNG, JPEG, GIF or WebP image.`,
    ]);
    // The token goes to the GitHub host and nowhere else; hidden links are never fetched.
    expect(elsewhere.hits).toEqual([]);
    expect(storage.hits).toEqual([{ path: '/blob?sig=1', authorization: undefined }]);
    expect(github.hits.map((h) => h.path)).not.toContain('/acme/app/assets/hidden.png');
  });

  it('downloads nothing for a model without image input, and says so', async () => {
    github.hits.length = 0;
    const images = await collectIssueImages(issueTexts(issue()), { acceptsImages: false, model: 'o3-mini', source: source() });
    expect(images).toEqual({ dataUrls: [], notes: ['The issue links 5 image(s); the model `o3-mini` does not take images, so they were not passed.'] });
    expect(github.hits).toEqual([]);
  });

  it.each<ModelApi>(['responses', 'chat'])('puts the images in the task message of every %s request', async (api) => {
    const sim = await startModelSim({ turns: fixingCalculatorTurns() });
    try {
      const images = await collectIssueImages(issueTexts(issue()), { acceptsImages: true, model: 'gpt-5-codex', source: source() });
      const outcome = await runAgentTask({
        client: createModelClient({ apiKey: sim.apiKey, baseURL: sim.url, api }),
        model: 'gpt-5-codex',
        modelInfo: modelInfo('gpt-5-codex'),
        limits: taskLimits(defaultRepoConfig().limits, {}),
        startedAt: Date.now(),
        root: repo.dir,
        protectedPaths: ['.github/workflows/**'],
        runShell: repo.workspace(null).runShell,
        runGit: repo.workspace(null).runGit,
        workTreeId: repo.workspace(null).workTreeId,
        testCommand: 'node test.js',
        issue: issue(),
        images,
        promptCacheKey: 'images',
        signal: new AbortController().signal,
        log,
      });
      expect(outcome.status).toBe('finished');
      for (const request of sim.requests) {
        const task = api === 'chat' ? request.body.messages[1] : request.body.input[0];
        expect(task.role).toBe('user');
        const [text, ...pictures] = task.content;
        expect(text.text).toContain('Images in the issue:\n- Image 1 (');
        expect(text.text).toContain('not passed, larger than 2048 KB.');
        expect(pictures).toEqual(
          api === 'chat'
            ? images.dataUrls.map((url) => ({ type: 'image_url', image_url: { url } }))
            : images.dataUrls.map((url) => ({ type: 'input_image', image_url: url, detail: 'auto' })),
        );
      }
    } finally {
      await sim.close();
      repo.git('checkout', '-q', '--', '.');
    }
  });
});
