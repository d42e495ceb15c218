import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { freePort, waitFor } from '../support/app-process.ts';
import { containerArgv, finalStage, healthcheckCommand, imageEnv, imageUser, lastArgs, readDockerfile, ROOT } from '../support/dockerfile.ts';
import { createHarness, type Harness } from '../support/harness.ts';
import { trackChild } from '../support/child-registry.ts';

// The image's commands run outside Docker, with the arguments and environment the Dockerfile and
// docker-compose.yml give them. Only the init (tini) is left out, and `node` is this Node 22.
const dockerfile = readDockerfile();
interface ComposeService {
  command: string[];
  security_opt?: string[];
  cap_drop?: string[];
}
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };

/** argv without the init process: what tini runs. */
function appArgv(command: string[]): string[] {
  const argv = containerArgv(dockerfile, command);
  const app = argv.slice(argv.indexOf('--') + 1);
  expect(app[0]).toBe('node');
  return [process.execPath, ...app.slice(1)];
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

// Prometheus holds this; /metrics refuses everyone else.
const METRICS_TOKEN = 'image-metrics-token-0123456789';

function run(argv: string[], env: Record<string, string>, prefix: string[] = []): Running {
  const [file = '', ...args] = [...prefix, ...argv];
  const child = trackChild(spawn(file, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Runs the HEALTHCHECK command the way Docker does (`/bin/sh -c`), with the container's env. */
function healthcheck(env: Record<string, string>, prefix: string[] = []): number | null {
  const [file = 'sh', ...args] = [...prefix, 'sh', '-c', healthcheckCommand(dockerfile)];
  return spawnSync(file, args, { env, encoding: 'utf8', timeout: 20_000 }).status;
}

function canUsePidNamespaces(): boolean {
  return spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
}

/** The worker's `sandbox ready` log line, or a failure that shows what the worker said instead. */
function sandboxReadyLine(output: string): string {
  const line = output.split('\n').find((l) => l.includes('"msg":"sandbox ready"'));
  if (line === undefined) throw new Error(`the worker logged no "sandbox ready"; it said:\n${output}`);
  return line;
}

// The image's USER (`node`, uid 1000 in node:22-bookworm-slim). A test running as root becomes
// that user for the worker; any other user already is an unprivileged one, as in the image.
const user = imageUser(dockerfile);
const isRoot = process.getuid?.() === 0;
const asImageUser = isRoot ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'] : [];

/** A fresh directory of the image's user, as its home or the image's AI_FIX_WORKDIR are. */
async function imageUserDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  if (isRoot) await fs.chown(dir, user.uid, user.gid);
  return dir;
}

/** Whether bubblewrap can build a box for the image's user on this machine, and bwrap's words if not. */
function probeBwrap(): { ok: boolean; reason: string } {
  const [file = 'bwrap', ...args] = [...asImageUser, 'bwrap', '--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'];
  const probe = spawnSync(file, args, { cwd: '/', encoding: 'utf8', timeout: 20_000 });
  if (probe.error) return { ok: false, reason: probe.error.message };
  return { ok: probe.status === 0, reason: (probe.stderr.trim() || `exit code ${probe.status}`).split('\n')[0] ?? '' };
}
const bwrap = probeBwrap();
// CI sets AI_FIX_TEST_REQUIRE_BWRAP=1 where bwrap works for an unprivileged user: there a worker that
// cannot prove bwrap fails the test instead of skipping it.
const requireBwrap = process.env.AI_FIX_TEST_REQUIRE_BWRAP === '1';

function itWithBwrap(name: string, test: () => Promise<void>, timeoutMs: number): void {
  if (bwrap.ok || requireBwrap) {
    it(
      name,
      async () => {
        if (!bwrap.ok) throw new Error(`AI_FIX_TEST_REQUIRE_BWRAP=1, but bwrap cannot build a box for uid ${user.uid} here: ${bwrap.reason}`);
        await test();
      },
      timeoutMs,
    );
  } else {
    it.skip(`${name} [skipped: bwrap cannot build a box for uid ${user.uid} here (${bwrap.reason}); AI_FIX_TEST_REQUIRE_BWRAP=1 makes this a failure]`, test, timeoutMs);
  }
}

describe("the image's commands, run outside Docker", () => {
  let h: Harness;
  let workdir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await createHarness('image');
    workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-image-'));
    env = {
      // The image's own environment, then what docker-compose's `.env` would hold.
      ...imageEnv(dockerfile),
      // The image's node is on its PATH; here that is this Node 22.
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: os.homedir(),
      ...h.appEnv(),
      AI_FIX_METRICS_TOKEN: METRICS_TOKEN,
      // The image's /var/lib/ai-fix belongs to its `node` user; a scratch directory stands in.
      AI_FIX_WORKDIR: workdir,
      PORT: String(await freePort()),
    };
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await fs.rm(workdir, { recursive: true, force: true });
  });

  it('the image sets HOST=0.0.0.0 and the port it exposes', () => {
    expect(imageEnv(dockerfile)).toMatchObject({ HOST: '0.0.0.0', PORT: '3000', NODE_ENV: 'production' });
  });

  it("compose's server command serves /healthz and /readyz on all interfaces; the HEALTHCHECK passes, then fails once it stops", async () => {
    expect(compose.services.server?.command).toEqual(['serve']);
    const server = run(appArgv(compose.services.server?.command ?? []), env);
    const url = `http://127.0.0.1:${env.PORT}`;
    await waitFor('the server', () => fetch(`${url}/healthz`).then((r) => r.ok || server.child.exitCode !== null, () => server.child.exitCode !== null), 20_000);
    expect(server.child.exitCode).toBeNull();

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Ready comes a moment after alive (Redis and the intake first): on a loaded machine, wait for it.
    await waitFor('the server to be ready', () => fetch(`${url}/readyz`).then((r) => r.ok, () => false), 20_000);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()).toContain(`ai_fix_tasks{queue="${h.prefix}",state="waiting"} 0`);
    const listening = server.output().split('\n').find((line) => line.includes('listening for webhooks'));
    expect(listening).toContain(`"url":"http://0.0.0.0:${env.PORT}"`);
    expect(healthcheck(env)).toBe(0);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(healthcheck(env)).toBe(1);
  }, 60_000);

  // As the image runs it: its ENTRYPOINT and CMD argv, its ENV, its USER, with a home and a work
  // directory of that user. The worker proves bubblewrap before it takes work (fail closed).
  itWithBwrap("compose's worker command, as the image's user, proves bubblewrap at start and stops cleanly on SIGTERM", async () => {
    expect(compose.services.worker?.command).toEqual(['worker']);
    const home = await imageUserDir('ai-fix-image-home-');
    const userWorkdir = await imageUserDir('ai-fix-image-work-');
    try {
      const worker = run(appArgv(compose.services.worker?.command ?? []), { ...env, HOME: home, AI_FIX_WORKDIR: userWorkdir }, asImageUser);
      await waitFor('the worker', () => worker.output().includes('worker started') || worker.child.exitCode !== null, 30_000);
      expect(sandboxReadyLine(worker.output())).toContain('"mode":"bwrap"');
      expect(worker.output()).toContain('worker started');
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    } finally {
      await fs.rm(home, { recursive: true, force: true });
      await fs.rm(userWorkdir, { recursive: true, force: true });
    }
  }, 60_000);

  // Docker runs the HEALTHCHECK inside the container, where PID 1 is the init running the
  // command; a PID namespace reproduces that, where this machine allows one. The check concerns
  // the process, not the sandbox (above), so this worker runs without one.
  (canUsePidNamespaces() ? it : it.skip)('the HEALTHCHECK passes for a worker, which has no HTTP server', async () => {
    const worker = run(appArgv(['worker']), { ...env, PORT: String(await freePort()), AI_FIX_SANDBOX: 'none' }, ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc']);
    await waitFor('the worker', () => worker.output().includes('worker started') || worker.child.exitCode !== null, 20_000);
    const pid = Number(execFileSync('pgrep', ['-P', String(worker.child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    const inside = ['nsenter', '--target', String(pid), '--pid', '--mount'];
    expect(healthcheck(env, inside)).toBe(0);
    process.kill(pid, 'SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 60_000);
});

// --- Under Docker's confinement -------------------------------------------------------------------
// Docker runs containers with runc. Here runc runs the worker in a container confined the way
// docker-compose.yml's worker service is: the image's user, no capabilities, no new privileges,
// a read-only root, the shipped seccomp profile and an unmasked /proc (systempaths=unconfined).
// The image itself cannot be built here, so the container's root is this machine's /usr and /etc
// with this checkout at the image's WORKDIR. AppArmor is not part of it (this kernel has none).

const SECCOMP_PROFILE = path.join(ROOT, 'deploy/seccomp/ai-fix-worker.json');
/** What the profile adds to Docker's default rules for a process without capabilities. */
const BWRAP_SYSCALLS = ['clone', 'unshare', 'mount', 'umount2', 'pivot_root'];
// Docker's default allows clone without CAP_SYS_ADMIN only without namespace flags:
// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

interface SeccompRule {
  names: string[];
  action: string;
  args?: Array<{ index: number; value: number; op: string }>;
}
interface SeccompProfile {
  syscalls: SeccompRule[];
  [key: string]: unknown;
}

/** The shipped profile without its additions: Docker's default rules for a container without capabilities. */
function dockerDefaultRules(profile: SeccompProfile): SeccompProfile {
  const rules = profile.syscalls
    .map((rule) => (rule.action === 'SCMP_ACT_ALLOW' ? { ...rule, names: rule.names.filter((name) => !BWRAP_SYSCALLS.includes(name)) } : rule))
    .filter((rule) => rule.names.length > 0);
  rules.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }] });
  return { ...profile, syscalls: rules };
}

function runcSkipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (!isRoot) return 'runc needs root here';
  if (spawnSync('runc', ['--version']).error) return 'runc is not installed (apt-get install runc)';
  if (spawnSync('bwrap', ['--version']).error) return 'bubblewrap is not installed';
  return null;
}
const runcSkip = runcSkipReason();

interface ContainerSpec {
  args: string[];
  env: Record<string, string>;
  seccomp: SeccompProfile;
  /** Docker's `systempaths=unconfined`: no masked or read-only paths in /proc. */
  unmaskProc: boolean;
  /** Host directories bound writable at these container paths. */
  writable?: Record<string, string>;
}

let containers = 0;

const APP_DIR = lastArgs(finalStage(dockerfile), 'WORKDIR');

/** The host directories a container sees read-only, by their path in it: this checkout at the image's WORKDIR. */
function readOnlyMounts(): Record<string, string> {
  const mounts: Record<string, string> = { '/usr': '/usr', '/etc': '/etc', [APP_DIR]: ROOT };
  const modules = path.join(ROOT, 'node_modules');
  if (lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink()) mounts[path.join(APP_DIR, 'node_modules')] = realpathSync(modules);
  if (!Object.values(mounts).some((source) => process.execPath.startsWith(`${source}/`))) mounts[path.dirname(process.execPath)] = path.dirname(process.execPath);
  return mounts;
}

/** Where a host file is seen in the container. */
function containerPath(hostPath: string): string {
  const [destination, source] = Object.entries(readOnlyMounts())
    .filter(([, source]) => hostPath.startsWith(`${source}/`))
    .sort(([, a], [, b]) => b.length - a.length)[0] ?? [hostPath, hostPath];
  return path.join(destination, path.relative(source, hostPath));
}

/** An OCI bundle for runc; its directory, to remove after the run. */
async function bundle(spec: ContainerSpec): Promise<{ dir: string; id: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-runc-'));
  execFileSync('runc', ['spec', '--bundle', dir]);
  const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as {
    root: unknown;
    process: Record<string, unknown>;
    mounts: Array<{ destination: string; type: string; source: string; options: string[] }>;
    linux: { namespaces: Array<{ type: string }>; maskedPaths?: string[]; readonlyPaths?: string[]; seccomp?: unknown };
  };
  const rootfs = path.join(dir, 'rootfs');
  await fs.mkdir(rootfs);
  const readOnly = readOnlyMounts();
  // Merged /usr (Debian): /bin, /lib... are links into it; otherwise they are bound as they are.
  for (const top of ['/bin', '/sbin', '/lib', '/lib64']) {
    const stat = lstatSync(top, { throwIfNoEntry: false });
    if (stat?.isSymbolicLink()) await fs.symlink(readlinkSync(top), path.join(rootfs, top));
    else if (stat?.isDirectory()) readOnly[top] = top;
  }
  config.root = { path: 'rootfs', readonly: true };
  config.process = {
    ...config.process,
    terminal: false,
    user: { uid: user.uid, gid: user.gid },
    args: spec.args,
    env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    cwd: APP_DIR,
    capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
    noNewPrivileges: true,
  };
  config.mounts.push(
    ...Object.entries(readOnly).map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'ro'] })),
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ...Object.entries(spec.writable ?? {}).map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'rw'] })),
  );
  // The host's network, so the worker reaches Redis and the simulators on 127.0.0.1.
  config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== 'network');
  if (spec.unmaskProc) {
    config.linux.maskedPaths = [];
    config.linux.readonlyPaths = [];
  }
  config.linux.seccomp = spec.seccomp;
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  containers += 1;
  return { dir, id: `ai-fix-test-${process.pid}-${containers}` };
}

/** Runs a short command in a container; its exit status and output. */
async function runInContainer(spec: ContainerSpec): Promise<{ status: number | null; output: string }> {
  const { dir, id } = await bundle(spec);
  try {
    const result = spawnSync('runc', ['run', '--bundle', dir, id], { encoding: 'utf8', timeout: 30_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    spawnSync('runc', ['delete', '--force', id]);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

(runcSkip ? describe.skip : describe)(`the worker under docker-compose.yml's confinement (runc)${runcSkip ? ` [skipped: ${runcSkip}]` : ''}`, () => {
  const profile = JSON.parse(readFileSync(SECCOMP_PROFILE, 'utf8')) as SeccompProfile;
  // A box like the worker's probe builds: all namespaces, the root read-only, a fresh /proc.
  const box = ['bwrap', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--', 'true'];
  const bare = { args: box, env: { PATH: '/usr/bin:/bin' } };

  it('matches the compose file: the shipped profile, an unmasked /proc, no capabilities, no new privileges', () => {
    const worker = compose.services.worker;
    expect(worker?.security_opt).toEqual(expect.arrayContaining(['seccomp=./deploy/seccomp/ai-fix-worker.json', 'systempaths=unconfined', 'no-new-privileges:true']));
    expect(worker?.cap_drop).toEqual(['ALL']);
  });

  it("bubblewrap cannot build its box under Docker's default syscall rules, nor with Docker's masked /proc", async () => {
    const defaults = await runInContainer({ ...bare, seccomp: dockerDefaultRules(profile), unmaskProc: true });
    expect(defaults.status).not.toBe(0);
    expect(defaults.output).toMatch(/namespace/i);
    const masked = await runInContainer({ ...bare, seccomp: profile, unmaskProc: false });
    expect(masked.status).not.toBe(0);
    expect(masked.output).toMatch(/proc/);
  }, 60_000);

  describe('with the shipped profile and an unmasked /proc', () => {
    let h: Harness;
    let workdir: string;
    let home: string;

    beforeAll(async () => {
      h = await createHarness('image-runc');
      workdir = await imageUserDir('ai-fix-runc-work-');
      home = await imageUserDir('ai-fix-runc-home-');
    }, 60_000);

    afterAll(async () => {
      await h?.close();
      for (const dir of [workdir, home]) if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it('bubblewrap builds its box', async () => {
      const result = await runInContainer({ ...bare, seccomp: profile, unmaskProc: true });
      expect(result).toEqual({ status: 0, output: '' });
    }, 60_000);

    it("the worker, started with the image's argv, ENV and USER, logs sandbox ready in bwrap mode and stops on SIGTERM", async () => {
      const image = imageEnv(dockerfile);
      const node = containerPath(process.execPath);
      const argv = containerArgv(dockerfile, compose.services.worker?.command);
      const { dir, id } = await bundle({
        args: [node, ...argv.slice(argv.indexOf('node') + 1)],
        env: {
          ...image,
          PATH: `${path.dirname(node)}:/usr/local/bin:/usr/bin:/bin`,
          HOME: '/home/node',
          ...h.appEnv(),
          // Inside the container the work dir is the image's own.
          AI_FIX_WORKDIR: image.AI_FIX_WORKDIR ?? '/var/lib/ai-fix',
        },
        seccomp: profile,
        unmaskProc: true,
        writable: { [image.AI_FIX_WORKDIR ?? '/var/lib/ai-fix']: workdir, '/home/node': home },
      });
      try {
        const worker = run(['runc', 'run', '--bundle', dir, id], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
        await waitFor('the worker', () => worker.output().includes('worker started') || worker.child.exitCode !== null, 30_000);
        expect(sandboxReadyLine(worker.output())).toContain('"mode":"bwrap"');
        expect(worker.output()).toContain('worker started');
        execFileSync('runc', ['kill', id, 'TERM']);
        expect(await worker.exited).toBe(0);
      } finally {
        spawnSync('runc', ['delete', '--force', id]);
        await fs.rm(dir, { recursive: true, force: true });
      }
    }, 90_000);
  });
});
