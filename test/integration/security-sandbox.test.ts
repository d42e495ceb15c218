import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FileViews } from '../../src/agent/tools/file-views.ts';
import { handOverToSandbox } from '../../src/sandbox/hand-over.ts';
import { runSandboxed } from '../../src/sandbox/run-sandboxed.ts';
import type { SandboxDirs, SandboxMode, SandboxPolicy } from '../../src/sandbox/sandbox-policy.ts';
import { startSandbox } from '../../src/sandbox/start-sandbox.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { createLogger } from '../../src/util/logger.ts';
import { waitFor } from '../support/app-process.ts';

const MB = 1024 * 1024;
const quiet = createLogger({ level: 'silent' });

/** Processes (and threads) the kernel counts against a user's process limit. */
async function tasksOf(uid: number): Promise<number> {
  let count = 0;
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const realUid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (realUid === String(uid)) count += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  }
  return count;
}

/** Live processes whose command line carries `marker`. */
async function processesWith(marker: string): Promise<number> {
  let count = 0;
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) count++;
  }
  return count;
}

/** A workdir laid out like the worker's, and the policy startSandbox decides for it. */
async function sandboxFor(requested: SandboxMode | 'auto', processes = 1024): Promise<{ workdir: string; policy: SandboxPolicy }> {
  const workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-sandbox-'));
  const limits = { memoryBytes: 512 * MB, processes, fileSizeBytes: 8 * MB };
  try {
    return { workdir, policy: await startSandbox({ requested, limits, uid: 65534, workdir, log: quiet }) };
  } catch (err) {
    await fs.rm(workdir, { recursive: true, force: true });
    throw err;
  }
}

async function bwrapWorks(): Promise<boolean> {
  try {
    const { workdir } = await sandboxFor('bwrap');
    await fs.rm(workdir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

const bwrapAvailable = await bwrapWorks();
const modes: SandboxMode[] = bwrapAvailable ? ['none', 'bwrap'] : ['none'];

describe('choosing the sandbox at start', () => {
  // CI installs bubblewrap and sets this, so the isolation tests cannot be skipped silently there.
  it.each([process.env.AI_FIX_TEST_REQUIRE_BWRAP === '1'])('bwrap works on this host when required (%s)', (required) => {
    if (required) expect(bwrapAvailable).toBe(true);
    else if (!bwrapAvailable) process.stdout.write('bubblewrap is not usable here: only the `none` sandbox is tested\n');
  });

  it('auto picks bwrap when it works, none is none', async () => {
    const auto = await sandboxFor('auto');
    const none = await sandboxFor('none');
    expect(auto.policy.mode).toBe(bwrapAvailable ? 'bwrap' : 'none');
    expect(none.policy.mode).toBe('none');
    if (bwrapAvailable) expect(auto.policy.hidden.map((h) => h.path)).toEqual(expect.arrayContaining(['/tmp', await fs.realpath(auto.workdir)]));
    await fs.rm(auto.workdir, { recursive: true, force: true });
    await fs.rm(none.workdir, { recursive: true, force: true });
  });

  it('without bwrap on the host, auto warns and falls back to none, and bwrap refuses to start', async () => {
    // A PATH with bash and touch, and no bwrap.
    const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-bin-'));
    await fs.chmod(bin, 0o755);
    for (const tool of ['bash', 'touch']) await fs.symlink(path.join('/usr/bin', tool), path.join(bin, tool));
    const savedPath = process.env.PATH;
    process.env.PATH = bin;
    try {
      const auto = await sandboxFor('auto');
      expect(auto.policy.mode).toBe('none');
      await fs.rm(auto.workdir, { recursive: true, force: true });
      await expect(sandboxFor('bwrap')).rejects.toThrow(ConfigError);
      await expect(sandboxFor('bwrap')).rejects.toThrow(/^AI_FIX_SANDBOX: bwrap does not work on this host/);
    } finally {
      process.env.PATH = savedPath;
      await fs.rm(bin, { recursive: true, force: true });
    }
  });
});

describe.each(modes)('the sandbox every agent command runs in (%s)', (mode) => {
  let workdir: string;
  let dirs: SandboxDirs;
  let policy: SandboxPolicy;
  let uid: number;
  let otherJob: string;
  let server: http.Server;
  let serverPort: number;
  const secret = `sk-test-${crypto.randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    const user = (await sandboxFor('none')).policy.user;
    uid = user?.uid ?? process.getuid?.() ?? 0;
    // Room for what the user already runs, plus a little: the limit counts all of its processes.
    ({ workdir, policy } = await sandboxFor(mode, (await tasksOf(uid)) + 64));
    const jobDir = path.join(workdir, 'jobs', 'job-1');
    dirs = { workspace: path.join(jobDir, 'repo'), home: path.join(jobDir, 'home'), gitDir: path.join(jobDir, 'git') };
    for (const dir of Object.values(dirs)) await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dirs.gitDir, 'config'), '[core]\n');
    await handOverToSandbox(policy, [dirs.workspace, dirs.home]);
    // Another task's checkout on the same worker.
    otherJob = path.join(workdir, 'jobs', 'job-2', 'repo');
    await fs.mkdir(otherJob, { recursive: true });
    await fs.writeFile(path.join(otherJob, 'private.txt'), 'another customer\n');
    await handOverToSandbox(policy, [otherJob]);
    server = http.createServer((_req, res) => res.end('reachable\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverPort = (server.address() as AddressInfo).port;
    process.env.AI_FIX_SANDBOX_TEST_SECRET = secret;
  });

  afterAll(async () => {
    delete process.env.AI_FIX_SANDBOX_TEST_SECRET;
    await new Promise((resolve) => server?.close(resolve));
    if (workdir) await fs.rm(workdir, { recursive: true, force: true });
  });

  const run = (command: string, timeoutMs = 20_000) => runSandboxed(policy, command, { dirs, timeoutMs, outputLimit: 8192 });

  it('hands the environment over scrubbed: nothing of the worker in env, /proc/self/environ or its parent', async () => {
    // Without bwrap, only another user keeps the worker's /proc/<pid>/environ out of reach.
    const isolated = mode === 'bwrap' || uid !== process.getuid?.();
    const parent = isolated ? `cat /proc/$PPID/environ; cat /proc/${process.pid}/environ;` : '';
    const result = await run(`env; tr "\\0" "\\n" < /proc/self/environ; ${parent} true`);
    expect(result.exitCode).toBe(0);
    expect(result.output).not.toContain(secret);
    expect(result.output).toContain(`HOME=${dirs.home}`);
  });

  it('runs as an unprivileged user when the worker is root', async () => {
    const result = await run('id -u; touch made-by-sandbox');
    expect(result.exitCode).toBe(0);
    expect(result.output.trim()).toBe(String(uid));
    expect(result.output.trim()).not.toBe('0');
  });

  it('contains a fork bomb at the process limit, and leaves nothing behind', async () => {
    const marker = `ai-fix-bomb-${crypto.randomBytes(4).toString('hex')}`;
    let peak = 0;
    let running = true;
    const sampling = (async () => {
      while (running) {
        peak = Math.max(peak, await processesWith(marker));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // It forks until the command's time limit kills the whole group.
    const result = await run(`exec -a ${marker} bash -c ':(){ :|:& };:; sleep 60'`, 3000);
    running = false;
    await sampling;
    expect(result.timedOut).toBe(true);
    expect(result.output).toMatch(/fork: (retry: )?Resource temporarily unavailable/);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(policy.limits.processes);
    expect(await processesWith(marker)).toBe(0);
    // Killed processes leave the count as the kernel reaps them: room to fork again soon.
    await waitFor('the bomb to be reaped', async () => (await tasksOf(uid)) < policy.limits.processes - 16, 30_000);
    // The worker and the sandbox still work (a command substitution forks).
    expect((await run('echo "$(echo still) here"')).output).toContain('still here');
  }, 40_000);

  it('kills a command that prints a gigabyte once it passed the output cap', async () => {
    const result = await run("head -c 1000000000 /dev/zero | tr '\\0' x; echo never");
    expect(result.outputExceeded).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.output).toContain('output limit');
    expect(result.output).not.toContain('never');
    expect(result.output.length).toBeLessThan(9000);
  });

  it('caps the memory of each process', async () => {
    const result = await run("a=$(head -c 700000000 /dev/zero | tr '\\0' x); echo got ${#a}");
    expect(result.output).not.toContain('got 700000000');
    expect(result.output).toMatch(/cannot allocate|out of memory/i);
  });

  it('caps the size of a file a command writes', async () => {
    const result = await run('head -c 20000000 /dev/zero > big.bin; echo "exit $?"');
    expect(result.output).toMatch(/File size limit exceeded|exit 1\d\d/);
    expect((await fs.stat(path.join(dirs.workspace, 'big.bin'))).size).toBeLessThanOrEqual(8 * MB);
  });

  it('stops a process that escaped its process group', async () => {
    const marker = `ai-fix-spin-${crypto.randomBytes(4).toString('hex')}`;
    const result = await run(`setsid bash -c 'exec -a ${marker} bash -c "while :; do :; done"' < /dev/null > /dev/null 2>&1 & sleep 0.2; echo started`, 1000);
    expect(result.output).toContain('started');
    // bwrap takes its whole pid namespace down; without it the CPU limit (a second on every core) ends it.
    await waitFor('the escaped spinner to stop', async () => (await processesWith(marker)) === 0, 60_000);
  }, 70_000);

  if (mode === 'bwrap') {
    it('has no network', async () => {
      const result = await run(`(exec 3<>/dev/tcp/127.0.0.1/${serverPort}) && echo CONNECTED; getent hosts example.com || echo no-dns`);
      expect(result.output).not.toContain('CONNECTED');
      expect(result.output).toContain('no-dns');
    });

    it('sees the host read-only, not the other jobs, temp files or the worker', async () => {
      const tmpFile = path.join(os.tmpdir(), `ai-fix-visible-${crypto.randomBytes(3).toString('hex')}`);
      await fs.writeFile(tmpFile, 'host temp\n', { mode: 0o644 });
      const result = await run(
        [
          'touch /usr/ai-fix-probe 2>/dev/null && echo WROTE-USR',
          `cat ${otherJob}/private.txt 2>/dev/null`,
          `echo x > ${otherJob}/planted 2>/dev/null && echo WROTE-OTHER`,
          `cat ${tmpFile} 2>/dev/null`,
          `test -e /proc/${process.pid}/environ && echo SEES-WORKER`,
          `touch ${dirs.gitDir}/config 2>/dev/null && echo WROTE-GIT`,
          `test -r ${dirs.gitDir}/config && echo READS-GIT`,
          'touch in-workspace && echo WROTE-WORKSPACE',
        ].join('; '),
      );
      await fs.rm(tmpFile, { force: true });
      expect(result.output).not.toMatch(/WROTE-USR|another customer|WROTE-OTHER|host temp|SEES-WORKER|WROTE-GIT/);
      expect(result.output).toContain('READS-GIT');
      expect(result.output).toContain('WROTE-WORKSPACE');
      await expect(fs.access(path.join(otherJob, 'planted'))).rejects.toThrow();
    });
  } else {
    it('is not isolated from the network (use bwrap in production)', async () => {
      const result = await run(`(exec 3<>/dev/tcp/127.0.0.1/${serverPort}) && echo CONNECTED`);
      expect(result.output).toContain('CONNECTED');
    });
  }
});

describe('files the agent tools create belong to the sandbox user', () => {
  it('write_file hands new files and directories over', async () => {
    const { workdir, policy } = await sandboxFor('none');
    const { writeFileTool } = await import('../../src/agent/tools/write-file.ts');
    const root = path.join(workdir, 'jobs', 'job', 'repo');
    await fs.mkdir(root, { recursive: true });
    await handOverToSandbox(policy, [root]);
    const context = { root, gitDir: path.join(root, '.git'), runShell: () => Promise.reject(new Error('unused')), testCommand: null, signal: new AbortController().signal, protectedPaths: [], fileOwner: policy.user, views: new FileViews() };
    await writeFileTool.run({ path: 'new/dir/file.txt', content: 'x\n' }, context);
    const expected = policy.user?.uid ?? process.getuid?.();
    for (const entry of ['new', 'new/dir', 'new/dir/file.txt']) expect((await fs.stat(path.join(root, entry))).uid).toBe(expected);
    const result = await runSandboxed(policy, 'echo more >> new/dir/file.txt && touch new/dir/other', { dirs: { workspace: root, home: root, gitDir: root }, timeoutMs: 10_000 });
    expect(result.exitCode).toBe(0);
    await fs.rm(workdir, { recursive: true, force: true });
  });
});
