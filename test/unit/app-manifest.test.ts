import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const appYml = readFileSync(join(root, 'app.yml'), 'utf8');
const manifest = parse(appYml) as Record<string, unknown>;

const expectedPermissions = {
  metadata: 'read',
  contents: 'write',
  issues: 'write',
  pull_requests: 'write',
  checks: 'read',
  actions: 'read',
  statuses: 'read',
};

const expectedEvents = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'check_suite',
  'check_run',
  'workflow_run',
  'push',
];

// The part of probot/lib/manifest-creation.js used here. Probot's package.json `exports` only
// exposes its index, which does not re-export ManifestCreation, so the module is loaded by path.
interface ManifestCreationLike {
  getManifest(options: {
    pkg: Record<string, unknown>;
    baseUrl: string;
    readFileSync?: (path: string, encoding: 'utf8') => string;
  }): string;
}
type ManifestCreationClass = new (options?: {
  updateEnv?: (env: Record<string, string>) => Record<string, string>;
}) => ManifestCreationLike;

async function loadManifestCreation(): Promise<ManifestCreationClass> {
  const probotIndex = createRequire(import.meta.url).resolve('probot');
  const url = pathToFileURL(join(dirname(probotIndex), 'manifest-creation.js')).href;
  const mod = (await import(url)) as { ManifestCreation: ManifestCreationClass };
  return mod.ManifestCreation;
}

describe('app.yml', () => {
  it('names and describes the app, and is private', () => {
    expect(manifest.name).toBe('ai-fix');
    expect(typeof manifest.description).toBe('string');
    expect(manifest.description).toMatch(/ai-fix/);
    expect(manifest.public).toBe(false);
  });

  it('requests exactly the least-privilege permissions', () => {
    expect(manifest.default_permissions).toEqual(expectedPermissions);
  });

  it('never requests the workflows permission', () => {
    expect(manifest.default_permissions).not.toHaveProperty('workflows');
    expect(appYml).not.toMatch(/^\s*workflows\s*:/m);
  });

  it('subscribes to exactly the expected events', () => {
    expect(manifest.default_events).toHaveLength(expectedEvents.length);
    expect([...(manifest.default_events as string[])].sort()).toEqual([...expectedEvents].sort());
  });

  it('hard-codes no host: Probot fills url, hook_attributes and redirect_url', () => {
    expect(manifest).not.toHaveProperty('url');
    expect(manifest).not.toHaveProperty('hook_attributes');
    expect(manifest).not.toHaveProperty('redirect_url');
    expect(appYml).not.toMatch(/https?:\/\/(?!docs\.github\.com)/);
  });

  it("is read correctly by Probot's setup flow", async () => {
    const ManifestCreation = await loadManifestCreation();
    const setup = new ManifestCreation({ updateEnv: (env) => env });
    const saved = process.env.WEBHOOK_PROXY_URL;
    delete process.env.WEBHOOK_PROXY_URL;
    let generated: Record<string, unknown>;
    try {
      generated = JSON.parse(
        setup.getManifest({
          pkg: { name: 'ai-fix', homepage: 'https://app.test/home' },
          baseUrl: 'https://app.test',
          // Read this repository's app.yml whatever the working directory is.
          readFileSync: (path) => {
            expect(path).toMatch(/app\.yml$/);
            return appYml;
          },
        }),
      ) as Record<string, unknown>;
    } finally {
      if (saved !== undefined) process.env.WEBHOOK_PROXY_URL = saved;
    }
    expect(generated).toMatchObject({
      name: 'ai-fix',
      description: manifest.description,
      public: false,
      url: 'https://app.test/home',
      hook_attributes: { url: 'https://app.test/' },
      redirect_url: 'https://app.test/probot/setup',
      default_permissions: expectedPermissions,
      default_events: expectedEvents,
    });
  });
});
