import path from 'node:path';
import picomatch from 'picomatch';

// One glob dialect wherever ai-fix matches paths (protected_paths, tests, list_files, search's
// path_glob, workspace folders), from picomatch: `*` and `?` stay within a folder, `**` crosses folders (`**/` may
// match none), `[ab]` and `{a,b}` work, dot files match like any other file, and case counts, as
// it does for git and for GitHub. A pattern is relative to the repository root: `*.pem` matches
// at the root only, `**/*.pem` anywhere.
const OPTIONS: picomatch.PicomatchOptions = { dot: true };

export type PathMatcher = (relativePath: string) => boolean;

/** A matcher for slash-separated paths relative to the repository root. */
export function globMatcher(glob: string): PathMatcher {
  const match = picomatch(glob, OPTIONS);
  return (relativePath) => match(relativePath.replace(/^(?:\.\/)+/, ''));
}

/** Whether a pattern has wildcards (otherwise it names one path). */
export function hasWildcards(pattern: string): boolean {
  return picomatch.scan(pattern, OPTIONS).isGlob;
}

/**
 * The folder a glob lives in, up to its first wildcard (`.github/workflows` for
 * `.github/workflows/**`); for a plain path, the folder that holds it.
 */
export function globBase(glob: string): string {
  const scan = picomatch.scan(glob, OPTIONS);
  return scan.isGlob ? scan.base : path.posix.dirname(scan.base) === '.' ? '' : path.posix.dirname(scan.base);
}
