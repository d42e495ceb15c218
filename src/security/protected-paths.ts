import path from 'node:path';
import { globBase, globMatcher } from '../util/glob.ts';

// Paths the agent may not change: CI workflows always (they run with the repository's secrets
// and judge the agent's own change), plus the repository's `protected_paths` globs.
export const ALWAYS_PROTECTED = ['.github/workflows/**'];

export function protectedPathGlobs(configured: readonly string[]): string[] {
  return [...ALWAYS_PROTECTED, ...configured];
}

/**
 * True when changing `relative` (a slash-separated path from the repository root) touches a
 * protected path: it matches a glob, lies inside a folder that matches one, or is a folder on
 * the way to one (replacing `.github` with a link would otherwise swap the workflows).
 */
export function isProtectedPath(relative: string, globs: readonly string[]): boolean {
  const normalised = path.posix.normalize(relative.replace(/^(?:\.\/)+/, '')).replace(/\/+$/, '');
  const ancestors = normalised.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  return globs.some((glob) => {
    const matches = globMatcher(glob);
    const base = globBase(glob);
    return ancestors.some(matches) || (base !== '' && (normalised === base || base.startsWith(`${normalised}/`)));
  });
}
