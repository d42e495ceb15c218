/** Where a task's progress comment id is kept, so the app, the worker and a retry edit one comment. */
export function progressKey(prefix: string, jobId: string): string {
  return `${prefix}:progress:${jobId}`;
}
