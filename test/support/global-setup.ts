import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REGISTRY_ENV } from './child-registry.ts';

/** The run's process registry: test workers inherit its path and record their children in it. */
export default function globalSetup(): void {
  process.env[REGISTRY_ENV] = mkdtempSync(path.join(os.tmpdir(), 'ai-fix-test-processes-'));
}
