// Paths the agent may not change: CI workflows always (they run with the repository's secrets
// and judge the agent's own change), plus the repository's `protected_paths` globs.
export const ALWAYS_PROTECTED = ['.github/workflows/**'];

export function protectedPathGlobs(configured: readonly string[]): string[] {
  return [...ALWAYS_PROTECTED, ...configured];
}

/** `*` stays within a path segment, `**` crosses them, and `**\/` may match no directory at all. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The directory a glob lives under, up to its first wildcard (`.github/workflows` for `.github/workflows/**`). */
function fixedDirectory(glob: string): string {
  const wildcard = glob.search(/[*?]/);
  const fixed = wildcard === -1 ? glob : glob.slice(0, wildcard);
  return fixed.includes('/') ? fixed.slice(0, fixed.lastIndexOf('/')) : '';
}

/**
 * True when changing `relative` (a slash-separated path from the repository root) touches a
 * protected path: it matches a glob, lies under a protected directory, or is a directory on
 * the way to one (replacing `.github` with a link would otherwise swap the workflows).
 */
export function isProtectedPath(relative: string, globs: readonly string[]): boolean {
  const path = relative.replace(/^\.\/+/, '').replace(/\/+$/, '');
  return globs.some((glob) => {
    const dir = fixedDirectory(glob);
    return globToRegExp(glob).test(path) || (dir !== '' && (path === dir || dir.startsWith(`${path}/`)));
  });
}
