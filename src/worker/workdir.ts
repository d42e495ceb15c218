import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../util/logger.ts';
import { isProcessAlive } from '../util/process-alive.ts';

// Each worker process keeps its checkouts under its own directory (host name and pid), so a
// worker starting up can tell which leftovers belong to processes that are gone.
export function processWorkdir(root: string): string {
  return path.join(root, `${os.hostname()}-${process.pid}`);
}

/** Removes checkouts left by dead worker processes on this host (a crash or a kill -9). */
export async function removeOrphanWorkdirs(root: string, log: Logger): Promise<number> {
  const prefix = `${os.hostname()}-`;
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (!Number.isInteger(pid) || (pid !== process.pid && isProcessAlive(pid))) continue;
    await fs.rm(path.join(root, entry), { recursive: true, force: true });
    removed++;
  }
  if (removed) log.info({ removed }, 'removed workspaces left by stopped workers');
  return removed;
}
