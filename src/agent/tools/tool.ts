import type { WorkspaceAccess } from '../../sandbox/workspace-access.ts';
import type { FileViews } from './file-views.ts';
import type { PlanStep } from './update-plan.ts';

/** What every tool call gets: the workspace plus the run's own state. */
export interface ToolContext extends WorkspaceAccess {
  views: FileViews;
}

/** What a tool hands back: text for the model, plus facts the loop tracks. */
export interface ToolResult {
  output: string;
  /** The tool changed files. */
  edited?: boolean;
  /** A test run's verdict, when the tool ran the tests. */
  testsPassed?: boolean;
  /** The model declared the task finished with this summary. */
  finished?: { summary: string };
  /** The model's plan, as it now stands. */
  plan?: PlanStep[];
}

export interface AgentTool {
  name: string;
  description: string;
  /** JSON schema, strict: every property required, nullable where optional. */
  parameters: Record<string, unknown>;
  run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult>;
}

/** A mistake the model can fix: its message goes back to the model as the tool's output. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

export function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new ToolInputError(`\`${name}\` must be a string`);
  return value;
}

export function optionalNumberArg(args: Record<string, unknown>, name: string): number | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ToolInputError(`\`${name}\` must be a number`);
  return value;
}

export function objectSchema(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}
