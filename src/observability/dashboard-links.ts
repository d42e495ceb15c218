// Dashboard paths, shared by the pages (served by the app) and the links the worker writes
// into progress comments and pull requests.
export const DASHBOARD_PATH = '/dashboard';

/** The task's page, under the public base URL (which may itself have a path). */
export function taskPageUrl(publicUrl: string, jobId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${DASHBOARD_PATH}/tasks/${encodeURIComponent(jobId)}`;
}
