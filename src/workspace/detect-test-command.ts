import fs from 'node:fs/promises';
import path from 'node:path';

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

const NPM_PLACEHOLDER = /no test specified/;

/** The repository's test command when its config names none; null when none can be found. */
export async function detectTestCommand(dir: string): Promise<string | null> {
  const packageJson = path.join(dir, 'package.json');
  if (await exists(packageJson)) {
    try {
      const pkg = JSON.parse(await fs.readFile(packageJson, 'utf8')) as { scripts?: Record<string, string> };
      const test = pkg.scripts?.test;
      if (test && !NPM_PLACEHOLDER.test(test)) return 'npm test';
    } catch {
      // An unparsable package.json is the repository's problem; keep looking.
    }
  }
  for (const marker of ['pytest.ini', 'pyproject.toml', 'setup.cfg', 'tox.ini', 'conftest.py']) {
    if (await exists(path.join(dir, marker))) return 'python -m pytest -q';
  }
  if (await exists(path.join(dir, 'go.mod'))) return 'go test ./...';
  if (await exists(path.join(dir, 'Cargo.toml'))) return 'cargo test';
  const makefile = path.join(dir, 'Makefile');
  if ((await exists(makefile)) && /^test:/m.test(await fs.readFile(makefile, 'utf8'))) return 'make test';
  return null;
}
