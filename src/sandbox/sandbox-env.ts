// The environment of every command the agent runs: an allow-list, so no token, model key,
// Redis URL or webhook secret of the worker can reach the repository's code.
const LOCALE = ['LANG', 'LC_ALL', 'TZ'];

/**
 * `toolchain` is the policy's PATH and toolchain variables (see toolchains.ts); `proxy` the way
 * out of a bwrap box, for every tool that honours the usual variables (npm, pip, cargo, go, curl).
 */
export function sandboxEnv(home: string, toolchain: Record<string, string> = {}, proxy?: string, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {
    HOME: home,
    TMPDIR: home,
    CI: 'true',
    TERM: 'dumb',
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
    PAGER: 'cat',
    GIT_PAGER: 'cat',
    // Some of what the box's git reads (the task's objects) belongs to the worker.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
  };
  for (const name of LOCALE) {
    const value = source[name];
    if (value) env[name] = value;
  }
  Object.assign(env, toolchain);
  env.PATH ??= source.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  if (proxy) {
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) env[name] = proxy;
    env.NO_PROXY = env.no_proxy = 'localhost,127.0.0.1,::1';
  }
  return env;
}
