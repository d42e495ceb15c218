import { readdirSync, rmSync } from 'node:fs';
import { killTree, REGISTRY_ENV } from './child-registry.ts';

/**
 * The last net: whatever a test started and did not stop (a failed test, a timed-out one, a
 * jest worker killed hard) is killed here, so no process outlives the run and jest can exit.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export default function globalTeardown(): void {
  const registry = process.env[REGISTRY_ENV];
  if (!registry) return;
  const left = readdirSync(registry).filter((entry) => !entry.endsWith('.group') || groupAlive(Number.parseInt(entry, 10)));
  for (const entry of left) killTree(Number.parseInt(entry, 10), entry.endsWith('.group'));
  if (left.length > 0) process.stderr.write(`global teardown: killed what tests left running: ${left.join(', ')}\n`);
  rmSync(registry, { recursive: true, force: true });
}
