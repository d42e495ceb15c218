import path from 'node:path';

/**
 * Whether `candidate` is `root` or lies below it (both absolute, already resolved as the caller
 * needs). `..name` is a name, not a step up.
 */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
