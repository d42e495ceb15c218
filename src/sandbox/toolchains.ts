import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isInside } from '../util/path-inside.ts';

// ai-fix's own install: its node_modules/.bin (npm scripts put it first on PATH) must not become
// the repository's jest or tsc, nor its Node the repository's Node.
const OWN_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Variables toolchains need by name (their values are paths and versions, never secrets). */
const TOOLCHAIN_VARIABLES = [
  'RUSTUP_HOME', 'RUSTUP_TOOLCHAIN', 'GOROOT', 'GOTOOLCHAIN', 'GOFLAGS', 'GOPROXY', 'GONOSUMDB', 'GOPRIVATE',
  'JAVA_HOME', 'MAVEN_HOME', 'M2_HOME', 'GRADLE_HOME', 'PYENV_ROOT', 'PYENV_VERSION', 'NVM_DIR', 'NVM_BIN', 'SDKMAN_DIR',
  'VOLTA_HOME', 'BUN_INSTALL', 'DENO_INSTALL',
  // Where the host's CA bundle is: package downloads through a TLS-inspecting proxy need it.
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'PIP_CERT', 'GIT_SSL_CAINFO',
];

/** Toolchain homes under the worker's home, found by name: shown to the box read-only. */
const HOME_TOOLCHAINS = ['.rustup', '.cargo', '.pyenv', '.nvm', '.sdkman', '.volta', '.bun', '.deno', '.local/bin', 'go/bin', 'sdk'];

export interface ToolchainView {
  /** Host directories a bwrap box sees read-only even inside a hidden directory. */
  exposed: string[];
  /** Toolchain directories other users cannot reach (a parent such as a 0700 home is closed). */
  unreachable: string[];
  /** The box's PATH and toolchain variables. */
  env: Record<string, string>;
}

/** Whether a user other than the owner can enter `dir` (every directory on the way has o+x). */
async function reachableByOthers(dir: string): Promise<boolean> {
  for (let at = dir; ; at = path.dirname(at)) {
    const { mode } = await fs.stat(at);
    if ((mode & 0o001) === 0) return false;
    if (at === path.dirname(at)) return true;
  }
}

async function realDir(dir: string): Promise<string | null> {
  try {
    const real = await fs.realpath(dir);
    return (await fs.stat(real)).isDirectory() ? real : null;
  } catch {
    return null;
  }
}

/**
 * What the box needs of the worker's toolchains wherever they were installed (Debian packages,
 * rustup, pyenv, nvm, sdkman, a Go under the home): PATH without ai-fix's own entries, the
 * toolchain variables, extra names from `passEnv`, and the home directories they live in.
 */
export async function toolchainView(host: { env: NodeJS.ProcessEnv; home: string; extraPaths?: string[]; passEnv?: string[]; otherUsers?: boolean }): Promise<ToolchainView> {
  const env: Record<string, string> = {};
  for (const name of [...TOOLCHAIN_VARIABLES, ...(host.passEnv ?? [])]) {
    const value = host.env[name];
    if (value) env[name] = value;
  }
  const pathDirs = (host.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((dir) => path.isAbsolute(dir) && !isInside(OWN_ROOT, path.resolve(dir)) && !/[/\\]node_modules[/\\]/.test(dir) && !dir.includes('node-gyp-bin'));
  const exposed = new Set<string>();
  const home = await realDir(host.home);
  const candidates = [
    ...(home ? HOME_TOOLCHAINS.map((name) => path.join(home, name)) : []),
    ...(host.extraPaths ?? []),
    ...['RUSTUP_HOME', 'PYENV_ROOT', 'NVM_DIR', 'SDKMAN_DIR', 'VOLTA_HOME', 'GOROOT', 'JAVA_HOME'].map((name) => env[name]).filter((v): v is string => !!v),
  ];
  for (const candidate of candidates) {
    const real = await realDir(candidate);
    if (real) exposed.add(real);
  }
  // A PATH directory inside the home that no known toolchain covers is shown by itself.
  for (const dir of pathDirs) {
    const real = await realDir(dir);
    if (real && home && isInside(home, real) && ![...exposed].some((e) => isInside(e, real))) exposed.add(real);
  }
  // Commands of a root worker run as other users, who cannot use what they cannot reach.
  const unreachable: string[] = [];
  if (host.otherUsers) {
    for (const dir of exposed) {
      if (await reachableByOthers(dir)) continue;
      exposed.delete(dir);
      unreachable.push(dir);
    }
  }
  // rustup's proxies and pyenv's shims find their toolchains here; the box's own home is empty.
  if (home && exposed.has(path.join(home, '.rustup'))) env.RUSTUP_HOME ??= path.join(home, '.rustup');
  if (home && exposed.has(path.join(home, '.pyenv'))) env.PYENV_ROOT ??= path.join(home, '.pyenv');
  env.PATH = pathDirs.join(':') || '/usr/local/bin:/usr/bin:/bin';
  return { exposed: [...exposed].sort(), unreachable, env };
}

const PROGRAMS: Array<[name: string, program: string, version: string]> = [
  ['node', 'node', 'node --version'],
  ['npm', 'npm', 'npm --version'],
  ['python3', 'python3', 'python3 --version'],
  // pip's own --version starts its whole CLI (half a second at every worker start); the module says the same.
  ['pip', 'python3', 'python3 -c "import pip; print(\'pip\', pip.__version__)"'],
  ['go', 'go', 'go version'],
  ['cargo', 'cargo', 'cargo --version'],
  ['rustc', 'rustc', 'rustc --version'],
  ['java', 'java', 'java -version 2>&1'],
  ['mvn', 'mvn', 'mvn -B -v'],
  ['gradle', 'gradle', 'gradle --version'],
  ['make', 'make', 'make --version'],
];

/** A script that prints `name<TAB>first line of its version` for each toolchain program the box finds. */
export function toolchainProbeScript(): string {
  const lines = PROGRAMS.map(
    ([name, program, version]) => `command -v ${program} >/dev/null 2>&1 && v="$(${version} 2>/dev/null | grep -m1 . | cut -c1-80)" && [ -n "$v" ] && printf '%s\\t%s\\n' ${name} "$v"`,
  );
  return [...lines, 'true'].join('\n');
}

export function parseToolchainProbe(output: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const [name, version] = line.split('\t');
    if (name && version && PROGRAMS.some(([p]) => p === name)) found[name] = version.trim();
  }
  return found;
}
