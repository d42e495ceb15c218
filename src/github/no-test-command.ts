// One wording wherever ai-fix admits that no test checked its work (progress comment, PR body).
const HOW_TO_CONFIGURE =
  'Set `test:` (or `tests:` for a sub-folder) in `.github/ai-fix.yml`, and `setup:` if the tests need dependencies installed first.';

export function noTestCommandNote(finished: boolean): string {
  return finished
    ? `No test command ran, so nothing verified this change. ${HOW_TO_CONFIGURE}`
    : `No test command was configured or detected, so no test will verify this change. ${HOW_TO_CONFIGURE}`;
}
