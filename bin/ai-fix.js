#!/usr/bin/env node
// Node 22.18+ runs the TypeScript sources directly (type stripping): no build step.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`ai-fix needs Node.js 22.18 or newer (this is ${process.version}).\n`);
  process.exit(1);
}
const { runCli } = await import('../src/cli.ts');
await runCli(process.argv.slice(2));
