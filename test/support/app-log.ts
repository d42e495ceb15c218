import type { AppProcess } from './app-process.ts';

const TAIL_LINES = 80;

/**
 * Runs a test body against an app process; when it fails, the error carries the tail of the
 * app's log, which is where the reason is (a timed-out wait says only what did not happen).
 */
export async function withAppLog(app: () => AppProcess | undefined, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const output = app()?.output();
    if (error instanceof Error && output) {
      error.message += `\n--- the app's last ${TAIL_LINES} log lines ---\n${output.trimEnd().split('\n').slice(-TAIL_LINES).join('\n')}`;
    }
    throw error;
  }
}
