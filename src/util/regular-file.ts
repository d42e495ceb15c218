import { constants } from 'node:fs';
import fs from 'node:fs/promises';

export class NotRegularFileError extends Error {
  override name = 'NotRegularFileError';
}

/**
 * Reads a file that someone else (the agent, a repository) may have made anything: never
 * through a final symbolic link, never blocking on a FIFO or device (opened non-blocking, then
 * checked to be a regular file before a byte is read), and never more than `maxBytes`.
 */
export async function readRegularFile(file: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotRegularFileError(`${file} is not a regular file`);
    if (stat.size > maxBytes) throw new NotRegularFileError(`${file} is larger than ${maxBytes} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file the same way: an existing FIFO, device or link at the path is refused instead of
 * being opened (opening a FIFO for writing blocks until someone reads it).
 */
export async function writeRegularFile(file: string, content: string | Buffer): Promise<void> {
  const existing = await fs.lstat(file).catch(() => null);
  if (existing && !existing.isFile()) throw new NotRegularFileError(`${file} is not a regular file`);
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  try {
    if (!(await handle.stat()).isFile()) throw new NotRegularFileError(`${file} is not a regular file`);
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}
