import fs from 'node:fs/promises';
import path from 'node:path';
import { isProtectedPath } from '../../security/protected-paths.ts';
import { isInside } from '../../util/path-inside.ts';
import { ToolInputError } from './tool.ts';

const MAX_LINKS = 40;

/**
 * Where a path really leads, following every link on the way, including dangling ones: writing
 * through a link to a file that does not exist yet would create it wherever the link points.
 */
async function followLinks(absolute: string, depth = 0): Promise<string> {
  if (depth > MAX_LINKS) throw new ToolInputError('too many levels of symbolic links');
  try {
    return await fs.realpath(absolute);
  } catch {
    // Missing, or a link whose target is missing.
  }
  const target = await fs.readlink(absolute).catch(() => null);
  if (target !== null) return followLinks(path.resolve(path.dirname(absolute), target), depth + 1);
  const parent = path.dirname(absolute);
  if (parent === absolute) return absolute;
  return path.join(await followLinks(parent, depth + 1), path.basename(absolute));
}

/**
 * Resolves a path the model gave into one inside the workspace, following symlinks, so neither
 * `../` nor a link planted by the repository reaches outside. `.git` is off limits: the worker
 * owns the repository metadata.
 */
export async function resolveInWorkspace(
  root: string,
  given: string,
  options: { write?: boolean; protectedPaths?: string[] } = {},
): Promise<{ absolute: string; relative: string; real: string }> {
  const absolute = path.resolve(root, given);
  const relative = path.relative(root, absolute);
  if (!isInside(root, absolute)) {
    throw new ToolInputError(`${given}: outside the repository; use a path relative to the repository root`);
  }
  const real = await followLinks(absolute);
  const realRelative = path.relative(root, real);
  if (!isInside(root, real)) {
    throw new ToolInputError(`${given}: resolves through a symbolic link to outside the repository`);
  }
  if ([relative, realRelative].some((p) => p.split(path.sep).includes('.git'))) {
    throw new ToolInputError(`${given}: the .git directory is managed by ai-fix and cannot be accessed`);
  }
  // Both the path as given and where it leads: a link inside the repository to a workflow file
  // is still the workflow file.
  const touched = [relative, realRelative].map((p) => p.split(path.sep).join('/'));
  if (options.write && relative && touched.some((p) => p && isProtectedPath(p, options.protectedPaths ?? []))) {
    throw new ToolInputError(`${given}: this path is protected by the repository's ai-fix configuration and cannot be changed`);
  }
  return { absolute, relative: relative || '.', real };
}
