/** A problem the user can fix (bad config, missing permission): reported, never retried. */
export class UserFacingError extends Error {
  override name = 'UserFacingError';
}

/** Start-up configuration problems: printed as one line naming the variable, then exit. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
