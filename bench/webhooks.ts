// Part "webhooks": autocannon against `ai-fix serve` (started as users start it, with the
// simulators), a bare Probot app with no handlers, and a raw node:http server that only checks
// the HMAC, all with the same signed, real-shaped deliveries.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '../test/support/app-process.ts';
import { createHarness, WEBHOOK_SECRET } from '../test/support/harness.ts';
import { examplePayload, issueLabeledPayload, sign } from '../test/support/webhooks.ts';
import { addBugIssue } from '../test/fixtures/buggy-calculator.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { describeMachine } from './machine.ts';
import { round, summarize } from './stats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PATH = '/api/github/webhooks';

interface Figures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

// Nine deliveries the app starts nothing for, for every `issues.labeled` it acts on.
const IGNORED: Array<[string, string | undefined]> = [
  ['issues', 'opened'],
  ['issues', 'edited'],
  ['issues', 'assigned'],
  ['issue_comment', 'edited'],
  ['pull_request', 'opened'],
  ['pull_request', 'synchronize'],
  ['push', undefined],
  ['check_run', 'created'],
  ['workflow_run', 'requested'],
];

function request(event: string, payload: unknown) {
  const body = JSON.stringify(payload);
  return {
    method: 'POST' as const,
    path: PATH,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': event,
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': sign(WEBHOOK_SECRET, body),
    },
  };
}

async function load(url: string, seconds: number, requests: ReturnType<typeof request>[]): Promise<Figures> {
  // In a worker thread, so the GitHub simulator in this process is not starved by the load generator.
  const result = await autocannon({ url, connections: 50, duration: seconds, requests, workers: 1 });
  return {
    requestsPerSecond: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Each server's rounds in one: the median of each figure, the totals of requests and failures. */
function median(rounds: Figures[]): Figures {
  const mid = (pick: (f: Figures) => number) => summarize(rounds.map(pick)).p50;
  const sum = (pick: (f: Figures) => number) => rounds.reduce((total, f) => total + pick(f), 0);
  return {
    requestsPerSecond: mid((f) => f.requestsPerSecond),
    p50Ms: mid((f) => f.p50Ms),
    p99Ms: mid((f) => f.p99Ms),
    requests: sum((f) => f.requests),
    non2xx: sum((f) => f.non2xx),
    errors: sum((f) => f.errors),
  };
}

async function startServer(script: string, env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'bench/servers', script)], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  // Probot logs each delivery on stdout; drain it so the pipe never blocks the server.
  child.stdout?.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGKILL')))),
  };
}

export async function runWebhooksBench(options: Map<string, string>): Promise<boolean> {
  const seconds = Number(options.get('seconds') ?? 10);
  const rounds = Number(options.get('rounds') ?? 3);
  const command = `npm run bench -- webhooks${options.size ? ` ${[...options].map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''}`;
  const harness = await createHarness('bench-webhooks');
  try {
    const repo = await harness.newRepo('calculator');
    const issueNumber = harness.newIssue(repo);
    const installation = { id: harness.github.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
    const requests = [
      ...IGNORED.map(([event, action]) => request(event, { ...examplePayload(event, action), installation })),
      request('issues', issueLabeledPayload({ repo, installationId: harness.github.installationId, issueNumber, ...addBugIssue, label: 'ai-fix', sender: 'maintainer' })),
    ];
    const env = { APP_ID: String(harness.github.appId), PRIVATE_KEY: harness.github.privateKey, WEBHOOK_SECRET };
    // All servers run side by side and each round loads each in turn, so a burst of other work on
    // this shared machine falls on one round of every server rather than on one server.
    const servers = {
      floor: await startServer('hmac-floor.ts', env),
      bareProbot: await startServer('bare-probot.ts', env),
      aiFix: await harness.start('serve'),
    };
    const loads = {
      floor: () => load(servers.floor.url, seconds, requests),
      bareProbot: () => load(servers.bareProbot.url, seconds, requests),
      aiFix: () => load(servers.aiFix.url, seconds, requests),
      // The same server on the ignored events alone separates Probot's path from the labeled one.
      aiFixIgnoredOnly: () => load(servers.aiFix.url, seconds, requests.slice(0, IGNORED.length)),
    };
    const byRound: Record<keyof typeof loads, Figures[]> = { floor: [], bareProbot: [], aiFix: [], aiFixIgnoredOnly: [] };
    try {
      for (let r = 0; r < rounds; r++) {
        for (const [name, run] of Object.entries(loads) as Array<[keyof typeof loads, () => Promise<Figures>]>) byRound[name].push(await run());
      }
    } finally {
      await Promise.all([servers.floor.stop(), servers.bareProbot.stop()]);
    }
    const figures = Object.fromEntries(Object.entries(byRound).map(([name, list]) => [name, median(list)])) as Record<keyof typeof loads, Figures>;
    const { aiFix, bareProbot, floor: raw } = figures;
    const ratios = {
      throughputAiFixOverBareProbot: round(aiFix.requestsPerSecond / bareProbot.requestsPerSecond),
      p99AiFixOverBareProbot: round(aiFix.p99Ms / bareProbot.p99Ms),
      throughputBareProbotOverFloor: round(bareProbot.requestsPerSecond / raw.requestsPerSecond),
    };
    const goals = {
      'throughput ≥ 0.9× bare Probot': ratios.throughputAiFixOverBareProbot >= 0.9,
      'p99 ≤ 1.2× bare Probot': ratios.p99AiFixOverBareProbot <= 1.2,
      'every delivery answered 2xx': aiFix.non2xx === 0 && aiFix.errors === 0,
    };
    const machine = describeMachine();
    const result = { command, date: new Date().toISOString(), machine, connections: 50, seconds, rounds, mix: '90% ignored events, 10% issues.labeled', figures, byRound, ratios, goals };
    await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    await fs.writeFile(path.join(ROOT, 'bench/results/webhooks.json'), `${JSON.stringify(result, null, 2)}\n`);
    const row = (name: string, f: Figures) => `| ${name} | ${f.requestsPerSecond.toLocaleString('en-US')} | ${f.p50Ms} | ${f.p99Ms} | ${f.requests.toLocaleString('en-US')} | ${f.non2xx + f.errors} |`;
    const markdown = [
      '## Webhooks: ingest under load',
      '',
      `Command: \`${command}\` · measured ${result.date.slice(0, 10)} on ${machine}.`,
      '',
      `autocannon, 50 connections, ${seconds} s per load, on the same machine (the load generator, the GitHub simulator and Redis share its cores). The servers run side by side and each of ${rounds} rounds loads each in turn; the table gives each server's medians over the rounds (requests and failures are totals).`,
      `Deliveries are signed, real-shaped payloads (@octokit/webhooks-examples): 90% events the app starts nothing for (${IGNORED.map(([e, a]) => (a ? `${e}.${a}` : e)).join(', ')}),`,
      '10% `issues.labeled` with the trigger label by a maintainer, which the app answers after one durable write to Redis (an intake job; the server\'s intake worker then reads the repository config and the sender\'s permission from the GitHub simulator and enqueues the task).',
      '"ai-fix" is `node bin/ai-fix.js serve` started by the test harness (Redis prefix of its own, default log level); "bare Probot" is `createNodeMiddleware` with no handlers in `node:http`; the floor only checks the HMAC.',
      '',
      '| server | req/s | p50 ms | p99 ms | requests | non-2xx + errors |',
      '| --- | --- | --- | --- | --- | --- |',
      row('ai-fix serve', aiFix),
      row('ai-fix serve, the ignored events only', figures.aiFixIgnoredOnly),
      row('bare Probot', bareProbot),
      row('node:http + HMAC (floor)', raw),
      '',
      `Ratios: ai-fix ÷ bare Probot throughput **${ratios.throughputAiFixOverBareProbot}×**, p99 **${ratios.p99AiFixOverBareProbot}×**; ai-fix ÷ floor throughput **${round(aiFix.requestsPerSecond / raw.requestsPerSecond)}×**; bare Probot ÷ floor throughput **${ratios.throughputBareProbotOverFloor}×**.`,
      '',
      `Each round, req/s · p99 ms: ${(['aiFix', 'bareProbot'] as const).map((name) => `${name === 'aiFix' ? 'ai-fix' : 'bare Probot'} ${byRound[name].map((f) => `${f.requestsPerSecond.toLocaleString('en-US')} · ${f.p99Ms}`).join(', ')}`).join('; ')}.`,
      '',
      `How: an \`issues.labeled\` delivery (not from a bot, with an installation) is answered after one durable Redis write, an intake job whose id is the delivery id, so a failed write is a failed delivery GitHub can redeliver and a redelivery finds the job it made. The reads that decide it (the repository config, the sender's permission, the allow-list) and the task's enqueue run afterwards in the server's intake worker, which BullMQ retries with backoff when GitHub fails. Events the app has no handler for reach no handler of ours: Probot verifies and answers them; \`push\` has one (for \`rebase.auto\`), which returns at once for this tag push, after Probot has built its installation client (on these nine alone ai-fix runs at ${round(figures.aiFixIgnoredOnly.requestsPerSecond / bareProbot.requestsPerSecond)}× bare Probot's throughput). What ai-fix still adds on the labeled tenth: the installation client Probot builds for every delivery that has a handler (Probot does it before any handler runs), and the durable write's round trip to Redis, which here shares the two cores with the load generator and the server: under this closed-loop saturation the reply waits its turn behind the other connections' requests, so a labeled delivery is answered about one event-loop turn later than an ignored one, and with one delivery in ten labeled the p99 falls among them. Answering before the write would make a crash in between lose the label, so it is not done. Every request of a connection repeats the same delivery ids, so the intake decides each labeled delivery once and the repeats stop at the job id; a real label rate makes a few GitHub reads a minute.`,
      '',
      'Why the goals are not met here (one-off measurements on this machine, 2026-11-24, same mix before `push` had a handler, server CPU per delivery from `/proc`, medians of three rounds): bare Probot spends about 130 µs; ai-fix with its labeled handler answering without any write about 150 µs (the installation client); with a plain Redis `SET` as the write about 165 µs plus 6 µs in Redis; with the BullMQ add about 165–195 µs plus 8–11 µs in Redis. On this VM a Redis round trip alone costs about 90 µs of the caller\'s CPU (a sequential `SET`; a BullMQ add about 135 µs), mostly system calls, and a labeled delivery makes one, so the write alone costs the mix several percent of throughput, and its extra event-loop turn puts the p99 among the labeled deliveries. Batching the writes of concurrent deliveries into one round trip (`addBulk` per event-loop turn) measured within the noise (about 0.87× against 0.80× in the same run, p99 no better), so the direct add is kept. Here Redis shares the two cores with the load generator and the server; a Redis on other cores or hosts, as deployments run it, was not measured.',
      '',
      'Before the intake queue (same bench, one round, 2026-11-24), the labeled delivery was answered after those reads: ai-fix ran at 0.07× bare Probot\'s throughput with 68.86× its p99, and at 0.77× on the ignored events alone (a catch-all handler made Probot build an installation client for every delivery).',
      '',
      'Goals: ' + Object.entries(goals).map(([goal, met]) => `${goal}: ${met ? '**met**' : '**NOT met**'}`).join(' · '),
      '',
      'Raw figures: [`bench/results/webhooks.json`](../bench/results/webhooks.json).',
    ].join('\n');
    await writeBenchmarkSection(ROOT, 'webhooks', markdown);
    process.stdout.write(`${markdown}\n`);
    return Object.values(goals).every(Boolean);
  } finally {
    await harness.close();
  }
}
