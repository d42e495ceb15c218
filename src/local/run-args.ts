import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../util/errors.ts';

export const RUN_USAGE = `Usage: ai-fix run --repo <path> --issue <text|file> [--model <model>] [--test <command>]

Runs the agent on a local git checkout, with no GitHub and no Redis (needs OPENAI_API_KEY, and
OPENAI_BASE_URL for another endpoint). It works in a separate worktree from your HEAD and leaves
its work committed on a new branch ai-fix/local-<timestamp> in that checkout.

  --repo <path>      the git checkout to work on
  --issue <text>     the task: the text itself, or a file holding it (first line = title)
  --model <model>    overrides the repository config and AI_FIX_MODEL
  --test <command>   overrides the repository config and test detection
`;

export interface RunOptions {
  repo: string;
  issue: { title: string; body: string };
  model?: string;
  test?: string;
}

/** The issue from text or a file: its first line is the title (a leading `#` dropped), the rest the body. */
async function readIssue(given: string): Promise<{ title: string; body: string }> {
  const text = await fs.readFile(given, 'utf8').catch(() => given);
  const [first = '', ...rest] = text.trim().split('\n');
  return { title: first.replace(/^#+\s*/, '').trim(), body: rest.join('\n').trim() };
}

export async function parseRunArgs(argv: string[]): Promise<RunOptions> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { repo: { type: 'string' }, issue: { type: 'string' }, model: { type: 'string' }, test: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new ConfigError(`run: ${(err as Error).message}\n\n${RUN_USAGE}`);
  }
  if (!values.repo) throw new ConfigError(`run: --repo is required\n\n${RUN_USAGE}`);
  if (!values.issue?.trim()) throw new ConfigError(`run: --issue is required\n\n${RUN_USAGE}`);
  const issue = await readIssue(values.issue);
  if (!issue.title) throw new ConfigError('run: the issue is empty');
  return { repo: values.repo, issue, model: values.model, test: values.test };
}
