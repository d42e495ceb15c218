import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadEnv, needsAppRegistration, requireAppCredentials, requireOpenAiKey } from '../../src/config/env.ts';
import { ConfigError } from '../../src/util/errors.ts';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('environment configuration', () => {
  it('has defaults that work on one machine', () => {
    const env = loadEnv({});
    expect(env.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(env.port).toBe(3000);
    expect(env.githubApiUrl).toBeUndefined();
    expect(needsAppRegistration(env)).toBe(true);
  });

  it('builds the GitHub Enterprise API URL from GHE_HOST and GHE_PROTOCOL', () => {
    expect(loadEnv({ GHE_HOST: 'ghe.example.com' }).githubApiUrl).toBe('https://ghe.example.com/api/v3');
    expect(loadEnv({ GHE_HOST: '127.0.0.1:8080', GHE_PROTOCOL: 'http' }).githubApiUrl).toBe('http://127.0.0.1:8080/api/v3');
  });

  it('reads the dashboard, metrics and public URL settings, and refuses short tokens', () => {
    const env = loadEnv({
      AI_FIX_PUBLIC_URL: 'https://ai-fix.example.com',
      AI_FIX_DASHBOARD_TOKEN: 'a'.repeat(16),
      AI_FIX_METRICS_TOKEN: 'b'.repeat(20),
      AI_FIX_METRICS_PORT: '9464',
    });
    expect(env).toMatchObject({ publicUrl: 'https://ai-fix.example.com', dashboardToken: 'a'.repeat(16), metricsToken: 'b'.repeat(20), metricsPort: 9464 });
    expect(loadEnv({}).dashboardToken).toBeUndefined();
    expect(errorOf({ AI_FIX_DASHBOARD_TOKEN: 'short' })).toMatch(/^AI_FIX_DASHBOARD_TOKEN: must be at least 16 characters/);
    expect(errorOf({ AI_FIX_METRICS_TOKEN: 'short' })).toMatch(/^AI_FIX_METRICS_TOKEN: /);
    expect(errorOf({ AI_FIX_PUBLIC_URL: 'ai-fix.example.com' })).toMatch(/^AI_FIX_PUBLIC_URL: /);
  });

  it('names the variable in one line when a value is malformed', () => {
    expect(errorOf({ APP_ID: 'abc' })).toMatch(/^APP_ID: /);
    expect(errorOf({ PORT: '99999' })).toMatch(/^PORT: /);
    expect(errorOf({ REDIS_URL: 'http://localhost' })).toMatch(/^REDIS_URL: /);
    expect(errorOf({ GHE_HOST: 'https://ghe.example.com' })).toMatch(/^GHE_HOST: .*without a scheme/);
    expect(errorOf({ GHE_PROTOCOL: 'ftp' })).toMatch(/^GHE_PROTOCOL: /);
    expect(errorOf({ PRIVATE_KEY: 'not a key' })).toMatch(/^PRIVATE_KEY: /);
    expect(errorOf({ AI_FIX_SANDBOX: 'docker' })).toMatch(/^AI_FIX_SANDBOX: /);
    expect(errorOf({ AI_FIX_SANDBOX_PROCESSES: '3' })).toMatch(/^AI_FIX_SANDBOX_PROCESSES: /);
    for (const message of [errorOf({ APP_ID: 'abc' }), errorOf({ PORT: 'x' })]) expect(message).not.toContain('\n');
  });

  it('reads the sandbox mode and limits', () => {
    expect(loadEnv({ AI_FIX_SANDBOX_UID: '2000', AI_FIX_SANDBOX_UIDS: '8' }).sandboxUsers).toEqual({ first: 2000, count: 8 });
    expect(errorOf({ AI_FIX_SANDBOX_UID: '0' })).toMatch(/^AI_FIX_SANDBOX_UID: /);
    expect(errorOf({ AI_FIX_SANDBOX_TMP_MB: '1' })).toMatch(/^AI_FIX_SANDBOX_TMP_MB: /);
    expect(loadEnv({})).toMatchObject({ sandbox: 'auto', sandboxUsers: { first: 910_000, count: 64 }, sandboxTmpBytes: 512 * 1024 * 1024, sandboxLimits: { memoryBytes: 4096 * 1024 * 1024, processes: 1024, fileSizeBytes: 1024 * 1024 * 1024 } });
    expect(loadEnv({ AI_FIX_SANDBOX: 'bwrap', AI_FIX_SANDBOX_MEMORY_MB: '512' })).toMatchObject({ sandbox: 'bwrap', sandboxLimits: { memoryBytes: 512 * 1024 * 1024 } });
  });

  it('requires the app credentials together, naming the missing one', () => {
    expect(() => requireAppCredentials(loadEnv({ APP_ID: '12', PRIVATE_KEY: pem }))).toThrow(/^WEBHOOK_SECRET: required/);
    expect(() => requireAppCredentials(loadEnv({ APP_ID: '12', WEBHOOK_SECRET: 's' }))).toThrow(/^PRIVATE_KEY: required/);
    const creds = requireAppCredentials(loadEnv({ APP_ID: '12', PRIVATE_KEY: pem, WEBHOOK_SECRET: 's' }));
    expect(creds.appId).toBe(12);
    expect(creds.privateKey).toContain('BEGIN RSA PRIVATE KEY');
  });

  it('reads the per-repository concurrency default (0: no limit)', () => {
    expect(loadEnv({}).repoConcurrency).toBe(0);
    expect(loadEnv({ AI_FIX_REPO_CONCURRENCY: '2' }).repoConcurrency).toBe(2);
    expect(errorOf({ AI_FIX_REPO_CONCURRENCY: '-1' })).toMatch(/^AI_FIX_REPO_CONCURRENCY: /);
  });

  it('accepts a private key with escaped newlines, as single-line env files hold it', () => {
    const env = loadEnv({ APP_ID: '1', PRIVATE_KEY: pem.replace(/\n/g, '\\n'), WEBHOOK_SECRET: 's' });
    expect(env.privateKey).toContain('\n');
  });
});

describe('the app key and the other settings start-up needs', () => {
  const lines = pem.trimEnd().split('\n');
  // A copy and paste that lost lines: the key no longer decodes.
  const truncated = [...lines.slice(0, 5), ...lines.slice(9)].join('\n');
  // One character changed in the modulus: the key decodes, but signs nothing GitHub could verify.
  const flipped = lines.map((line, i) => (i === 2 ? `${line.slice(0, 30)}${line[30] === 'A' ? 'B' : 'A'}${line.slice(31)}` : line)).join('\n');

  it('proves the private key at start: a corrupt one is one line naming the variable and the fix', () => {
    for (const key of [truncated, flipped]) {
      const message = errorOf({ APP_ID: '1', PRIVATE_KEY: key, WEBHOOK_SECRET: 's' });
      expect(message).toMatch(/^PRIVATE_KEY: the private key is corrupt .*download a new private key from the GitHub App's settings/);
      expect(message).not.toContain('\n');
    }
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(errorOf({ PRIVATE_KEY: ec })).toMatch(/^PRIVATE_KEY: a ec key, but GitHub Apps sign with RSA keys/);
  });

  it('names PRIVATE_KEY_PATH when the key came from that file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ai-fix-key-'));
    try {
      const file = path.join(dir, 'app.pem');
      fs.writeFileSync(file, truncated);
      expect(errorOf({ PRIVATE_KEY_PATH: file })).toMatch(/^PRIVATE_KEY_PATH: the private key is corrupt .*set PRIVATE_KEY_PATH to the \.pem file$/);
      fs.writeFileSync(file, pem);
      expect(loadEnv({ PRIVATE_KEY_PATH: file }).privateKey).toBe(pem);
      expect(errorOf({ PRIVATE_KEY_PATH: path.join(dir, 'missing.pem') })).toMatch(/^PRIVATE_KEY_PATH: .*does not exist/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to fix a missing credential or model key', () => {
    expect(() => requireAppCredentials(loadEnv({ PRIVATE_KEY: pem, WEBHOOK_SECRET: 's' }))).toThrow(/^APP_ID: required; set it to the App ID/);
    expect(() => requireOpenAiKey(loadEnv({}))).toThrow(/^OPENAI_API_KEY: required by the worker; add it to \.env/);
  });

  it('reads the webhook proxy channel, and refuses one that is not an http(s) URL', () => {
    expect(loadEnv({ WEBHOOK_PROXY_URL: 'https://proxy.example/channel' }).webhookProxyUrl).toBe('https://proxy.example/channel');
    expect(loadEnv({}).webhookProxyUrl).toBeUndefined();
    expect(errorOf({ WEBHOOK_PROXY_URL: 'proxy.example/channel' })).toMatch(/^WEBHOOK_PROXY_URL: /);
  });
});

describe('model and limit settings', () => {
  it('defaults to the Responses API, no overrides and no caps', () => {
    const env = loadEnv({});
    expect(env.modelApi).toBe('responses');
    expect(env.modelOverrides).toEqual({});
    expect(env.limitCaps).toEqual({ steps: undefined, minutes: undefined, tokens: undefined, dollars: undefined });
  });

  it('reads the API choice, model overrides and caps', () => {
    const env = loadEnv({
      AI_FIX_MODEL_API: 'chat',
      AI_FIX_MODELS: '{"local":{"input":0,"output":0,"context_window":32768}}',
      AI_FIX_MAX_DOLLARS: '2.5',
      AI_FIX_MAX_STEPS: '100',
    });
    expect(env.modelApi).toBe('chat');
    expect(env.modelOverrides).toEqual({ local: { input: 0, output: 0, context_window: 32768 } });
    expect(env.limitCaps).toMatchObject({ dollars: 2.5, steps: 100 });
  });

  it('names the variable when the model settings are malformed', () => {
    expect(errorOf({ AI_FIX_MODEL_API: 'completions' })).toMatch(/^AI_FIX_MODEL_API: /);
    expect(errorOf({ AI_FIX_MODELS: '{not json' })).toMatch(/^AI_FIX_MODELS: must be a JSON object/);
    expect(errorOf({ AI_FIX_MODELS: '{"m":{"price":1}}' })).toMatch(/^AI_FIX_MODELS: /);
    expect(errorOf({ AI_FIX_MAX_DOLLARS: '-1' })).toMatch(/^AI_FIX_MAX_DOLLARS: /);
  });
});
