import fs from 'node:fs/promises';
import path from 'node:path';
import { NotRegularFileError, writeRegularFile } from '../../util/regular-file.ts';
import { ToolInputError, type ToolContext } from './tool.ts';

/**
 * Writes a file for the edit tools (the path already resolved inside the workspace), creating
 * its directories. A FIFO, device or socket at the path is refused, not opened. What the tool
 * creates is handed to the sandbox user, so the agent's commands (formatters, snapshot tests)
 * can change it when they run as another user than the worker.
 */
export async function writeWorkspaceFile(absolute: string, relative: string, content: string, context: Pick<ToolContext, 'fileOwner'>): Promise<void> {
  const firstCreated = await fs.mkdir(path.dirname(absolute), { recursive: true });
  const existed = await fs.lstat(absolute).then(() => true, () => false);
  try {
    await writeRegularFile(absolute, content);
  } catch (err) {
    if (err instanceof NotRegularFileError) throw new ToolInputError(`${relative}: not a regular file (a directory, FIFO, device or socket); remove it first with run_shell if you mean to replace it`);
    throw err;
  }
  if (!context.fileOwner) return;
  const owned = existed ? [] : [absolute];
  // mkdir reports the first directory it created; those below it are new too.
  for (let dir = path.dirname(absolute); firstCreated && dir.length >= firstCreated.length; dir = path.dirname(dir)) owned.push(dir);
  for (const file of owned) await fs.lchown(file, context.fileOwner.uid, context.fileOwner.gid);
}
