import { describe, expect, it } from '@jest/globals';
import { credentialIn, scanDiff, shannonEntropy } from '../../src/security/secret-scan.ts';
import { addedFilesDiff, credentials, ordinary } from '../fixtures/secrets-corpus.ts';

const random = (length: number) => Array.from({ length }, (_, i) => 'aZ3kP9xQ2mW7vB4nR8tY1cL6hJ5fD0gS'[(i * 7 + 3) % 32]).join('');

describe('credentials in a line', () => {
  it('knows token prefixes and private keys', () => {
    expect(credentialIn(`const t = "ghp_${'a1B2'.repeat(9)}";`)).toBe('GitHub token');
    expect(credentialIn(`TOKEN=ghs_${'x9Y8'.repeat(9)}`)).toBe('GitHub token');
    expect(credentialIn(`github_pat_${'A1b2_'.repeat(12)}`)).toBe('GitHub token');
    expect(credentialIn(`key: sk-proj-${'Ab3'.repeat(15)}`)).toBe('API key (sk-)');
    expect(credentialIn(`slack = "xoxb-1234567890-${'aB3'.repeat(8)}"`)).toBe('Slack token');
    expect(credentialIn('aws_access_key_id = AKIAIOSFODNN7EXAMPLE')).toBe('AWS access key id');
    expect(credentialIn('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe('private key');
    expect(credentialIn('-----BEGIN RSA PRIVATE KEY-----')).toBe('private key');
  });

  it('finds random-looking values assigned to secret-sounding names', () => {
    expect(credentialIn(`API_KEY=${random(32)}`)).toMatch(/random-looking value assigned to `API_KEY`/);
    expect(credentialIn(`  password = "${random(20)}"`)).toMatch(/`password`/);
    expect(credentialIn(`{"clientSecret": "${random(24)}"}`)).toMatch(/`clientSecret`/);
    expect(credentialIn(`db.password := '${random(18)}'`)).toMatch(/`db.password`/);
  });

  it('leaves ordinary code alone', () => {
    for (const line of [
      'const password = process.env.DB_PASSWORD;',
      'password = os.environ["DB_PASSWORD"]',
      'API_KEY=${API_KEY}',
      'token = tokenizer.nextToken()',
      'const secretKeyRef = config.secrets.primaryKey',
      'password: "correcthorsebatterystaple"',
      'API_KEY=xxxxxxxxxxxxxxxxxxxxxxxx',
      'token_count = 12345678901234567890',
      'const tokens = text.split(/\\s+/);',
      'export function add(a, b) { return a + b; }',
      'PWD=/tmp/ai-fix-e2e-sec-Ab12Cd/jobs/solve-r1000000-n1/repo',
      'credential.https://git.example.com/Org1.helper=store',
      'TOKEN_URL=https://auth.example.com/oauth2/Token?x=1',
    ]) {
      expect(`${line} → ${credentialIn(line)}`).toBe(`${line} → null`);
    }
  });

  it('knows the installation\'s own secrets whatever their shape', () => {
    expect(credentialIn('x = "whsec-abcdef123456"', ['whsec-abcdef123456'])).toBe('a credential of this ai-fix installation');
  });

  it('measures entropy per character', () => {
    expect(shannonEntropy('aaaaaaaa')).toBe(0);
    expect(shannonEntropy('abcdefgh')).toBe(3);
  });
});

describe('scanning a diff', () => {
  const diff = [
    'diff --git a/src/config.js b/src/config.js',
    'index 1111111..2222222 100644',
    '--- a/src/config.js',
    '+++ b/src/config.js',
    '@@ -3,0 +4,2 @@ module.exports = {',
    '+  name: "calculator",',
    `+  token: "ghp_${'a1B2'.repeat(9)}",`,
    '@@ -20 +22 @@',
    '-  old: 1,',
    `+  apiKey: "${random(30)}",`,
    'diff --git a/deploy/key.pem b/deploy/key.pem',
    'new file mode 100644',
    'index 0000000..3333333',
    '--- /dev/null',
    '+++ b/deploy/key.pem',
    '@@ -0,0 +1,3 @@',
    '+-----BEGIN PRIVATE KEY-----',
    '+MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    '+-----END PRIVATE KEY-----',
    'diff --git a/tricky.c b/tricky.c',
    '--- a/tricky.c',
    '+++ b/tricky.c',
    '@@ -1 +1,2 @@',
    '+int i = 0;',
    `+++ ghp_${'z9Y8'.repeat(9)}`,
    'diff --git a/gone.txt b/gone.txt',
    'deleted file mode 100644',
    '--- a/gone.txt',
    '+++ /dev/null',
    '@@ -1 +0,0 @@',
    `-ghp_${'q1W2'.repeat(9)}`,
  ].join('\n');

  it('names the file, line and kind of every credential added, never deleted ones', async () => {
    expect(await scanDiff(diff)).toEqual([
      { file: 'src/config.js', line: 5, kind: 'GitHub Token' },
      { file: 'src/config.js', line: 22, kind: expect.stringContaining('`apiKey`') },
      { file: 'deploy/key.pem', line: 1, kind: 'private key' },
      { file: 'tricky.c', line: 2, kind: 'GitHub Token' },
    ]);
  });

  it('never carries the secret itself', async () => {
    expect(JSON.stringify(await scanDiff(diff))).not.toMatch(/ghp_|MIIE/);
  });

  it("puts the installation's own secrets first, whatever their shape", async () => {
    const own = `whsec-${random(12)}`;
    const findings = await scanDiff(['diff --git a/a.txt b/a.txt', '--- a/a.txt', '+++ b/a.txt', '@@ -0,0 +1 @@', `+hook = "${own}" # ghp_${'a1B2'.repeat(9)}`].join('\n'), [own]);
    expect(findings).toEqual([{ file: 'a.txt', line: 1, kind: 'a credential of this ai-fix installation' }]);
  });

  it('cannot be switched off by the text it scans (secretlint-disable comments)', async () => {
    const token = `ghp_${'k7Lm'.repeat(9)}`;
    const lines = ['// secretlint-disable', `const a = "${token}"; // secretlint-disable-line`, `const b = "SG.${random(22)}.${random(43)}";`, '// secretlint-enable'];
    const findings = await scanDiff(['diff --git a/x.js b/x.js', '--- a/x.js', '+++ b/x.js', `@@ -0,0 +1,${lines.length} @@`, ...lines.map((l) => `+${l}`)].join('\n'));
    expect(findings.map((f) => f.line)).toEqual([2, 3]);
  });
});

describe('the corpus of real-shaped credentials and ordinary code', () => {
  it('finds every credential but one (a Twilio token, 32 bare hex digits) at a line that holds it, and says what it is without its value', async () => {
    const findings = await scanDiff(addedFilesDiff(credentials));
    const missed = credentials.filter((c) => !findings.some((f) => f.file === c.file && c.lines?.includes(f.line))).map((c) => c.kind);
    expect(missed).toEqual(['Twilio auth token']);
    const report = JSON.stringify(findings);
    for (const c of credentials) {
      for (const value of c.content.match(/[A-Za-z0-9_+/-]{24,}/g) ?? []) expect(report).not.toContain(value);
    }
  });

  it('finds nothing in ordinary code that looks random', async () => {
    expect(await scanDiff(addedFilesDiff(ordinary))).toEqual([]);
  });
});
