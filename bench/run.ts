// `npm run bench [-- <part> …] [--option value …]`: runs the named parts (all when none is named).
import { runAgentBench } from './agent.ts';
import { runQueueBench } from './queue.ts';
import { runSecretsBench } from './secrets.ts';
import { runSetupCacheBench } from './setup-cache.ts';
import { runThroughputBench } from './throughput.ts';
import { runWebhooksBench } from './webhooks.ts';
import { runWorkspaceBench } from './workspace.ts';

const PARTS: Record<string, (options: Map<string, string>) => Promise<boolean>> = {
  webhooks: runWebhooksBench,
  queue: runQueueBench,
  workspace: runWorkspaceBench,
  throughput: runThroughputBench,
  agent: runAgentBench,
  'setup-cache': runSetupCacheBench,
  secrets: runSecretsBench,
};

const args = process.argv.slice(2);
const options = new Map<string, string>();
const parts: string[] = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg.startsWith('--')) options.set(arg.slice(2), args[++i] ?? '');
  else parts.push(arg);
}
const unknown = parts.filter((part) => !PARTS[part]);
if (unknown.length) {
  process.stderr.write(`bench: unknown part(s) ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}\n`);
  process.exit(2);
}
let allMet = true;
for (const part of parts.length ? parts : Object.keys(PARTS)) {
  process.stdout.write(`== bench ${part}\n`);
  allMet = (await PARTS[part]!(options)) && allMet;
}
process.exitCode = allMet ? 0 : 1;
