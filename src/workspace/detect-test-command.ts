import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { globMatcher } from '../util/glob.ts';
import { shellQuote } from '../util/shell-quote.ts';
import { directoriesToward, expandDirectoryGlobs, type EntryKind, isDir, isExecutable, isFile, join, type Layout, list, openLayout, readText, safeRelative } from './project-layout.ts';

export { mentionedPaths } from './project-layout.ts';

export interface TestCommand {
  /** Run from the repository root (`cd <dir> && …` when the project is below it). */
  command: string;
  /** One short phrase saying why, for logs and the progress comment. */
  reason: string;
  /** What would install the project's dependencies when they are not installed yet (Node only). */
  install?: string;
}

export interface DetectOptions {
  /** Paths the task names (see `mentionedPaths`): the project nearest to them is tested. */
  paths?: readonly string[];
  /** Whether the box can run a program; absent, the worker's own PATH is asked. */
  has?: (program: string) => Promise<boolean>;
  /** `tests` from .github/ai-fix.yml: the first glob matching one of `paths` wins. */
  configured?: ReadonlyArray<{ path: string; command: string }>;
  /** `test` from .github/ai-fix.yml: used when no `configured` glob matches, instead of detecting. */
  test?: string;
}

/** The repository's test command: configured, else detected; null when none can be found. */
export async function detectTestCommand(dir: string, options: DetectOptions = {}): Promise<string | null> {
  return (await findTestCommand(dir, options))?.command ?? null;
}

/** `detectTestCommand` with the reason for its choice. */
export async function findTestCommand(dir: string, options: DetectOptions = {}): Promise<TestCommand | null> {
  const paths = (options.paths ?? []).map(safeRelative).filter((p): p is string => !!p).slice(0, 20);
  for (const entry of options.configured ?? []) {
    const hit = paths.find(globMatcher(entry.path));
    if (hit) return { command: entry.command, reason: `\`tests\` in .github/ai-fix.yml: ${entry.path} matches ${hit}` };
  }
  if (options.test) return { command: options.test, reason: '`test` in .github/ai-fix.yml' };

  const layout = openLayout(dir);
  const has = remembered(options.has ?? onWorkerPath);
  const root = await projectCommand(layout, '', has);
  if (root) return { command: root.command, reason: root.reason, ...(root.install ? { install: root.install } : {}) };

  const near = new Map<string, Project & { path: string }>();
  for (const file of paths) {
    for (const candidate of await directoriesToward(layout, file)) {
      const found = near.get(candidate) ?? (await projectCommand(layout, candidate, has));
      if (found) {
        if (!near.has(candidate)) near.set(candidate, { ...found, path: file });
        break;
      }
    }
  }
  if (near.size > 0) {
    const chosen = [...near.values()];
    const [only] = chosen;
    if (chosen.length === 1 && only) return inDirectory(only, `, nearest to ${only.path}`);
    return chain(chosen, `the projects holding ${chosen.map((p) => p.path).join(', ')}`);
  }

  const workspace = await workspaceOf(layout, has);
  const projects: Project[] = [];
  for (const candidate of await projectDirectories(layout, workspace?.members ?? [])) {
    const found = await projectCommand(layout, candidate, has);
    if (found) projects.push(found);
    if (projects.length > MAX_PROJECTS) break;
  }
  const [only] = projects;
  if (projects.length === 1 && only) return inDirectory(only, `, the only project below the root`);
  if (workspace) {
    const members = projects.filter((p) => workspace.members.includes(p.dir) && p.ecosystem === workspace.ecosystem);
    if (members.length > 0 && workspace.command) return { command: workspace.command, reason: workspace.reason, ...(workspace.install ? { install: workspace.install } : {}) };
    if (members.length > 0 && members.length <= MAX_PROJECTS) return chain(members, workspace.reason);
  }
  if (projects.length > 1 && projects.length <= MAX_PROJECTS) return chain(projects, `every project below the root (${projects.map((p) => p.dir).join(', ')})`);
  return null;
}

/**
 * Asks the box whether it can run a program (`command -v`): the box may not see what the worker
 * sees. When the box cannot be asked, the program is taken to be there.
 */
export function programProbe(run: (command: string) => Promise<{ exitCode: number | null }>): (program: string) => Promise<boolean> {
  return async (program) => {
    if (!/^[\w.+-]+$/.test(program)) return false;
    return run(`command -v ${program} >/dev/null 2>&1`).then(
      (result) => result.exitCode === 0,
      () => true,
    );
  };
}

async function onWorkerPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    if (await fs.access(path.join(dir, program), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

type Has = (program: string) => Promise<boolean>;

function remembered(has: Has): Has {
  const answers = new Map<string, Promise<boolean>>();
  return (program) => {
    let answer = answers.get(program);
    if (!answer) answers.set(program, (answer = has(program).catch(() => true)));
    return answer;
  };
}

// More than this many projects and a combined command gets unwieldy: the repository should say.
const MAX_PROJECTS = 12;

type Ecosystem = 'node' | 'python' | 'go' | 'rust' | 'maven' | 'gradle' | 'make';

interface Project extends TestCommand {
  /** Where the command runs, from the root ('' for the root itself). */
  dir: string;
  ecosystem: Ecosystem;
}

function inDirectory(project: Project, why: string): TestCommand {
  return { command: `cd ${shellQuote(project.dir)} && ${project.command}`, reason: `${project.reason}${why}`, ...(project.install ? { install: project.install } : {}) };
}

function chain(projects: Project[], reason: string): TestCommand {
  return { command: projects.map((p) => `(cd ${shellQuote(p.dir)} && ${p.command})`).join(' && '), reason };
}

async function projectCommand(layout: Layout, dir: string, has: Has): Promise<Project | null> {
  const entries = await list(layout, dir);
  if (!entries) return null;
  return (
    (await nodeProject(layout, dir, entries, has)) ??
    (await pytestProject(layout, dir, entries, has)) ??
    (entries.get('go.mod') === 'file' ? { dir, ecosystem: 'go', command: 'go test ./...', reason: join(dir, 'go.mod') } : null) ??
    (await cargoProject(layout, dir, entries)) ??
    (await jvmProject(layout, dir, entries)) ??
    (await makeProject(layout, dir, entries)) ??
    (await unittestProject(layout, dir, entries, has))
  );
}

// ---- Node -------------------------------------------------------------------------------------

interface PackageJson {
  scripts?: Record<string, unknown>;
  packageManager?: unknown;
  workspaces?: unknown;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
}

async function readPackageJson(layout: Layout, rel: string): Promise<PackageJson | null> {
  const text = await readText(layout, rel);
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed) : null;
  } catch {
    // An unparsable package.json is the repository's problem; keep looking.
    return null;
  }
}

const NPM_PLACEHOLDER = /no test specified/;

type PackageManager = 'npm' | 'pnpm' | 'yarn' | 'bun';

const LOCKFILES: Array<[string, PackageManager]> = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];

interface ManagerChoice {
  name: PackageManager;
  /** What named it: a lockfile, the `packageManager` field, or nothing. */
  evidence: string;
  /** Where the lockfile (or the field) is: the install runs there. */
  at: string;
  lockfile?: string;
  major?: number;
}

function ancestors(dir: string): string[] {
  const out = [dir];
  while (out.at(-1)) {
    const parent = path.posix.dirname(out.at(-1) ?? '');
    out.push(parent === '.' ? '' : parent);
  }
  return out;
}

/** The package manager of the project at `dir`: the nearest `packageManager` field or lockfile up to the root. */
async function packageManagerOf(layout: Layout, dir: string, pkg: PackageJson | null): Promise<ManagerChoice> {
  for (const at of ancestors(dir)) {
    const manifest = at === dir ? pkg : await readPackageJson(layout, join(at, 'package.json'));
    const field = typeof manifest?.packageManager === 'string' ? /^(npm|pnpm|yarn|bun)@(\d+)?/.exec(manifest.packageManager) : null;
    if (field?.[1]) return { name: field[1] as PackageManager, evidence: `packageManager ${field[0]} in ${join(at, 'package.json')}`, at, major: field[2] ? Number(field[2]) : undefined };
    for (const [file, name] of LOCKFILES) {
      if (await isFile(layout, join(at, file))) return { name, evidence: join(at, file), at, lockfile: file };
    }
  }
  return { name: 'npm', evidence: 'no lockfile', at: dir };
}

async function isYarnBerry(layout: Layout, choice: ManagerChoice): Promise<boolean> {
  if (choice.major !== undefined) return choice.major >= 2;
  if (await isFile(layout, join(choice.at, '.yarnrc.yml'))) return true;
  return /^__metadata:/m.test((await readText(layout, join(choice.at, 'yarn.lock'), 64 * 1024 * 1024)) ?? '');
}

async function installCommand(layout: Layout, choice: ManagerChoice): Promise<string> {
  const install = {
    npm: choice.lockfile ? 'npm ci' : 'npm install',
    pnpm: 'pnpm install --frozen-lockfile',
    yarn: (await isYarnBerry(layout, choice)) ? 'yarn install --immutable' : 'yarn install --frozen-lockfile',
    bun: 'bun install --frozen-lockfile',
  }[choice.name];
  return choice.at ? `cd ${shellQuote(choice.at)} && ${install}` : install;
}

/** The manager to run scripts with: npm runs a script just as well when the named one is missing. */
async function runner(choice: ManagerChoice, has: Has): Promise<PackageManager> {
  if (choice.name === 'npm' || (await has(choice.name)) || !(await has('npm'))) return choice.name;
  return 'npm';
}

function hasDependencies(pkg: PackageJson): boolean {
  return Object.keys(pkg.dependencies ?? {}).length + Object.keys(pkg.devDependencies ?? {}).length > 0;
}

async function nodeProject(layout: Layout, dir: string, entries: Map<string, EntryKind>, has: Has): Promise<Project | null> {
  if (entries.get('package.json') !== 'file') return null;
  const manifest = join(dir, 'package.json');
  const pkg = await readPackageJson(layout, manifest);
  const script = pkg?.scripts?.test;
  if (!pkg || typeof script !== 'string' || !script.trim() || NPM_PLACEHOLDER.test(script)) return null;
  const choice = await packageManagerOf(layout, dir, pkg);
  const pm = await runner(choice, has);
  const project: Project = {
    dir,
    ecosystem: 'node',
    command: pm === 'bun' ? 'bun run test' : `${pm} test`, // `bun test` is bun's own runner, not the script
    reason: `${choice.evidence} and a test script in ${manifest}${pm === choice.name ? '' : ` (no ${choice.name} here, so npm runs it)`}`,
  };
  const installed = (await isDir(layout, join(dir, 'node_modules'))) || (await isDir(layout, join(choice.at, 'node_modules')));
  if (!installed && hasDependencies(pkg)) project.install = await installCommand(layout, choice);
  return project;
}

// ---- Python -----------------------------------------------------------------------------------

async function python(has: Has): Promise<string> {
  return (await has('python3')) || !(await has('python')) ? 'python3' : 'python';
}

const TEST_FILE = /^(?:test_.*|.*_test)\.py$/;

async function testFiles(layout: Layout, dir: string, entries: Map<string, EntryKind>): Promise<string[]> {
  const files = [...entries].filter(([name, kind]) => kind === 'file' && TEST_FILE.test(name)).map(([name]) => join(dir, name));
  for (const sub of ['tests', 'test']) {
    if (entries.get(sub) !== 'dir') continue;
    for (const [name, kind] of (await list(layout, join(dir, sub))) ?? []) {
      if (kind === 'file' && (TEST_FILE.test(name) || name === 'conftest.py')) files.push(join(dir, sub, name));
    }
  }
  return files;
}

async function pytestEvidence(layout: Layout, dir: string, entries: Map<string, EntryKind>): Promise<string | null> {
  const at = (name: string) => join(dir, name);
  if (entries.get('pytest.ini') === 'file') return at('pytest.ini');
  const pyproject = entries.get('pyproject.toml') === 'file' ? ((await readText(layout, at('pyproject.toml'))) ?? '') : '';
  if (/^\[tool\.pytest(?:\.ini_options)?\]/m.test(pyproject)) return `[tool.pytest.ini_options] in ${at('pyproject.toml')}`;
  if (entries.get('setup.cfg') === 'file' && /^\[tool:pytest\]/m.test((await readText(layout, at('setup.cfg'))) ?? '')) return `[tool:pytest] in ${at('setup.cfg')}`;
  if (entries.get('tox.ini') === 'file' && /^\[pytest\]/m.test((await readText(layout, at('tox.ini'))) ?? '')) return `[pytest] in ${at('tox.ini')}`;
  if (entries.get('conftest.py') === 'file') return at('conftest.py');
  const files = await testFiles(layout, dir, entries);
  if (files.some((f) => f.endsWith('/conftest.py'))) return files.find((f) => f.endsWith('/conftest.py')) ?? null;
  for (const file of files.slice(0, 30)) {
    if (/^\s*(?:import pytest\b|from pytest\b)/m.test((await readText(layout, file, 256 * 1024)) ?? '')) return `${file} imports pytest`;
  }
  return null;
}

async function pytestProject(layout: Layout, dir: string, entries: Map<string, EntryKind>, has: Has): Promise<Project | null> {
  const evidence = await pytestEvidence(layout, dir, entries);
  return evidence ? { dir, ecosystem: 'python', command: `${await python(has)} -m pytest`, reason: evidence } : null;
}

async function unittestProject(layout: Layout, dir: string, entries: Map<string, EntryKind>, has: Has): Promise<Project | null> {
  const files = await testFiles(layout, dir, entries);
  const inTests = ['tests', 'test'].find((sub) => files.some((f) => f.startsWith(`${join(dir, sub)}/`)));
  const atTop = files.some((f) => path.posix.dirname(f) === (dir || '.'));
  if (!inTests && !atTop) return null;
  // Discovery from the top only enters packages: a tests/ without __init__.py must be the start.
  const fromTop = atTop || (inTests && (await isFile(layout, join(dir, inTests, '__init__.py'))));
  const command = `${await python(has)} -m unittest discover${fromTop ? '' : ` -s ${inTests}`}`;
  const where = inTests ? `${join(dir, inTests)}/` : `test files in ${dir || 'the root'}`;
  return { dir, ecosystem: 'python', command, reason: `${where} and no pytest configuration` };
}

// ---- Rust, JVM, Make --------------------------------------------------------------------------

async function cargoProject(layout: Layout, dir: string, entries: Map<string, EntryKind>): Promise<Project | null> {
  if (entries.get('Cargo.toml') !== 'file') return null;
  const manifest = join(dir, 'Cargo.toml');
  const workspace = /^\[workspace\]/m.test((await readText(layout, manifest)) ?? '');
  return workspace
    ? { dir, ecosystem: 'rust', command: 'cargo test --workspace', reason: `a [workspace] in ${manifest}` }
    : { dir, ecosystem: 'rust', command: 'cargo test', reason: manifest };
}

async function wrapper(layout: Layout, dir: string, name: string): Promise<string> {
  return (await isExecutable(layout, join(dir, name))) ? `./${name}` : `sh ${name}`;
}

async function jvmProject(layout: Layout, dir: string, entries: Map<string, EntryKind>): Promise<Project | null> {
  if (entries.get('pom.xml') === 'file') {
    const mvnw = entries.get('mvnw') === 'file';
    const command = `${mvnw ? await wrapper(layout, dir, 'mvnw') : 'mvn'} -q -B test`;
    return { dir, ecosystem: 'maven', command, reason: `${join(dir, 'pom.xml')}${mvnw ? ' and mvnw' : ''}` };
  }
  const build = ['build.gradle', 'build.gradle.kts', 'settings.gradle', 'settings.gradle.kts'].find((name) => entries.get(name) === 'file');
  if (build) {
    const gradlew = entries.get('gradlew') === 'file';
    return { dir, ecosystem: 'gradle', command: `${gradlew ? await wrapper(layout, dir, 'gradlew') : 'gradle'} test`, reason: `${join(dir, build)}${gradlew ? ' and gradlew' : ''}` };
  }
  return null;
}

// A `test` target, alone or among others on the line; `test := …` is a variable.
const MAKE_TEST_TARGET = /^(?:[^\s:#=]+[ \t]+)*test(?:[ \t]+[^\s:#=]+)*[ \t]*::?(?!=)/m;

async function makeProject(layout: Layout, dir: string, entries: Map<string, EntryKind>): Promise<Project | null> {
  for (const name of ['GNUmakefile', 'makefile', 'Makefile']) {
    if (entries.get(name) !== 'file') continue;
    if (MAKE_TEST_TARGET.test((await readText(layout, join(dir, name))) ?? '')) return { dir, ecosystem: 'make', command: 'make test', reason: `a test target in ${join(dir, name)}` };
    return null; // make reads only the first of these names
  }
  return null;
}

// ---- Monorepos --------------------------------------------------------------------------------

const MONOREPO_FOLDERS = ['packages', 'apps', 'services', 'crates'];

interface Workspace {
  ecosystem: Ecosystem;
  members: string[];
  /** The manager's own command over every member; absent: one command per member. */
  command?: string;
  reason: string;
  install?: string;
}

/** The root's workspace declaration: npm, pnpm, yarn or bun workspaces, or a go.work. */
async function workspaceOf(layout: Layout, has: Has): Promise<Workspace | null> {
  const pkg = await readPackageJson(layout, 'package.json');
  const declared = Array.isArray(pkg?.workspaces) ? pkg.workspaces : (pkg?.workspaces as { packages?: unknown } | undefined)?.packages;
  let globs = Array.isArray(declared) ? declared.filter((g): g is string => typeof g === 'string') : null;
  let source = 'package.json';
  if (!globs) {
    const yaml = await readText(layout, 'pnpm-workspace.yaml');
    if (yaml !== null) {
      globs = pnpmWorkspaceGlobs(yaml);
      source = 'pnpm-workspace.yaml';
    }
  }
  if (globs) {
    const choice = await packageManagerOf(layout, '', pkg);
    const pm = await runner(choice, has);
    const members = await expandDirectoryGlobs(layout, globs);
    const command =
      pm !== choice.name ? undefined
      : pm === 'npm' ? (source === 'package.json' ? 'npm test --workspaces --if-present' : undefined)
      : pm === 'pnpm' ? 'pnpm -r test' // skips members without the script
      : pm === 'bun' ? `bun run --filter '*' test`
      : (await isYarnBerry(layout, choice)) ? 'yarn workspaces foreach --all run test'
      : undefined; // yarn 1 fails on a member without the script: one command per member
    const install = (await isDir(layout, 'node_modules')) ? undefined : await installCommand(layout, choice);
    return { ecosystem: 'node', members, command, reason: `${choice.name} workspaces in ${source}`, install };
  }
  const goWork = await readText(layout, 'go.work');
  if (goWork !== null) {
    const uses = goWorkModules(goWork).map(safeRelative).filter((m): m is string => !!m);
    return { ecosystem: 'go', members: uses, reason: 'the modules in go.work' };
  }
  return null;
}

function pnpmWorkspaceGlobs(text: string): string[] {
  try {
    const packages: unknown = (parseYaml(text) as { packages?: unknown } | null)?.packages;
    return Array.isArray(packages) ? packages.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

function goWorkModules(goWork: string): string[] {
  const text = goWork.replace(/\/\/.*$/gm, '');
  const out: string[] = [];
  for (const match of text.matchAll(/^use[ \t]*\(([\s\S]*?)\)/gm)) out.push(...(match[1] ?? '').split(/\s+/).filter(Boolean));
  for (const match of text.matchAll(/^use[ \t]+([^\s(]+)/gm)) if (match[1]) out.push(match[1]);
  return out.map((m) => m.replace(/^"(.*)"$/, '$1'));
}

/** Workspace members, then what sits one or two levels under the usual monorepo folders. */
async function projectDirectories(layout: Layout, members: readonly string[]): Promise<string[]> {
  const found = new Set(members.filter((m) => m !== ''));
  for (const folder of MONOREPO_FOLDERS) {
    for (const [name, kind] of (await list(layout, folder)) ?? []) {
      if (kind !== 'dir' || name.startsWith('.') || name === 'node_modules') continue;
      const child = join(folder, name);
      found.add(child);
      const grandchildren = (await list(layout, child)) ?? new Map<string, EntryKind>();
      if (hasProjectMarker(grandchildren)) continue;
      for (const [inner, innerKind] of grandchildren) {
        if (innerKind === 'dir' && !inner.startsWith('.') && inner !== 'node_modules') found.add(join(child, inner));
      }
    }
  }
  return [...found];
}

const PROJECT_MARKERS = ['package.json', 'pyproject.toml', 'setup.py', 'setup.cfg', 'go.mod', 'Cargo.toml', 'pom.xml', 'build.gradle', 'build.gradle.kts', 'Makefile'];

function hasProjectMarker(entries: Map<string, EntryKind>): boolean {
  return PROJECT_MARKERS.some((name) => entries.get(name) === 'file');
}
