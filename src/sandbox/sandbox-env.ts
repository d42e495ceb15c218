// The environment of every command the agent runs: an allow-list, so no token, model key,
// Redis URL or webhook secret of the worker can reach the repository's code.
const PASSED_THROUGH = ['PATH', 'LANG', 'LC_ALL', 'TZ'];

export function sandboxEnv(home: string, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {
    HOME: home,
    TMPDIR: home,
    CI: 'true',
    TERM: 'dumb',
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
    PAGER: 'cat',
    GIT_PAGER: 'cat',
    // The repository metadata belongs to the worker, not to the sandbox user: let the agent's
    // git commands read it anyway.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
  };
  for (const name of PASSED_THROUGH) {
    const value = source[name];
    if (value) env[name] = value;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}
