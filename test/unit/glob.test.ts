import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { globBase, globMatcher, hasWildcards } from '../../src/util/glob.ts';
import { isInside } from '../../src/util/path-inside.ts';

const matches = (glob: string, file: string) => `${glob} ~ ${file}: ${globMatcher(glob)(file)}`;

describe('the one glob dialect', () => {
  it('keeps * within a folder and lets ** cross folders, or none', () => {
    expect(matches('src/*.ts', 'src/a.ts')).toBe('src/*.ts ~ src/a.ts: true');
    expect(matches('src/*.ts', 'src/a/b.ts')).toBe('src/*.ts ~ src/a/b.ts: false');
    expect(matches('src/**/*.ts', 'src/a/b.ts')).toBe('src/**/*.ts ~ src/a/b.ts: true');
    expect(matches('src/**/*.ts', 'src/a.ts')).toBe('src/**/*.ts ~ src/a.ts: true');
    expect(matches('**/*.pem', 'key.pem')).toBe('**/*.pem ~ key.pem: true');
  });

  it('reads a pattern from the repository root: *.pem is the root only', () => {
    expect(matches('*.pem', 'key.pem')).toBe('*.pem ~ key.pem: true');
    expect(matches('*.pem', 'keys/key.pem')).toBe('*.pem ~ keys/key.pem: false');
  });

  it('matches dot files like any other, and counts case', () => {
    expect(matches('.github/**', '.github/workflows/ci.yml')).toBe('.github/** ~ .github/workflows/ci.yml: true');
    expect(matches('*.env', '.env')).toBe('*.env ~ .env: true');
    expect(matches('SRC/*.ts', 'src/a.ts')).toBe('SRC/*.ts ~ src/a.ts: false');
  });

  it('knows classes and braces, and ignores a leading ./ on the path', () => {
    expect(matches('src/[ab].ts', 'src/b.ts')).toBe('src/[ab].ts ~ src/b.ts: true');
    expect(matches('**/*.{js,ts}', 'lib/x.js')).toBe('**/*.{js,ts} ~ lib/x.js: true');
    expect(matches('src/*.ts', './src/a.ts')).toBe('src/*.ts ~ ./src/a.ts: true');
  });

  it('tells a glob from a plain path, and where a glob lives', () => {
    expect([hasWildcards('src/**'), hasWildcards('src/app.ts'), hasWildcards('a[1].txt')]).toEqual([true, false, true]);
    expect([globBase('.github/workflows/**'), globBase('src/*.ts'), globBase('config/prod.env'), globBase('**/*.pem'), globBase('deploy')]).toEqual(['.github/workflows', 'src', 'config', '', '']);
  });
});

describe('isInside', () => {
  const root = path.resolve('/work/repo');
  it('is true for the root and what lies below it, including names that start with two dots', () => {
    expect([isInside(root, root), isInside(root, path.join(root, 'a/b')), isInside(root, path.join(root, '..foo'))]).toEqual([true, true, true]);
  });
  it('is false for the parent, a sibling with the same prefix, and anything else', () => {
    expect([isInside(root, path.dirname(root)), isInside(root, `${root}-other/x`), isInside(root, path.join(root, '../x')), isInside(root, '/etc/passwd')]).toEqual([false, false, false, false]);
  });
});
