import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from '@jest/globals';
import { waitFor } from '../support/app-process.ts';

// No test may leave a process behind: a test that times out with processes running still ends
// in a jest run that exits, with every one of them (and what they started) gone.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'ai-fix-teardown-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** State and process group of a process, from /proc; undefined once it is gone. */
function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    // pid (comm) state ppid pgrp …; comm may hold spaces, so read after its closing paren.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state = '', , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, pgrp: Number(pgrp) };
  } catch {
    return undefined;
  }
}

/** A zombie is not running: it only waits to be reaped. */
const running = (pid: number) => (procStat(pid)?.state ?? 'Z') !== 'Z';

/** Running processes of a process group. */
const groupMembers = (pgid: number) =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => procStat(pid)?.pgrp === pgid && running(pid));

it('a timed-out test leaves no process: the run exits and the global teardown kills the rest', async () => {
  const pidsFile = path.join(dir, 'pids.json');
  const config = {
    rootDir: ROOT,
    testMatch: ['<rootDir>/test/fixtures/teardown/*.fixture.ts'],
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } }] },
    globalSetup: '<rootDir>/test/support/global-setup.ts',
    globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  };
  const jest = path.join(ROOT, 'node_modules/jest/bin/jest.js');
  const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [jest, '--config', JSON.stringify(config), '--ci', '--watchman=false'],
      { cwd: ROOT, env: { ...process.env, PIDS_FILE: pidsFile, NODE_OPTIONS: '--experimental-vm-modules' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, output: `${stdout}${stderr}` }),
    );
    child.stdin?.end();
  });
  const { leader, lone } = JSON.parse(readFileSync(pidsFile, 'utf8')) as { leader: number; lone: number };

  expect(run.output).toContain('Exceeded timeout');
  expect(run.code).toBe(1);
  expect(run.output).toContain('global teardown: killed what tests left running');
  // The lone process, the group's leader, and the process the leader started in its group (a
  // killed process may linger a moment as a zombie until it is reaped: that is not running).
  await waitFor('the processes to be gone', () => groupMembers(leader).length === 0 && !running(lone), 5_000, 50).catch(() => undefined);
  expect({ lone: running(lone), group: groupMembers(leader) }).toEqual({ lone: false, group: [] });
}, 90_000);
