import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addBugIssue } from '../fixtures/buggy-calculator.ts';
import { waitFor } from '../support/app-process.ts';
import { createHarness, WEBHOOK_SECRET, type Harness } from '../support/harness.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { fixingCalculatorScript } from '../support/scripted-agents.ts';
import { issueLabeledPayload } from '../support/webhooks.ts';
import type { SimRepo } from '../support/github-sim.ts';

describe('Redis outage', () => {
  let redis: PrivateRedis;
  let h: Harness;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await createHarness('outage', { redisUrl: redis.url });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await redis?.close();
  });

  const labelled = (repo: SimRepo, issueNumber: number) =>
    issueLabeledPayload({ repo, installationId: h.github.installationId, issueNumber, ...addBugIssue, label: 'ai-fix', sender: 'maintainer' });

  it('a task survives a Redis restart; webhooks refused meanwhile get 503 and are redelivered once Redis is back', async () => {
    const app = await h.start('start');
    h.github.configureWebhook({ url: app.webhookUrl, secret: WEBHOOK_SECRET });
    const first = await h.newRepo('outage-running');
    const second = await h.newRepo('outage-refused');
    const firstIssue = h.newIssue(first);
    const secondIssue = h.newIssue(second);
    // Slow at one step, so the outage happens mid-task.
    h.model.script(fixingCalculatorScript({ slowStep: 2, delayMs: 6000 }));

    expect((await h.github.deliver('issues', labelled(first, firstIssue))).status).toBe(200);
    await waitFor('the first task mid-way', () => h.model.requests.length >= 3, 60_000);

    await redis.kill();
    await waitFor('the app to notice', async () => (await fetch(`${app.url}/readyz`)).status === 503, 10_000);
    const refusedAt = Date.now();
    const refused = await h.github.deliver('issues', labelled(second, secondIssue));
    const refusalMs = Date.now() - refusedAt;
    process.stdout.write(`redis outage: webhook refused with ${refused.status} in ${refusalMs} ms\n`);
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('Redis is unreachable');

    await redis.start();
    const firstPr = await waitFor('the first PR', () => h.github.pulls('acme', first.name)[0], 90_000);
    const secondPr = await waitFor('the redelivered task\'s PR', () => h.github.pulls('acme', second.name)[0], 90_000);
    await h.github.deliveriesSettled();

    expect(firstPr.head).toBe(`ai-fix/issue-${firstIssue}`);
    expect(secondPr.head).toBe(`ai-fix/issue-${secondIssue}`);
    const attempts = h.github.deliveries().filter((d) => d.guid === refused.guid);
    expect(attempts.map((d) => [d.redelivery, d.status_code])).toEqual([
      [false, 503],
      [true, 200],
    ]);
    expect(h.github.pulls('acme', first.name)).toHaveLength(1);
    expect(h.github.pulls('acme', second.name)).toHaveLength(1);
    await app.stop();
  }, 180_000);
});
