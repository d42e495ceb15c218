import { describe, it, expect } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadEnv } from '../../src/config/env.ts';
import { dockerStages, finalStage, imageEnv, imageUser, lastArgs as lastArgsOf, readDockerfile, targetStage, type Instruction } from '../support/dockerfile.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: string | { context?: string; target?: string; dockerfile?: string };
  command?: string[] | string;
  container_name?: string;
  ports?: unknown[];
  env_file?: unknown;
  environment?: Record<string, string> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: unknown[];
  stop_grace_period?: string;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  privileged?: boolean;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const pkg = JSON.parse(read('package.json')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

function service(name: string): ComposeService {
  const svc = compose.services[name];
  if (svc === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return svc;
}

function environment(svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => entry.split(/=(.*)/s).slice(0, 2)));
}

function envFiles(svc: ComposeService): string[] {
  const files = Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
  return files.map((f) => (typeof f === 'string' ? f : (f as { path: string }).path));
}

const dockerfile = readDockerfile();
const lastArgs = (op: string): string => lastArgsOf(dockerfile, op);

/** The command each script of package.json runs: `node bin/ai-fix.js <command>` -> command. */
const scriptCommands = Object.values(pkg.scripts)
  .map((script) => /^node bin\/ai-fix\.js (\S+)$/.exec(script)?.[1])
  .filter((command): command is string => command !== undefined);

describe('docker-compose.yml', () => {
  it('defines redis, server and worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['redis', 'server', 'worker']);
  });

  it('runs Redis with AOF persistence and noeviction (BullMQ)', () => {
    const redis = service('redis');
    expect(redis.image).toBe('redis:7-alpine');
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : redis.command;
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    expect(redis.volumes?.length).toBeGreaterThan(0);
    expect(JSON.stringify(redis.healthcheck?.test)).toMatch(/redis-cli.*ping/);
  });

  it('runs the server and the worker from this image, against Redis', () => {
    for (const [name, command] of [
      ['server', 'serve'],
      ['worker', 'worker'],
    ] as const) {
      const svc = service(name);
      expect(svc.build).toBeDefined();
      expect(svc.command).toEqual([command]);
      expect(scriptCommands).toContain(command);
      expect(envFiles(svc)).toContain('.env');
      expect(environment(svc).REDIS_URL).toBe('redis://redis:6379');
      expect(svc.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    }
    expect(service('server').ports).toEqual(['3000:3000']);
  });

  it('keeps the worker scalable and gives it time to finish a job', () => {
    const worker = service('worker');
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.healthcheck?.disable).toBe(true);
    expect(worker.stop_grace_period).toBe('10m');
    // Docker's SIGKILL must come after the worker's own grace period (and its hand-back) is over.
    const minutes = Number(/^(\d+)m$/.exec(worker.stop_grace_period ?? '')?.[1]);
    expect(minutes * 60_000).toBeGreaterThan(loadEnv({}).shutdownGraceMs);
    // Workspaces must not be shared between workers.
    expect(JSON.stringify(worker.volumes ?? [])).not.toContain('/var/lib/ai-fix');
  });
});

describe("docker-compose.yml's confinement", () => {
  const relaxations = /^(seccomp|apparmor|systempaths|label)[=:]/;

  it('lets the worker create namespaces, mount inside them and mount a fresh /proc, for bubblewrap', () => {
    const worker = service('worker');
    const opts = worker.security_opt ?? [];
    expect(opts).toContain('seccomp=./deploy/seccomp/ai-fix-worker.json');
    expect(opts).toContain('apparmor=unconfined');
    expect(opts).toContain('systempaths=unconfined');
    // Compose reads the profile relative to the compose file and sends it to the engine.
    expect(existsSync(join(root, 'deploy/seccomp/ai-fix-worker.json'))).toBe(true);
  });

  it('gives the worker no capability, no privilege and no new privileges (bubblewrap needs none)', () => {
    const worker = service('worker');
    expect(worker.cap_drop).toEqual(['ALL']);
    expect(worker.cap_add).toBeUndefined();
    expect(worker.privileged).toBeUndefined();
    expect(worker.security_opt).toContain('no-new-privileges:true');
    expect(worker.security_opt?.some((o) => /^seccomp[=:]unconfined$/.test(o))).toBe(false);
  });

  it('keeps the runtime defaults for every other service', () => {
    const server = service('server');
    expect(server.cap_drop).toEqual(['ALL']);
    expect(server.security_opt).toEqual(['no-new-privileges:true']);
    for (const [name, svc] of Object.entries(compose.services).filter(([name]) => name !== 'worker')) {
      expect({ name, relaxed: (svc.security_opt ?? []).filter((o) => relaxations.test(o)), privileged: svc.privileged }).toEqual({ name, relaxed: [], privileged: undefined });
    }
  });
});

describe('deploy/seccomp/ai-fix-worker.json', () => {
  interface Rule {
    names: string[];
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; op: string }>;
    comment?: string;
  }
  const profile = JSON.parse(read('deploy/seccomp/ai-fix-worker.json')) as { defaultAction: string; defaultErrnoRet?: number; architectures: string[]; syscalls: Rule[] };
  const allowing = (name: string) => profile.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name));
  const allowedAlways = (name: string) => allowing(name).some((r) => !r.args?.length);

  it('uses only the OCI runtime spec\'s seccomp fields: no Docker-only conditions that other runtimes would drop', () => {
    expect(Object.keys(profile).sort()).toEqual(['architectures', 'defaultAction', 'defaultErrnoRet', 'syscalls']);
    for (const rule of profile.syscalls) {
      // Docker-only conditions (includes/excludes on capabilities or kernels) would be ignored by
      // the other runtimes, applying the rule to everyone.
      for (const key of Object.keys(rule)) expect(['names', 'action', 'errnoRet', 'args', 'comment']).toContain(key);
      expect(rule.names.length).toBeGreaterThan(0);
    }
    expect(profile.architectures).toEqual(expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']));
  });

  it('denies by default and allows what bubblewrap needs: clone and unshare with namespace flags, mount, umount2, pivot_root', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    for (const name of ['clone', 'unshare', 'mount', 'umount2', 'pivot_root']) expect({ name, always: allowedAlways(name) }).toEqual({ name, always: true });
    // clone3's flags cannot be filtered: ENOSYS makes the C library fall back to clone.
    expect(profile.syscalls.find((r) => r.names.includes('clone3'))).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    // What programs need every day stays allowed.
    for (const name of ['execve', 'openat', 'read', 'write', 'mmap', 'futex', 'wait4', 'prctl', 'capset', 'setsid', 'seccomp']) expect(allowedAlways(name)).toBe(true);
  });

  it("keeps Docker's denials for a container without capabilities", () => {
    const denied = [
      'add_key', 'keyctl', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'kexec_load', 'kexec_file_load',
      'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'swapoff', 'acct', 'settimeofday', 'clock_settime',
      'setns', 'chroot', 'open_by_handle_at', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree',
      'mount_setattr', 'quotactl', 'syslog', 'sethostname', 'setdomainname', 'iopl', 'ioperm', 'lookup_dcookie', 'kcmp',
      'pidfd_getfd', 'process_madvise', 'get_mempolicy', 'set_mempolicy', 'mbind', 'vhangup', 'nfsservctl', 'uselib', 'vm86',
    ];
    expect(denied.filter((name) => allowing(name).length > 0)).toEqual([]);
    // Conditional rules stay conditional: no AF_VSOCK sockets, only the usual personalities.
    expect(allowing('socket')).toEqual([expect.objectContaining({ args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] })]);
    expect(allowing('personality').every((r) => r.args?.length === 1 && r.args[0]?.op === 'SCMP_CMP_EQ')).toBe(true);
    expect(allowing('personality').map((r) => r.args?.[0]?.value)).toEqual([0, 8, 131072, 131080, 4294967295]);
  });
});

describe('Dockerfile', () => {
  it('is built from pinned Node 22 bookworm-slim stages', () => {
    const stages = dockerStages(dockerfile);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // Each stage starts from the pinned base or from a stage defined before it.
    for (const [at, { name, from }] of stages.entries()) {
      const base = stages.slice(0, at).some((s) => s.name === from) ? 'an earlier stage' : from;
      expect({ stage: name ?? at, base }).toEqual({ stage: name ?? at, base: expect.stringMatching(/^(node:22-bookworm-slim|an earlier stage)$/) });
    }
  });

  it('installs production dependencies only, without npm ci', () => {
    const runs = dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm install --omit=dev --ignore-scripts'))).toBe(true);
    expect(runs.some((r) => r.includes('npm ci'))).toBe(false);
  });

  it('runs bin/ai-fix.js under tini as the non-root node user', () => {
    expect(lastArgs('USER')).toBe('node');
    const entrypoint = JSON.parse(lastArgs('ENTRYPOINT')) as string[];
    expect(entrypoint).toEqual(['tini', '--', 'node', 'bin/ai-fix.js']);
    expect(entrypoint.slice(2).join(' ')).toBe(`node ${pkg.bin['ai-fix']}`);
  });

  it('defaults to a command that package.json scripts run', () => {
    const cmd = JSON.parse(lastArgs('CMD')) as string[];
    expect(cmd).toEqual(['start']);
    expect(pkg.scripts.start).toBe('node bin/ai-fix.js start');
    expect(scriptCommands).toContain(cmd[0]);
  });

  it('ships the files the app needs and exposes the HTTP port', () => {
    const copied = dockerfile
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .map((i) => i.args)
      .join(' ');
    for (const file of ['package.json', 'app.yml', 'bin', 'src']) expect(copied).toContain(file);
    expect(lastArgs('EXPOSE')).toBe('3000');
    expect(lastArgs('HEALTHCHECK')).toContain('/healthz');
  });

  it('installs git, CA certificates, tini and bubblewrap in the runtime image', () => {
    const installs = finalStage(dockerfile)
      .filter((i) => i.op === 'RUN' && i.args.includes('apt-get install'))
      .map((i) => i.args)
      .join(' ');
    for (const pkg of ['git', 'ca-certificates', 'tini', 'bubblewrap']) expect(installs.split(/\s+/)).toContain(pkg);
    expect(installs).toContain('--no-install-recommends');
    expect(installs).toContain('rm -rf /var/lib/apt/lists/*');
  });

  it("leaves bubblewrap as Debian installs it, not setuid: it works through the runtime user's own user namespaces", () => {
    const runs = finalStage(dockerfile).filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /chmod\s+(\S*\+s|[0-7]*[4-7][0-7]{3})\b/.test(r))).toBe(false);
    expect(lastArgs('USER')).not.toMatch(/^(root|0)(:|$)/);
  });

  it('gives the workspace directory to the runtime user', () => {
    const workdir = imageEnv(dockerfile).AI_FIX_WORKDIR ?? '';
    expect(workdir).toMatch(/^\//);
    const runs = finalStage(dockerfile).filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes(`mkdir -p ${workdir}`) && r.includes(`chown node:node ${workdir}`))).toBe(true);
  });
});

// The Debian packages each image variant installs, every name checked on a Debian 12 (bookworm)
// machine with `apt-get update && apt-cache policy <name>` (candidates on 2026-12-02 in brackets)
// and installed together with `apt-get install --no-install-recommends` into a bookworm root. A
// package added to the Dockerfile must be checked the same way and added here.
const SLIM_PACKAGES = [
  'git', // 1:2.39.5-0+deb12u3
  'ca-certificates', // 20250419~deb12u2
  'tini', // 0.19.0-1+b3
  'bubblewrap', // 0.8.0-2+deb12u1
];
const FULL_PACKAGES = [
  'build-essential', // 12.9 (gcc, g++, make, libc6-dev)
  'make', // 4.3-4.1
  'pkg-config', // 1.8.1-1
  'unzip', // 6.0-28+deb12u1
  'xz-utils', // 5.4.1-1+deb12u2
  'python3', // 3.11.2-1+b1
  'python3-dev', // 3.11.2-1+b1
  'python3-pip', // 23.0.1+dfsg-1
  'python3-venv', // 3.11.2-1+b1
  'python3-pytest', // 7.2.1-2
  'golang-go', // 2:1.19~1
  'rustc-web', // 1.96.0+dfsg1-1~deb12u2 (bookworm-security; 1.85 in bookworm); rustc is 1.63
  'cargo-web', // 1.96.0+dfsg1-1~deb12u2; cargo 0.66 cannot read a version 4 Cargo.lock
  'default-jdk-headless', // 2:1.17-74 (OpenJDK 17)
  'maven', // 3.8.7-1
  // Left out: gradle (4.4.1-18): it runs on JDK 17, but ignores build.gradle.kts and predates
  // every Gradle API of the last years; projects bring their own through ./gradlew.
];

/** The packages a stage's own RUN instructions install with apt-get. */
function aptPackages(instructions: Instruction[]): string[] {
  return instructions
    .filter((i) => i.op === 'RUN')
    .flatMap((i) => [...i.args.matchAll(/apt-get install ((?:\S+\s+)*?\S+)(?=\s*(?:&&|;|$))/g)].map((m) => m[1] ?? ''))
    .flatMap((args) => args.split(/\s+/).filter((word) => word !== '' && !word.startsWith('-')));
}

function stage(name: string) {
  const found = dockerStages(dockerfile).find((s) => s.name === name);
  if (found === undefined) throw new Error(`Dockerfile has no stage ${name}`);
  return found;
}

describe("Dockerfile's variants: slim (the default) and full", () => {
  it('has a slim and a full target, full built FROM slim, and builds slim by default', () => {
    const stages = dockerStages(dockerfile);
    expect(stages.map((s) => s.name)).toEqual(['deps', 'slim', 'full', undefined]);
    expect(stage('slim').from).toBe('node:22-bookworm-slim');
    expect(stage('full').from).toBe('slim');
    // A plain `docker build .` builds the last stage: slim itself, adding nothing.
    const last = stages.at(-1);
    expect(last?.from).toBe('slim');
    expect(last?.instructions.map((i) => i.op)).toEqual(['FROM']);
    expect(finalStage(dockerfile)).toEqual([...targetStage(dockerfile, 'slim'), ...(last?.instructions ?? [])]);
  });

  it('installs the checked Debian packages, without recommends, and cleans the apt lists', () => {
    expect(aptPackages(stage('slim').instructions).sort()).toEqual([...SLIM_PACKAGES].sort());
    expect(aptPackages(stage('full').instructions).sort()).toEqual([...FULL_PACKAGES].sort());
    for (const name of ['slim', 'full']) {
      const installs = stage(name).instructions.filter((i) => i.op === 'RUN' && i.args.includes('apt-get install'));
      expect(installs.length).toBe(1);
      for (const { args } of installs) {
        expect(args).toMatch(/apt-get update\s+&&/);
        expect(args).toContain('apt-get install -y --no-install-recommends');
        expect(args).toMatch(/&& rm -rf \/var\/lib\/apt\/lists\/\*$/);
      }
    }
  });

  it('gives full the toolchains of Python, Go, Rust and Java, and a C compiler', () => {
    const packages = aptPackages(stage('full').instructions);
    for (const toolchain of [['python3', 'python3-pip', 'python3-venv'], ['golang-go'], ['cargo-web', 'rustc-web'], ['default-jdk-headless', 'maven'], ['build-essential']]) {
      expect(packages).toEqual(expect.arrayContaining(toolchain));
    }
  });

  it('keeps the toolchains in system locations a bwrap box sees read-only, with caches under the home', () => {
    const runs = stage('full').instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    // Only Debian's packages: nothing downloaded by hand, nothing under /opt, /usr/local or a home.
    for (const run of runs) expect(run).not.toMatch(/\b(curl|wget|rustup|sdk|pyenv)\b|\/opt\/|\/usr\/local\/|~\/|\/home\//);
    expect(stage('full').instructions.filter((i) => ['COPY', 'ADD'].includes(i.op))).toEqual([]);
    // The openjdk package links its man pages into /usr/share/man/man1, which slim images lack.
    expect(runs.some((r) => /^mkdir -p \/usr\/share\/man\/man1 && /.test(r))).toBe(true);
    const env = imageEnv(dockerfile, 'full');
    expect(env.JAVA_HOME).toBe('/usr/lib/jvm/default-java');
    // Go's defaults ($HOME/go, $HOME/.cache/go-build) are the task's scratch home in a box.
    for (const name of ['GOPATH', 'GOCACHE', 'GOMODCACHE', 'CARGO_HOME', 'PIP_CACHE_DIR']) expect(env[name]).toBeUndefined();
  });

  it('runs full as slim runs: the non-root node user, the same command, environment and workspace', () => {
    expect(imageUser(dockerfile, 'full')).toEqual({ name: 'node', uid: 1000, gid: 1000 });
    expect(imageUser(dockerfile)).toEqual(imageUser(dockerfile, 'slim'));
    // root only for apt-get, then back to node.
    const users = stage('full').instructions.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users).toEqual(['root', 'node']);
    const ownOps = new Set(stage('full').instructions.map((i) => i.op));
    for (const op of ['ENTRYPOINT', 'CMD', 'HEALTHCHECK', 'WORKDIR', 'EXPOSE', 'VOLUME']) expect({ op, overridden: ownOps.has(op) }).toEqual({ op, overridden: false });
    const { JAVA_HOME, ...rest } = imageEnv(dockerfile, 'full');
    expect(JAVA_HOME).toBeDefined();
    expect(rest).toEqual(imageEnv(dockerfile, 'slim'));
  });
});

describe("docker-compose.yml's image variant", () => {
  const dockerTargets = new Set(dockerStages(dockerfile).flatMap((s) => (s.name ? [s.name] : [])));
  /** Compose's `${NAME:-default}` interpolation, for the forms the file uses. */
  const interpolate = (text: string, env: Record<string, string>) =>
    text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => env[name] || (fallback ?? ''));
  const build = (name: string) => {
    const value = service(name).build;
    if (typeof value !== 'object') throw new Error(`${name}.build names no target`);
    return value;
  };

  it('builds the worker from AI_FIX_IMAGE_TARGET, slim unless it says full', () => {
    const worker = build('worker');
    expect(worker.context).toBe('.');
    expect(worker.target).toBe('${AI_FIX_IMAGE_TARGET:-slim}');
    expect(interpolate(worker.target ?? '', {})).toBe('slim');
    expect(interpolate(worker.target ?? '', { AI_FIX_IMAGE_TARGET: 'full' })).toBe('full');
    for (const target of ['slim', 'full']) expect(dockerTargets.has(target)).toBe(true);
  });

  it('builds the server, which runs no agent commands, always from slim', () => {
    expect(build('server')).toEqual({ context: '.', target: 'slim' });
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('keeps secrets, local dependencies and non-runtime files out of the build context', () => {
    for (const entry of ['.env', '*.pem', 'node_modules', 'test/', 'deploy/']) expect(ignored).toContain(entry);
  });

  it('keeps what the image copies', () => {
    for (const entry of ['package.json', 'package-lock.json', 'app.yml', 'bin', 'src']) expect(ignored).not.toContain(entry);
  });
});
