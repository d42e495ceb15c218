import type { ImageSource } from '../agent/issue-images.ts';

/**
 * Issue images are fetched from the repository's GitHub host only (web or API origin, both from
 * the repository's payload), with the installation token; GitHub's own redirects (to its
 * attachment storage) are followed without it. Links to anywhere else are skipped.
 */
export function githubImageSource(repo: { html_url: string; url: string }, token: string): ImageSource {
  const origins = new Set([new URL(repo.html_url).origin, new URL(repo.url).origin]);
  const fromGitHub = (url: URL) => origins.has(url.origin);
  return {
    headersFor: (url) => (fromGitHub(url) ? { authorization: `Bearer ${token}` } : undefined),
    followRedirect: (from, to) => fromGitHub(from) && (to.protocol === 'https:' || to.protocol === from.protocol),
  };
}
