import { applyPatchTool } from './apply-patch.ts';
import { editFileTool } from './edit-file.ts';
import { finishTool } from './finish.ts';
import { listFilesTool } from './list-files.ts';
import { readFileTool } from './read-file.ts';
import { runShellTool } from './run-shell.ts';
import { runTestsTool } from './run-tests.ts';
import { searchTool } from './search.ts';
import type { AgentTool } from './tool.ts';
import { updatePlanTool } from './update-plan.ts';
import { writeFileTool } from './write-file.ts';

// A fixed order: the tool schemas are part of the cached prompt prefix.
export const defaultTools: readonly AgentTool[] = [
  readFileTool,
  listFilesTool,
  searchTool,
  editFileTool,
  applyPatchTool,
  writeFileTool,
  runShellTool,
  runTestsTool,
  updatePlanTool,
  finishTool,
];
