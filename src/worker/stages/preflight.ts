import type { TaskResult } from '../../queue/task-queue.ts';
import type { PreparedTask } from '../task-context.ts';

// Words that start a shell command without naming a program to look for.
const NOT_PROGRAMS = new Set(['cd', 'export', 'set', 'unset', 'source', '.', 'exec', 'env', 'time', 'command', 'builtin', 'if', 'then', 'else', 'fi', 'for', 'do', 'done', 'while', 'until', 'case', 'esac', '!', 'true', 'false', 'test', '[', '[[', '{', '}']);

/**
 * The programs a command line starts: the first word of each simple command, past variable
 * assignments and `env`/`exec`/`time`. Paths into the repository (`./gradlew`) are its own
 * business, not the worker's.
 */
export function programsOf(command: string): string[] {
  const programs = new Set<string>();
  for (const part of command.split(/&&|\|\||[;|&\n()`]|\$\(/)) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    for (const word of words) {
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || NOT_PROGRAMS.has(word) || word.startsWith('-')) {
        if (['env', 'exec', 'time', 'command'].includes(word) || /=/.test(word) || word.startsWith('-')) continue;
        break;
      }
      if (/^[\w.+-]+$/.test(word)) programs.add(word);
      break;
    }
  }
  return [...programs];
}

/** The programs of `command` the box cannot find. */
export async function missingPrograms(task: PreparedTask, command: string): Promise<string[]> {
  const programs = programsOf(command);
  if (!programs.length) return [];
  const result = await task.box.run(programs.map((p) => `command -v ${p} >/dev/null 2>&1 || echo ${p}`).join('\n'), { timeoutMs: 30_000, signal: task.signal });
  return result.output.split('\n').map((line) => line.trim()).filter((line) => programs.includes(line));
}

/**
 * Before anything is spent: a setup or test command whose program the box does not have is an
 * environment problem, not the model's. One comment says which and how to provide it; no model
 * request, no pull request.
 */
export async function preflight(task: PreparedTask, what: 'setup' | 'test', command: string | null): Promise<TaskResult | null> {
  if (!command) return null;
  const missing = await missingPrograms(task, command);
  if (!missing.length) return null;
  const names = missing.map((p) => `\`${p}\``).join(', ');
  const reason = `the ${what} command \`${command}\` needs ${names}, which the worker's sandbox does not have`;
  const details = [
    `Nothing was sent to the model and no pull request was opened: this is the worker's environment, not the code.`,
    '',
    `To fix it, either install ${missing.length === 1 ? 'it' : 'them'} where the worker's sandbox sees ${missing.length === 1 ? 'it' : 'them'} (the full worker image has Python, Go, Rust and Java; toolchains installed under a home directory can be shown with \`AI_FIX_SANDBOX_TOOLCHAINS\`), or set \`${what}\` in \`.github/ai-fix.yml\` to a command this environment has${what === 'test' ? ', or `setup` to install it first' : ''}.`,
  ].join('\n');
  task.log.warn({ what, command, missing }, 'preflight: programs missing in the sandbox');
  await task.progress.update({ stage: 'failed', reason, details });
  return { outcome: 'failed', reason };
}
