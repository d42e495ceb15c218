import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';

function killAllOf(user: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('kill', ['-KILL', '-1'], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}

/** Live (not yet reaped, not zombie) processes whose real user is `uid`. */
async function processesOf(uid: number): Promise<number> {
  let count = 0;
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (/^Uid:\s+(\d+)/m.exec(status)?.[1] === String(uid) && !/^State:\s+Z/m.test(status)) count++;
  }
  return count;
}

/**
 * Kills every process of a task's user (`kill -KILL -1` run as that user) and waits until they
 * are gone, so nothing a command started outlives it: a `setsid` or double-forked process
 * escapes its process group, not its user. Only for users that belong to one task alone.
 */
export async function stopUserProcesses(user: { uid: number; gid: number }): Promise<void> {
  // As root, `kill -1` would stop every process of the host.
  if (!(user.uid > 0)) throw new Error(`refusing to stop the processes of uid ${user.uid}`);
  for (let round = 0; round < 50; round++) {
    await killAllOf(user);
    if ((await processesOf(user.uid)) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`processes of the sandbox user ${user.uid} survive SIGKILL`);
}
