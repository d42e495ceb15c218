import type { AppIdentity, InstallationOctokit } from './installation-client.ts';

export interface CommitIdentity {
  name: string;
  email: string;
}

// The app's slug and its bot user's id never change while a process runs: looked up once per
// app identity (one per process), so a task costs no extra GitHub reads. A failed lookup is
// forgotten, so the next task asks again.
const known = new WeakMap<AppIdentity, Promise<{ slug: string; id: number }>>();

async function lookUpBot(octokit: InstallationOctokit): Promise<{ slug: string; id: number }> {
  // `GET /app` is answered for the app's JWT, which the installation client sends for it.
  const { data: app } = await octokit.request('GET /app');
  const slug = app?.slug;
  if (!slug) throw new Error('GitHub did not say what the app is called (GET /app has no slug)');
  const { data: user } = await octokit.request('GET /users/{username}', { username: `${slug}[bot]` });
  return { slug, id: Number(user.id) };
}

/**
 * Whom ai-fix's commits are by: the app's bot user, whose noreply address GitHub links to the
 * bot by its user id, on the host name of the GitHub instance (never a port).
 */
export async function botCommitIdentity(octokit: InstallationOctokit, app: AppIdentity, gitUrl: string): Promise<CommitIdentity> {
  let lookup = known.get(app);
  if (!lookup) {
    lookup = lookUpBot(octokit);
    known.set(app, lookup);
    lookup.catch(() => known.delete(app));
  }
  const { slug, id } = await lookup;
  return { name: `${slug}[bot]`, email: `${id}+${slug}[bot]@users.noreply.${new URL(gitUrl).hostname}` };
}
