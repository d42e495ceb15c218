#!/usr/bin/env node
// Node 22.18+ runs the TypeScript sources directly (type stripping): no build step.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `ai-fix needs Node.js 22.18 or newer (this is ${process.version}): run it through npm in its checkout (npm start, npx ai-fix <command>), which uses the Node 22 that npm install brought, or put Node 22.18+ on your PATH.\n`,
  );
  process.exit(1);
}
const { runCli } = await import('../src/cli.ts');
await runCli(process.argv.slice(2));
