import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Instruction {
  op: string;
  args: string;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
export function dockerInstructions(text: string): Instruction[] {
  return text
    .replace(/^\s*#.*\n/gm, '')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

export function readDockerfile(): Instruction[] {
  return dockerInstructions(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
}

export interface Stage {
  /** `AS <name>`, if any. */
  name?: string;
  /** The image or earlier stage it starts FROM. */
  from: string;
  /** Its own instructions, FROM first. */
  instructions: Instruction[];
}

/** The Dockerfile's stages in order. */
export function dockerStages(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.op === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const as = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({ from: words[0] ?? '', ...(as > 0 && words[as + 1] ? { name: words[as + 1] } : {}), instructions: [instruction] });
    } else {
      const current = stages.at(-1);
      if (current === undefined) throw new Error(`Dockerfile: ${instruction.op} before the first FROM`);
      current.instructions.push(instruction);
    }
  }
  return stages;
}

/**
 * What `docker build --target <target>` builds (the last stage without a target): the
 * instructions of the stages it is built FROM within the Dockerfile, then its own.
 */
export function targetStage(instructions: Instruction[], target?: string): Instruction[] {
  const stages = dockerStages(instructions);
  let at = target === undefined ? stages.length - 1 : stages.findIndex((s) => s.name === target);
  if (at < 0) throw new Error(`Dockerfile has no stage ${target}`);
  const chain: Instruction[][] = [];
  for (;;) {
    const stage = stages[at];
    if (stage === undefined) break;
    chain.unshift(stage.instructions);
    // FROM names only stages defined before it; anything else is an image.
    at = stages.slice(0, at).findLastIndex((s) => s.name === stage.from);
    if (at < 0) break;
  }
  return chain.flat();
}

/** The last stage's instructions, with those of the stages it is built FROM (what the image runs). */
export function finalStage(instructions: Instruction[]): Instruction[] {
  return targetStage(instructions);
}

export function lastArgs(instructions: Instruction[], op: string): string {
  const found = instructions.filter((i) => i.op === op).at(-1);
  if (found === undefined) throw new Error(`Dockerfile has no ${op}`);
  return found.args;
}

/** The image's environment from its ENV instructions (`KEY=value` form); `target` as in targetStage. */
export function imageEnv(instructions: Instruction[], target?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of targetStage(instructions, target).filter((i) => i.op === 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** What a container runs: ENTRYPOINT followed by CMD, or by the command a compose file gives. */
export function containerArgv(instructions: Instruction[], command?: string[]): string[] {
  const entrypoint = JSON.parse(lastArgs(instructions, 'ENTRYPOINT')) as string[];
  return [...entrypoint, ...(command ?? (JSON.parse(lastArgs(instructions, 'CMD')) as string[]))];
}

/** The HEALTHCHECK's shell-form command, as Docker hands it to `/bin/sh -c`. */
export function healthcheckCommand(instructions: Instruction[]): string {
  const args = lastArgs(instructions, 'HEALTHCHECK');
  const at = args.indexOf(' CMD ');
  if (at < 0) throw new Error('HEALTHCHECK has no CMD');
  return args.slice(at + ' CMD '.length);
}

// Users of the base image (node:22-bookworm-slim) by name: its `node` user is uid and gid 1000.
const BASE_IMAGE_USERS: Record<string, number> = { root: 0, node: 1000 };

/** The final stage's (or `target`'s) USER as the ids a process of the image runs with. */
export function imageUser(instructions: Instruction[], target?: string): { name: string; uid: number; gid: number } {
  const name = lastArgs(targetStage(instructions, target), 'USER');
  const [userPart = '', groupPart] = name.split(':');
  const id = (part: string) => (/^\d+$/.test(part) ? Number(part) : BASE_IMAGE_USERS[part]);
  const uid = id(userPart);
  const gid = groupPart === undefined ? uid : id(groupPart);
  if (uid === undefined || gid === undefined) throw new Error(`unknown user ${name} in the Dockerfile's USER`);
  return { name, uid, gid };
}
