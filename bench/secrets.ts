// `npm run bench -- secrets`: the secret scan before push, on one corpus of real-shaped fake
// credentials and of ordinary code that looks random (test/fixtures/secrets-corpus.ts): what
// ai-fix's own rules (token shapes and the random-value rule, the whole scan until secretlint
// came) find, what secretlint's recommended rules find, and what the scan, both together, finds;
// false positives on the ordinary files; time per MB of added lines.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addedLines, credentialIn, scanDiff, secretlintFindings, type AddedLine } from '../src/security/secret-scan.ts';
import { addedFilesDiff, credentials, ordinary, type CorpusFile } from '../test/fixtures/secrets-corpus.ts';
import { writeBenchmarkSection } from './benchmarks-doc.ts';
import { describeMachine } from './machine.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Scanner = 'own' | 'secretlint' | 'scan';
const SCANNERS: Scanner[] = ['own', 'secretlint', 'scan'];
const LABELS: Record<Scanner, string> = { own: "ai-fix's own rules (the scan before)", secretlint: "secretlint's recommended rules", scan: 'the scan now (both)' };

/** The lines each scanner flags in a diff, per file. */
async function flagged(scanner: Scanner, diff: string): Promise<Map<string, number[]>> {
  const byFile = new Map<string, number[]>();
  const lines = addedLines(diff);
  if (scanner === 'scan') {
    for (const finding of await scanDiff(diff)) byFile.set(finding.file, [...(byFile.get(finding.file) ?? []), finding.line]);
    return byFile;
  }
  for (const [file, added] of lines) {
    const found = scanner === 'own' ? added.filter((l: AddedLine) => credentialIn(l.text)).map((l) => l.line) : [...(await secretlintFindings(file, added)).keys()];
    if (found.length > 0) byFile.set(file, found);
  }
  return byFile;
}

/** Whether the scanner flags a line that holds the credential (where a reviewer must look). */
const finds = (lines: Map<string, number[]>, file: CorpusFile) => lines.get(file.file)?.some((line) => file.lines?.includes(line)) ?? false;

async function timePerMb(scanner: Scanner, diff: string): Promise<number> {
  const rounds = 3;
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await flagged(scanner, diff);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)]! / (Buffer.byteLength(diff) / 2 ** 20);
}

export async function runSecretsBench(): Promise<boolean> {
  const credentialDiff = addedFilesDiff(credentials);
  const ordinaryDiff = addedFilesDiff(ordinary);
  // A large change of ordinary code for the timing: the ordinary corpus, many times over.
  const large = addedFilesDiff(Array.from({ length: 200 }, (_, i) => ordinary.map((f) => ({ ...f, file: `copy${i}/${f.file}` }))).flat());
  const results = {} as Record<Scanner, { found: string[]; missed: string[]; falsePositives: string[]; msPerMb: number }>;
  for (const scanner of SCANNERS) {
    const credentialLines = await flagged(scanner, credentialDiff);
    const ordinaryLines = await flagged(scanner, ordinaryDiff);
    results[scanner] = {
      found: credentials.filter((f) => finds(credentialLines, f)).map((f) => f.kind),
      missed: credentials.filter((f) => !finds(credentialLines, f)).map((f) => f.kind),
      falsePositives: ordinary.filter((f) => ordinaryLines.has(f.file)).map((f) => f.kind),
      msPerMb: await timePerMb(scanner, large),
    };
  }
  const result = { date: new Date().toISOString(), machine: describeMachine(), credentials: credentials.length, ordinaryFiles: ordinary.length, largeDiffMb: Buffer.byteLength(large) / 2 ** 20, results };
  await fs.mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await fs.writeFile(path.join(ROOT, 'bench/results/secrets.json'), `${JSON.stringify(result, null, 2)}\n`);

  const goals = {
    'the scan finds at least what each rule set finds alone': SCANNERS.every((s) => results[s].found.every((kind) => results.scan.found.includes(kind))),
    'no false positive on ordinary code': results.scan.falsePositives.length === 0,
  };
  const markdown = [
    '## Secret scan: credentials found before a push',
    '',
    `Command: \`npm run bench -- secrets\` · measured ${result.date.slice(0, 10)} on ${result.machine}.`,
    '',
    `The corpus (\`test/fixtures/secrets-corpus.ts\`): ${credentials.length} files each holding one kind of real-shaped fake credential, and ${ordinary.length} files of ordinary code that looks random (lockfile integrity hashes, go.sum and Cargo.lock checksums, UUIDs and commit SHAs, a base64 image, minified JavaScript, placeholder passwords in tests, secrets read from the environment, Kubernetes secret references, README placeholders, certificates and public keys). Each is scanned as a diff that adds it. A credential counts as found when a line that holds it is flagged. Timing: a ${result.largeDiffMb.toFixed(1)} MB diff of ordinary files, median of 3.`,
    '',
    '| rules | credentials found | false positives (files) | ms per MB |',
    '| --- | --- | --- | --- |',
    ...SCANNERS.map((s) => `| ${LABELS[s]} | **${results[s].found.length}** of ${credentials.length} | ${results[s].falsePositives.length} of ${ordinary.length} | ${results[s].msPerMb.toFixed(0)} |`),
    '',
    ...SCANNERS.map((s) => `Missed by ${LABELS[s]}: ${results[s].missed.join(', ') || 'none'}.`),
    '',
    `Goals: ${Object.entries(goals).map(([goal, met]) => `${goal}: **${met ? 'met' : 'NOT met'}**`).join(' · ')}`,
  ].join('\n');
  await writeBenchmarkSection(ROOT, 'secrets', markdown);
  process.stdout.write(`${markdown}\n`);
  return Object.values(goals).every(Boolean);
}
