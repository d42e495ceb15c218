import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FileViews } from '../../src/agent/tools/file-views.ts';
import type { SandboxDirs, SandboxMode, SandboxPolicy } from '../../src/sandbox/sandbox-policy.ts';
import { startSandbox } from '../../src/sandbox/start-sandbox.ts';
import { openTaskBox, type TaskBox } from '../../src/sandbox/task-box.ts';
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
    return { workdir, policy: await startSandbox({ requested, limits, users: { first: 910_000, count: 64 }, tmpBytes: 16 * MB, workdir, log: quiet }) };
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

  it('auto is bwrap when it works, none is none', async () => {
    const none = await sandboxFor('none');
    expect(none.policy.mode).toBe('none');
    await fs.rm(none.workdir, { recursive: true, force: true });
    if (!bwrapAvailable) return;
    const auto = await sandboxFor('auto');
    expect(auto.policy.mode).toBe('bwrap');
    expect(auto.policy.hidden.map((h) => h.path)).toEqual(expect.arrayContaining(['/tmp', await fs.realpath(auto.workdir)]));
    await fs.rm(auto.workdir, { recursive: true, force: true });
  });

  it('fails closed: without a working bwrap, auto and bwrap refuse to start with one line naming AI_FIX_SANDBOX', async () => {
    // A PATH with bash and touch, and no bwrap.
    const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-bin-'));
    await fs.chmod(bin, 0o755);
    for (const tool of ['bash', 'touch']) await fs.symlink(path.join('/usr/bin', tool), path.join(bin, tool));
    const savedPath = process.env.PATH;
    process.env.PATH = bin;
    try {
      for (const requested of ['auto', 'bwrap'] as const) {
        const refusal = sandboxFor(requested);
        await expect(refusal).rejects.toThrow(ConfigError);
        await expect(refusal).rejects.toThrow(/^AI_FIX_SANDBOX: the agent's commands cannot be isolated here \(bwrap: [^\n]*\); [^\n]*AI_FIX_SANDBOX=none[^\n]*$/);
      }
    } finally {
      process.env.PATH = savedPath;
      await fs.rm(bin, { recursive: true, force: true });
    }
  });
});

/** A job's box directories under `workdir`, and the box over them. */
async function jobBox(policy: SandboxPolicy, workdir: string, name: string): Promise<TaskBox> {
  const jobDir = path.join(workdir, 'jobs', name);
  const dirs: SandboxDirs = { workspace: path.join(jobDir, 'repo'), home: path.join(jobDir, 'home'), gitDir: path.join(jobDir, 'git'), readOnly: [path.join(jobDir, 'objects')] };
  for (const dir of [dirs.workspace, dirs.home, dirs.gitDir, ...dirs.readOnly]) await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dirs.gitDir, 'config'), '[core]\n');
  await fs.writeFile(path.join(dirs.readOnly[0]!, 'object'), 'shared, read-only\n');
  return openTaskBox(policy, dirs);
}

describe.each(modes)('the sandbox every agent command runs in (%s)', (mode) => {
  let workdir: string;
  let dirs: SandboxDirs;
  let policy: SandboxPolicy;
  let box: TaskBox;
  let other: TaskBox;
  let uid: number;
  let otherJob: string;
  let server: http.Server;
  let serverPort: number;
  const secret = `sk-test-${crypto.randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    // The process limit counts all processes of a user: as a non-root worker, those it already runs.
    const running = process.getuid?.() === 0 ? 0 : await tasksOf(process.getuid?.() ?? 0);
    ({ workdir, policy } = await sandboxFor(mode, running + 64));
    box = await jobBox(policy, workdir, 'job-1');
    dirs = box.dirs;
    uid = box.user?.uid ?? process.getuid?.() ?? 0;
    // Another task's checkout on the same worker, running at the same time.
    other = await jobBox(policy, workdir, 'job-2');
    otherJob = other.dirs.workspace;
    await fs.writeFile(path.join(otherJob, 'private.txt'), 'another customer\n');
    server = http.createServer((_req, res) => res.end('reachable\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverPort = (server.address() as AddressInfo).port;
    process.env.AI_FIX_SANDBOX_TEST_SECRET = secret;
  });

  afterAll(async () => {
    await box?.close();
    await other?.close();
    delete process.env.AI_FIX_SANDBOX_TEST_SECRET;
    await new Promise((resolve) => server?.close(resolve));
    if (workdir) await fs.rm(workdir, { recursive: true, force: true });
  });

  const run = (command: string, timeoutMs = 20_000) => box.run(command, { timeoutMs, outputLimit: 8192 });
  const ownUser = () => box.user !== undefined;

  it('hands the environment over scrubbed: nothing of the worker in env, /proc/self/environ or its parent', async () => {
    // Without bwrap, only another user keeps the worker's /proc/<pid>/environ out of reach.
    const isolated = mode === 'bwrap' || uid !== process.getuid?.();
    const parent = isolated ? `cat /proc/$PPID/environ; cat /proc/${process.pid}/environ;` : '';
    const result = await run(`env; tr "\\0" "\\n" < /proc/self/environ; ${parent} true`);
    expect(result.exitCode).toBe(0);
    expect(result.output).not.toContain(secret);
    expect(result.output).toContain(`HOME=${dirs.home}`);
  });

  it('runs each task as its own unprivileged user when the worker is root', async () => {
    const result = await run('id -u; touch made-by-sandbox');
    expect(result.exitCode).toBe(0);
    expect(result.output.trim()).toBe(String(uid));
    if (process.getuid?.() !== 0) return;
    expect(result.output.trim()).not.toBe('0');
    expect(other.user?.uid).not.toBe(uid);
    expect(uid).toBeGreaterThanOrEqual(910_000);
  });

  it('lets nothing a command started outlive it', async () => {
    if (mode === 'none' && !ownUser()) return; // As the worker's own user, only a pid namespace could (see README).
    const marker = `ai-fix-left-${crypto.randomBytes(4).toString('hex')}`;
    const result = await run(`setsid bash -c 'exec -a ${marker} sleep 30' < /dev/null > /dev/null 2>&1 & (bash -c 'exec -a ${marker} sleep 30' &) ; sleep 0.3; echo started`);
    expect(result.output).toContain('started');
    // Gone by the time the command's result is back: not after a grace period.
    expect(await processesWith(marker)).toBe(0);
  });

  it('cannot read or write another task\'s checkout, or the objects it only reads', async () => {
    if (mode === 'none' && !ownUser()) return;
    const result = await run(
      [`cat ${otherJob}/private.txt 2>/dev/null`, `echo x > ${otherJob}/planted 2>/dev/null && echo WROTE-OTHER`, `cat ${dirs.readOnly[0]}/object`, `echo x >> ${dirs.readOnly[0]}/object 2>/dev/null && echo WROTE-OBJECTS`].join('; '),
    );
    expect(result.output).not.toMatch(/another customer|WROTE-OTHER|WROTE-OBJECTS/);
    expect(result.output).toContain('shared, read-only');
    await expect(fs.access(path.join(otherJob, 'planted'))).rejects.toThrow();
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
    it('caps /tmp', async () => {
      const result = await run('head -c 40000000 /dev/zero > /tmp/fill; echo "exit $?"; du -k /tmp/fill');
      expect(result.output).toMatch(/No space left on device|exit 1/);
      expect(Number(/(\d+)\s+\/tmp\/fill/.exec(result.output)?.[1])).toBeLessThanOrEqual(16 * 1024);
    });

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
          `test -r ${dirs.gitDir}/config && echo READS-GIT`,
          'touch in-workspace && echo WROTE-WORKSPACE',
        ].join('; '),
      );
      await fs.rm(tmpFile, { force: true });
      expect(result.output).not.toMatch(/WROTE-USR|another customer|WROTE-OTHER|host temp|SEES-WORKER/);
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
    const box = await jobBox(policy, workdir, 'job');
    const root = box.dirs.workspace;
    const unused = () => Promise.reject(new Error('unused'));
    const context = { root, runShell: unused, runGit: unused, workTreeId: unused, testCommand: null, signal: new AbortController().signal, protectedPaths: [], fileOwner: box.user, views: new FileViews() };
    await writeFileTool.run({ path: 'new/dir/file.txt', content: 'x\n' }, context);
    const expected = box.user?.uid ?? process.getuid?.();
    for (const entry of ['new', 'new/dir', 'new/dir/file.txt']) expect((await fs.stat(path.join(root, entry))).uid).toBe(expected);
    const result = await box.run('echo more >> new/dir/file.txt && touch new/dir/other', { timeoutMs: 10_000 });
    expect(result.exitCode).toBe(0);
    await box.close();
    await fs.rm(workdir, { recursive: true, force: true });
  });
});
