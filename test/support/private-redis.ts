import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './app-process.ts';
import { trackChild } from './child-registry.ts';

/**
 * A Redis of the test's own, for outage tests that must not disturb the shared one. It keeps an
 * append-only file (synced on every write), as production Redis should, so a restart keeps the
 * queue; `start({ empty: true })` restarts it without its data, as Redis without persistence does.
 */
export interface PrivateRedis {
  url: string;
  kill(): Promise<void>;
  start(options?: { empty?: boolean }): Promise<void>;
  close(): Promise<void>;
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-redis-'));
  let child: ChildProcess | undefined;
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start(options = {}) {
      if (options.empty) {
        await fs.rm(dir, { recursive: true, force: true });
        await fs.mkdir(dir);
      }
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
      trackChild(child);
      const deadline = Date.now() + 10_000;
      while (!(await answers(port))) {
        if (Date.now() > deadline) throw new Error('private redis-server did not start');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async close() {
      await redis.kill();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
