import { describe, expect, it } from '@jest/globals';
import { hostAllowed } from '../../src/sandbox/egress-proxy.ts';
import { withinOperator } from '../../src/sandbox/network-policy.ts';
import { programsOf } from '../../src/worker/stages/preflight.ts';

describe('the programs a setup or test command starts', () => {
  it.each([
    ['npm test', ['npm']],
    ['cd packages/web && pnpm test', ['pnpm']],
    ['CI=1 FOO=bar python3 -m pytest -q', ['python3']],
    ['env -i PATH=/bin cargo test --workspace', ['cargo']],
    ['make lint; make test || true', ['make']],
    ['(cd a && go test ./...) && (cd b && go test ./...)', ['go']],
    ['./gradlew test', []],
    ['npm ci | tee log && nonexistent-runner run', ['npm', 'tee', 'nonexistent-runner']],
  ])('%s → %j', (command, programs) => {
    expect(programsOf(command)).toEqual(programs);
  });
});

describe('network allow-lists', () => {
  it('matches a host exactly, or a domain and its subdomains with a leading dot', () => {
    expect(hostAllowed('registry.example.org', ['registry.example.org'])).toBe(true);
    expect(hostAllowed('REGISTRY.example.org.', ['registry.example.org'])).toBe(true);
    expect(hostAllowed('evil-registry.example.org', ['registry.example.org'])).toBe(false);
    expect(hostAllowed('files.example.org', ['.example.org'])).toBe(true);
    expect(hostAllowed('example.org', ['.example.org'])).toBe(true);
    expect(hostAllowed('example.org.evil.net', ['.example.org'])).toBe(false);
    expect(hostAllowed('anything', [])).toBe(false);
  });

  it('lets a repository narrow the operator\'s list, never widen it', () => {
    const operator = ['registry.example.org', '.files.example.org'];
    expect(withinOperator(['registry.example.org', 'attacker.example.net'], operator)).toEqual(['registry.example.org']);
    expect(withinOperator(['a.files.example.org', '.b.files.example.org', '.example.org'], operator)).toEqual(['a.files.example.org', '.b.files.example.org']);
  });
});
