import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { OutputBuffer } from './output-buffer.ts';

export interface CommandOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Bytes of combined stdout+stderr kept (head and tail). */
  outputLimit?: number;
  /** Bytes of output after which the command is killed: printing for ever is not progress. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /** Run as this user (the worker must be root to switch). */
  user?: { uid: number; gid: number };
  /** Bytes for the command's standard input (none: no input). */
  stdin?: Readable;
  /** Where its standard output goes as raw bytes, counted against `maxOutputBytes` (none: into `output`). */
  stdout?: Writable;
}

export interface CommandResult {
  exitCode: number | null;
  /** Combined stdout and stderr, head and tail kept when long. */
  output: string;
  timedOut: boolean;
  aborted: boolean;
  /** Killed for printing more than `maxOutputBytes`. */
  outputExceeded: boolean;
  durationMs: number;
}

const DEFAULT_OUTPUT_LIMIT = 64 * 1024;
const DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/** Runs a shell command in its own process group; see runProcess. */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  return runProcess(['bash', '-c', command], options);
}

/**
 * Runs a program in its own process group, so a timeout or a cancel kills everything it
 * started (test runners love to leave children behind).
 */
export function runProcess(argv: string[], options: CommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const buffer = new OutputBuffer(options.outputLimit ?? DEFAULT_OUTPUT_LIMIT);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const [file = 'bash', ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      uid: options.user?.uid,
      gid: options.user?.gid,
    });
    let timedOut = false;
    let aborted = false;
    let outputExceeded = false;
    let outputBytes = 0;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    // Counted in bytes, decoded per stream so a character split across chunks survives.
    const collect = (decoder: StringDecoder) => (chunk: Buffer) => {
      outputBytes += chunk.length;
      if (outputExceeded) return;
      buffer.push(decoder.write(chunk));
      if (outputBytes > maxOutputBytes) {
        outputExceeded = true;
        killGroup();
      }
    };
    if (options.stdin && child.stdin) {
      // A command that stops reading early must not take the worker down with EPIPE.
      child.stdin.on('error', () => {});
      options.stdin.on('error', () => child.stdin?.destroy());
      options.stdin.pipe(child.stdin);
    }
    if (options.stdout) {
      const sink = options.stdout;
      child.stdout?.on('data', (chunk: Buffer) => {
        outputBytes += chunk.length;
        if (outputBytes > maxOutputBytes && !outputExceeded) {
          outputExceeded = true;
          killGroup();
        }
        if (!outputExceeded) sink.write(chunk);
      });
    } else child.stdout?.on('data', collect(new StringDecoder('utf8')));
    child.stderr?.on('data', collect(new StringDecoder('utf8')));
    let finished = false;
    const finish = (exitCode: number | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Leftover background children of the command die with it.
      killGroup();
      let output = buffer.toString();
      if (outputExceeded) output += `\n(output limit of ${Math.round(maxOutputBytes / 1024 / 1024)} MB exceeded: the command was killed)`;
      resolve({ exitCode, output, timedOut, aborted, outputExceeded, durationMs: Date.now() - started });
    };
    child.on('error', (err) => {
      buffer.push(`\n${err.message}\n`);
      finish(null);
    });
    // A background child that keeps the pipes open would hold 'close' back for ever.
    child.on('exit', killGroup);
    child.on('close', (code) => finish(timedOut || aborted || outputExceeded ? null : code));
  });
}
