import { describe, expect, it } from '@jest/globals';
import { isProtectedPath, protectedPathGlobs } from '../../src/security/protected-paths.ts';

describe('protected paths', () => {
  const globs = protectedPathGlobs(['deploy/**', '**/*.pem', 'config/prod.env', 'scripts/*.sh']);

  it('always protects the CI workflows, and adds the configured globs', () => {
    expect(protectedPathGlobs([])).toEqual(['.github/workflows/**']);
    for (const path of ['.github/workflows/ci.yml', '.github/workflows/nested/x.yml', 'deploy/k8s/app.yaml', 'key.pem', 'a/b/c.pem', 'config/prod.env', 'scripts/release.sh']) {
      expect(`${path}: ${isProtectedPath(path, globs)}`).toBe(`${path}: true`);
    }
  });

  it('protects the directories on the way, so a link cannot replace them', () => {
    for (const path of ['.github', '.github/workflows', 'deploy', 'config', 'scripts']) {
      expect(`${path}: ${isProtectedPath(path, globs)}`).toBe(`${path}: true`);
    }
  });

  it('protects what lies inside a folder that a glob names, however the path is spelled', () => {
    const named = protectedPathGlobs(['secrets', 'infra/*']);
    for (const path of ['secrets/prod.key', 'infra/db/schema.sql', './.github/workflows/ci.yml', 'src/../.github/workflows/ci.yml', '.github//workflows/ci.yml']) {
      expect(`${path}: ${isProtectedPath(path, named)}`).toBe(`${path}: true`);
    }
  });

  it('counts case, as GitHub does: .GITHUB/workflows is not where Actions reads workflows', () => {
    expect(isProtectedPath('.GITHUB/workflows/ci.yml', globs)).toBe(false);
    expect(isProtectedPath('Deploy/app.yaml', globs)).toBe(false);
  });

  it('leaves everything else alone', () => {
    for (const path of ['.github/dependabot.yml', '.github/ISSUE_TEMPLATE/bug.md', 'src/workflows.ts', 'deployment.md', 'config/dev.env', 'scripts/sub/x.sh', 'pem.txt']) {
      expect(`${path}: ${isProtectedPath(path, globs)}`).toBe(`${path}: false`);
    }
  });
});
