import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { writeBenchmarkSection } from '../../bench/benchmarks-doc.ts';

describe('docs/benchmarks.md sections', () => {
  it('adds a part\'s section, then replaces only that section', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ai-fix-bench-doc-'));
    try {
      await writeBenchmarkSection(root, 'agent', '## Agent\n\nfirst');
      await writeBenchmarkSection(root, 'queue', '## Queue\n\nkept');
      await writeBenchmarkSection(root, 'agent', '## Agent\n\nsecond');
      const doc = await fs.readFile(path.join(root, 'docs/benchmarks.md'), 'utf8');
      expect(doc).toMatch(/^# Benchmarks\n/);
      expect(doc).toContain('<!-- bench:agent -->\n## Agent\n\nsecond\n<!-- /bench:agent -->\n\n<!-- bench:queue -->\n## Queue\n\nkept\n<!-- /bench:queue -->\n');
      expect(doc).not.toContain('first');
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
