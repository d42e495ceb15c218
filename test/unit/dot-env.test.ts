import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadDotEnv } from '../../src/config/dot-env.ts';
import { loadEnv } from '../../src/config/env.ts';

describe('.env', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ai-fix-dotenv-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads what Probot's registration writes, and the app settings load from it", () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    // Probot's format: KEY=value lines, the key in double quotes with its newlines escaped.
    fs.writeFileSync(path.join(dir, '.env'), `APP_ID=123\nPRIVATE_KEY="${pem.replace(/\n/g, '\\n')}"\nWEBHOOK_SECRET=hook-secret\nGITHUB_CLIENT_ID=Iv1.abc`);
    const target: NodeJS.ProcessEnv = {};
    expect(loadDotEnv(dir, target).sort()).toEqual(['APP_ID', 'GITHUB_CLIENT_ID', 'PRIVATE_KEY', 'WEBHOOK_SECRET']);
    expect(target.PRIVATE_KEY).toBe(pem);
    expect(loadEnv(target)).toMatchObject({ appId: 123, privateKey: pem, webhookSecret: 'hook-secret' });
  });

  it('leaves the variables the real environment sets', () => {
    fs.writeFileSync(path.join(dir, '.env'), 'PORT=4000\nAI_FIX_MODEL=from-dotenv\nREDIS_URL=redis://from-dotenv:6379\n');
    const target: NodeJS.ProcessEnv = { PORT: '5000', AI_FIX_MODEL: '' };
    expect(loadDotEnv(dir, target).sort()).toEqual(['AI_FIX_MODEL', 'REDIS_URL']);
    expect(target).toEqual({ PORT: '5000', AI_FIX_MODEL: 'from-dotenv', REDIS_URL: 'redis://from-dotenv:6379' });
  });

  it('is optional', () => {
    const target: NodeJS.ProcessEnv = { PATH: '/bin' };
    expect(loadDotEnv(dir, target)).toEqual([]);
    expect(target).toEqual({ PATH: '/bin' });
  });
});
