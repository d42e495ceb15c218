import os from 'node:os';

/** The machine a figure was measured on, in one line. */
export function describeMachine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}`;
}
