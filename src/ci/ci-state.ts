import type { Octokit } from '@octokit/core';

type Paginating = Octokit & { paginate: <T>(route: string, params: Record<string, unknown>) => Promise<T[]> };

export interface CiFailure {
  /** The check run's or status context's name. */
  name: string;
  conclusion: string;
  summary: string;
  annotations: Array<{ path: string; line: number; message: string }>;
  /** The failing job's log, when it is a GitHub Actions job (trimmed later). */
  log?: string;
  url?: string;
}

export interface CiState {
  /** Checks or statuses still queued or running. */
  pending: number;
  passed: number;
  failures: CiFailure[];
}

const FAILED = new Set(['failure', 'timed_out', 'cancelled', 'action_required', 'startup_failure']);

interface CheckRun {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  html_url?: string;
  details_url?: string;
  output?: { title?: string | null; summary?: string | null };
  app?: { slug?: string } | null;
}

/** Every check run and commit status of a commit, with what failed and why. */
export async function readCiState(octokit: Paginating, repo: { owner: string; repo: string }, sha: string, options: { withLogs?: boolean } = {}): Promise<CiState> {
  const runs = (await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { ...repo, ref: sha, per_page: 100 })).data.check_runs as CheckRun[];
  const combined = (await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/status', { ...repo, ref: sha })).data as {
    statuses: Array<{ context: string; state: string; description?: string | null; target_url?: string | null }>;
  };
  const state: CiState = { pending: 0, passed: 0, failures: [] };
  for (const run of runs) {
    if (run.status !== 'completed') {
      state.pending++;
      continue;
    }
    if (!FAILED.has(run.conclusion ?? '')) {
      state.passed++;
      continue;
    }
    const annotations = (
      await octokit.paginate<{ path: string; start_line: number; message: string; annotation_level: string }>('GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations', { ...repo, check_run_id: run.id, per_page: 50 })
    )
      .filter((a) => a.annotation_level === 'failure' || a.annotation_level === 'warning')
      .map((a) => ({ path: a.path, line: a.start_line, message: a.message }));
    state.failures.push({
      name: run.name,
      conclusion: run.conclusion ?? 'failure',
      summary: [run.output?.title, run.output?.summary].filter(Boolean).join('\n'),
      annotations,
      log: options.withLogs && run.app?.slug === 'github-actions' ? await jobLog(octokit, repo, run.id) : undefined,
      url: run.html_url ?? run.details_url,
    });
  }
  for (const status of combined.statuses) {
    if (status.state === 'pending') state.pending++;
    else if (status.state === 'success') state.passed++;
    else state.failures.push({ name: status.context, conclusion: status.state, summary: status.description ?? '', annotations: [], url: status.target_url ?? undefined });
  }
  return state;
}

/** A GitHub Actions job's log: the check run id is the job id. Unreadable logs are skipped. */
async function jobLog(octokit: Octokit, repo: { owner: string; repo: string }, jobId: number): Promise<string | undefined> {
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', { ...repo, job_id: jobId });
    return typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8');
  } catch {
    return undefined;
  }
}
