import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type DetectOptions, detectTestCommand, findTestCommand, mentionedPaths, programProbe } from '../../src/workspace/detect-test-command.ts';

const dirs: string[] = [];
/** Files by relative path; `null` makes a directory; `{ link }` a symbolic link; `{ fifo }` a FIFO; `{ exec }` an executable. */
type Spec = string | null | { link: string } | { fifo: true } | { exec: string };
async function repoWith(files: Record<string, Spec>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-detect-'));
  dirs.push(dir);
  for (const [name, spec] of Object.entries(files)) {
    const file = path.join(dir, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    if (spec === null) await fs.mkdir(file, { recursive: true });
    else if (typeof spec === 'string') await fs.writeFile(file, spec);
    else if ('link' in spec) await fs.symlink(spec.link, file);
    else if ('fifo' in spec) execFileSync('mkfifo', [file]);
    else await fs.writeFile(file, spec.exec, { mode: 0o755 });
  }
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

// Tests say what the box has: every program unless told otherwise.
const everything = async () => true;
const without = (...missing: string[]) => async (program: string) => !missing.includes(program);
const detect = (dir: string, options: DetectOptions = {}) => detectTestCommand(dir, { has: everything, ...options });
const find = (dir: string, options: DetectOptions = {}) => findTestCommand(dir, { has: everything, ...options });

const script = (test: string, extra: Record<string, unknown> = {}) => JSON.stringify({ scripts: { test }, ...extra });
const PLACEHOLDER = 'echo "Error: no test specified" && exit 1';

describe('test command detection: Python', () => {
  it('runs pytest through python3 when pytest is configured', async () => {
    const pyproject = await repoWith({ 'pyproject.toml': '[project]\nname = "x"\n\n[tool.pytest.ini_options]\naddopts = "-ra"\n', 'tests/test_a.py': 'def test_a():\n    assert True\n' });
    expect(await find(pyproject)).toEqual({ command: 'python3 -m pytest', reason: '[tool.pytest.ini_options] in pyproject.toml' });
    expect(await detect(await repoWith({ 'pytest.ini': '[pytest]\n' }))).toBe('python3 -m pytest');
    expect(await detect(await repoWith({ 'setup.cfg': '[metadata]\nname = x\n[tool:pytest]\ntestpaths = tests\n' }))).toBe('python3 -m pytest');
    expect(await detect(await repoWith({ 'tox.ini': '[tox]\nenvlist = py3\n[pytest]\n' }))).toBe('python3 -m pytest');
    expect(await detect(await repoWith({ 'conftest.py': '' }))).toBe('python3 -m pytest');
    expect(await detect(await repoWith({ 'tests/conftest.py': '', 'tests/test_a.py': '' }))).toBe('python3 -m pytest');
    expect(await find(await repoWith({ 'tests/test_a.py': 'import pytest\n\ndef test_a():\n    pass\n' }))).toMatchObject({ command: 'python3 -m pytest', reason: 'tests/test_a.py imports pytest' });
  });

  it('uses python only when the box has no python3', async () => {
    const dir = await repoWith({ 'pytest.ini': '[pytest]\n' });
    expect(await detect(dir, { has: without('python3') })).toBe('python -m pytest');
    expect(await detect(dir, { has: without('python3', 'python') })).toBe('python3 -m pytest');
  });

  it('falls back to unittest discovery for tests without pytest', async () => {
    const unittest = 'import unittest\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n';
    // Without __init__.py, discovery from the top would find nothing.
    expect(await find(await repoWith({ 'pyproject.toml': '[project]\nname = "x"\n', 'tests/test_a.py': unittest }))).toEqual({ command: 'python3 -m unittest discover -s tests', reason: 'tests/ and no pytest configuration' });
    expect(await detect(await repoWith({ 'tests/__init__.py': '', 'tests/test_a.py': unittest }))).toBe('python3 -m unittest discover');
    expect(await detect(await repoWith({ 'test_a.py': unittest }))).toBe('python3 -m unittest discover');
    // A pyproject.toml alone is no test suite.
    expect(await detect(await repoWith({ 'pyproject.toml': '[project]\nname = "x"\n' }))).toBeNull();
  });
});

describe('test command detection: Node', () => {
  it('runs the test script with the package manager the lockfile names', async () => {
    expect(await detect(await repoWith({ 'package.json': script('jest') }))).toBe('npm test');
    expect(await find(await repoWith({ 'package.json': script('vitest run', { devDependencies: { vitest: '^3' } }), 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }))).toEqual({
      command: 'pnpm test',
      reason: 'pnpm-lock.yaml and a test script in package.json',
      install: 'pnpm install --frozen-lockfile',
    });
    expect(await detect(await repoWith({ 'package.json': script('jest'), 'yarn.lock': '# yarn lockfile v1\n' }))).toBe('yarn test');
    expect(await detect(await repoWith({ 'package.json': script('jest'), 'bun.lockb': '' }))).toBe('bun run test');
    expect(await detect(await repoWith({ 'package.json': script('jest'), 'package-lock.json': '{}' }))).toBe('npm test');
    expect(await find(await repoWith({ 'package.json': script('jest', { packageManager: 'yarn@4.5.0', devDependencies: { jest: '^30' } }) }))).toMatchObject({
      command: 'yarn test',
      reason: 'packageManager yarn@4 in package.json and a test script in package.json',
      install: 'yarn install --immutable',
    });
  });

  it('says nothing needs installing when node_modules is there', async () => {
    const found = await find(await repoWith({ 'package.json': script('jest', { devDependencies: { jest: '^30' } }), 'package-lock.json': '{}', node_modules: null }));
    expect(found).toEqual({ command: 'npm test', reason: 'package-lock.json and a test script in package.json' });
  });

  it('lets npm run the script when the named package manager is not on the box', async () => {
    const found = await find(await repoWith({ 'package.json': script('jest'), 'pnpm-lock.yaml': '' }), { has: without('pnpm') });
    expect(found).toMatchObject({ command: 'npm test', reason: expect.stringContaining('no pnpm here') });
  });

  it("ignores npm init's placeholder and says when there is none", async () => {
    expect(await detect(await repoWith({ 'package.json': script(PLACEHOLDER), 'package-lock.json': '{}' }))).toBeNull();
    expect(await detect(await repoWith({ 'package.json': '{"scripts":{"build":"tsc"}}' }))).toBeNull();
    expect(await detect(await repoWith({ 'package.json': '{not json' }))).toBeNull();
    expect(await detect(await repoWith({ 'README.md': 'hi' }))).toBeNull();
  });
});

describe('test command detection: Go, Rust, JVM, Make', () => {
  it('finds each ecosystem', async () => {
    expect(await detect(await repoWith({ 'go.mod': 'module example.com/x\n', 'x_test.go': 'package x\n' }))).toBe('go test ./...');
    expect(await detect(await repoWith({ 'Cargo.toml': '[package]\nname = "x"\n' }))).toBe('cargo test');
    expect(await find(await repoWith({ 'Cargo.toml': '[workspace]\nmembers = ["crates/*"]\n', 'crates/a/Cargo.toml': '[package]\nname = "a"\n' }))).toEqual({ command: 'cargo test --workspace', reason: 'a [workspace] in Cargo.toml' });
    expect(await find(await repoWith({ 'pom.xml': '<project/>', mvnw: { exec: '#!/bin/sh\n' } }))).toEqual({ command: './mvnw -q -B test', reason: 'pom.xml and mvnw' });
    expect(await detect(await repoWith({ 'pom.xml': '<project/>', mvnw: '#!/bin/sh\n' }))).toBe('sh mvnw -q -B test');
    expect(await detect(await repoWith({ 'pom.xml': '<project/>' }))).toBe('mvn -q -B test');
    expect(await detect(await repoWith({ 'build.gradle.kts': '', 'settings.gradle.kts': '', gradlew: { exec: '#!/bin/sh\n' } }))).toBe('./gradlew test');
    expect(await detect(await repoWith({ 'build.gradle': '' }))).toBe('gradle test');
    expect(await detect(await repoWith({ Makefile: 'build:\n\ttrue\ntest:\n\ttrue\n' }))).toBe('make test');
    expect(await detect(await repoWith({ Makefile: '.PHONY: all test\nall check test: build\n\ttrue\n' }))).toBe('make test');
    expect(await detect(await repoWith({ Makefile: 'test := yes\nbuild:\n\ttrue\n' }))).toBeNull();
  });

  it('prefers a test script over the other markers, and a language over make', async () => {
    expect(await detect(await repoWith({ 'package.json': script('jest'), 'pytest.ini': '', Makefile: 'test:\n\ttrue\n' }))).toBe('npm test');
    expect(await detect(await repoWith({ 'go.mod': 'module x\n', Makefile: 'test:\n\tdocker compose run tests\n' }))).toBe('go test ./...');
    expect(await detect(await repoWith({ Makefile: 'test:\n\ttrue\n', 'tests/test_a.py': '' }))).toBe('make test');
  });
});

describe('test command detection: monorepos', () => {
  const monorepo = {
    'package.json': '{"name":"root","private":true,"scripts":{"lint":"eslint ."}}',
    'pnpm-lock.yaml': '',
    'packages/api/package.json': script('vitest run'),
    'packages/web/package.json': script('jest'),
    'packages/web/src/x.ts': '',
    'docs/readme.md': '',
  };

  it('tests the project nearest to the paths the issue names', async () => {
    const dir = await repoWith(monorepo);
    const paths = mentionedPaths({ title: 'Crash in the web app', body: 'It throws in `packages/web/src/x.ts:12` (see https://example.com/packages/api/a.ts).' });
    expect(paths).toEqual(['packages/web/src/x.ts']);
    expect(await find(dir, { paths })).toEqual({ command: 'cd packages/web && pnpm test', reason: 'pnpm-lock.yaml and a test script in packages/web/package.json, nearest to packages/web/src/x.ts' });
    // A file that does not exist yet still leads to its project.
    expect(await detect(dir, { paths: ['packages/api/src/new-file.ts'] })).toBe('cd packages/api && pnpm test');
    // Paths in no project, or leaving the checkout, fall through to the rest.
    expect(await detect(dir, { paths: ['docs/readme.md', '../../etc/passwd', '/etc/passwd'] })).toBe('(cd packages/api && pnpm test) && (cd packages/web && pnpm test)');
  });

  it('tests the only project under the usual folders, one or two levels down', async () => {
    expect(await find(await repoWith({ 'services/api/go.mod': 'module api\n', 'services/README.md': '' }))).toEqual({ command: 'cd services/api && go test ./...', reason: 'services/api/go.mod, the only project below the root' });
    expect(await detect(await repoWith({ 'packages/@acme/core/package.json': script('jest'), 'yarn.lock': '' }))).toBe('cd packages/@acme/core && yarn test');
    expect(await detect(await repoWith({ 'apps/a/b/c/package.json': script('jest') }))).toBeNull();
  });

  it("runs a workspace root's workspace-aware command", async () => {
    const npm = await repoWith({
      'package.json': JSON.stringify({ private: true, workspaces: ['libs/*'] }),
      'package-lock.json': '{}',
      'libs/a/package.json': script('jest'),
      'libs/b/package.json': script('node --test'),
      'libs/c/package.json': '{}',
    });
    expect(await find(npm)).toEqual({ command: 'npm test --workspaces --if-present', reason: 'npm workspaces in package.json', install: 'npm ci' });
    const pnpm = await repoWith({ ...monorepo, 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n  - '!packages/skip'\n", node_modules: null });
    expect(await find(pnpm)).toEqual({ command: 'pnpm -r test', reason: 'pnpm workspaces in pnpm-workspace.yaml' });
    const yarn1 = await repoWith({ 'package.json': JSON.stringify({ workspaces: { packages: ['packages/*'] } }), 'yarn.lock': '# yarn lockfile v1\n', 'packages/a/package.json': script('jest'), 'packages/b/package.json': script('jest') });
    expect(await detect(yarn1)).toBe('(cd packages/a && yarn test) && (cd packages/b && yarn test)');
    const berry = await repoWith({ 'package.json': JSON.stringify({ workspaces: ['packages/*'] }), 'yarn.lock': '__metadata:\n  version: 8\n', 'packages/a/package.json': script('jest'), 'packages/b/package.json': script('jest') });
    expect(await detect(berry)).toBe('yarn workspaces foreach --all run test');
  });

  it('tests each module of a go.work, and a Cargo workspace at once', async () => {
    const go = await repoWith({ 'go.work': 'go 1.22\n\nuse (\n\t./tools/a // the CLI\n\t./tools/b\n)\n', 'tools/a/go.mod': 'module a\n', 'tools/b/go.mod': 'module b\n' });
    expect(await find(go)).toEqual({ command: '(cd tools/a && go test ./...) && (cd tools/b && go test ./...)', reason: 'the modules in go.work' });
    const cargo = await repoWith({ 'Cargo.toml': '[workspace]\nresolver = "2"\nmembers = ["crates/*"]\n', 'crates/a/Cargo.toml': '[package]\nname = "a"\n', 'crates/b/Cargo.toml': '[package]\nname = "b"\n' });
    expect(await detect(cargo, { paths: ['crates/b/src/lib.rs'] })).toBe('cargo test --workspace');
  });

  it('quotes directories the shell would read otherwise', async () => {
    expect(await detect(await repoWith({ "packages/it's here/go.mod": 'module x\n' }))).toBe(`cd 'packages/it'\\''s here' && go test ./...`);
  });
});

describe('test command detection: hostile checkouts', () => {
  it('never reads a package.json that is a link or a FIFO, and does not hang on one', async () => {
    expect(await detect(await repoWith({ 'package.json': { link: '/etc/passwd' } }))).toBeNull();
    expect(await detect(await repoWith({ 'package.json': { link: path.join(os.tmpdir(), 'nowhere', 'package.json') } }))).toBeNull();
    const fifo = await repoWith({ 'package.json': { fifo: true }, Makefile: { fifo: true }, 'pyproject.toml': { fifo: true } });
    const started = Date.now();
    expect(await detect(fifo)).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not follow directory links out of the checkout', async () => {
    const outside = await repoWith({ 'package.json': script('jest'), 'go.mod': 'module outside\n' });
    const dir = await repoWith({ 'packages/evil': { link: outside }, 'services/evil': { link: outside }, 'go.work': 'use ./packages/evil\n' });
    expect(await detect(dir, { paths: ['packages/evil/src/x.ts'] })).toBeNull();
    const nested = await repoWith({ packages: { link: path.join(outside, '..') } });
    expect(await detect(nested)).toBeNull();
  });

  it('looks at a bounded part of a large repository', async () => {
    const dir = await repoWith({ 'package.json': '{"private":true}', 'packages/p59/package.json': script('jest') });
    const many = (count: number, make: (i: number) => Promise<unknown>) => Promise.all(Array.from({ length: count }, (_, i) => make(i)));
    await many(5, async (d) => {
      await fs.mkdir(path.join(dir, 'src', `m${d}`), { recursive: true });
      await many(40, (f) => fs.writeFile(path.join(dir, 'src', `m${d}`, `f${f}.ts`), ''));
    });
    // More names than one listing takes: the markers are still found by name.
    await many(1100, (f) => fs.writeFile(path.join(dir, `r${f}.txt`), ''));
    await many(59, (p) => fs.mkdir(path.join(dir, 'packages', `p${p}`, 'lib', 'deep'), { recursive: true }));
    const started = Date.now();
    expect(await detect(dir, { paths: ['src/m1/f1.ts'] })).toBe('cd packages/p59 && npm test');
    // Detection reads a bounded number of directories, never the whole tree.
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('configured test commands', () => {
  const configured = [
    { path: 'packages/web/**', command: 'pnpm --filter web test' },
    { path: '**/*.py', command: 'tox -e py' },
  ];

  it('takes the first entry whose glob matches a named path, then `test`, then detection', async () => {
    const dir = await repoWith({ 'package.json': script('jest') });
    expect(await find(dir, { configured, test: 'make check', paths: ['README.md', 'packages/web/src/x.ts', 'tools/a.py'] })).toEqual({
      command: 'pnpm --filter web test',
      reason: '`tests` in .github/ai-fix.yml: packages/web/** matches packages/web/src/x.ts',
    });
    expect(await detect(dir, { configured, test: 'make check', paths: ['tools/a.py'] })).toBe('tox -e py');
    expect(await detect(dir, { configured, test: 'make check', paths: ['docs/a.md'] })).toBe('make check');
    expect(await detect(dir, { configured, paths: [] })).toBe('npm test');
  });
});

describe('helpers', () => {
  it('finds path-looking tokens in issue text', () => {
    expect(mentionedPaths('See ./src/a.ts, lib/b/c.py:10 and "apps/web/page.tsx".\nNot https://host/x/y.js, not 1.2 or foo.ts alone, not ../up/z.ts.')).toEqual(['src/a.ts', 'lib/b/c.py', 'apps/web/page.tsx']);
    expect(mentionedPaths({ title: 'a/b.ts', body: '', comments: [{ body: 'c/d.go and a/b.ts' }] })).toEqual(['a/b.ts', 'c/d.go']);
  });

  it('asks the box whether it has a program', async () => {
    const asked: string[] = [];
    const has = programProbe(async (command) => {
      asked.push(command);
      return { exitCode: command.includes('python3') ? 1 : 0 };
    });
    expect(await has('python3')).toBe(false);
    expect(await has('python')).toBe(true);
    expect(await has('rm -rf /')).toBe(false);
    expect(asked).toEqual(['command -v python3 >/dev/null 2>&1', 'command -v python >/dev/null 2>&1']);
    const pytest = await repoWith({ 'pytest.ini': '' });
    expect(await detectTestCommand(pytest, { has })).toBe('python -m pytest');
  });
});
