import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hostAllowed } from './egress-proxy.ts';

const execFileAsync = promisify(execFile);

async function ask(program: string, args: string[]): Promise<string> {
  try {
    return (await execFileAsync(program, args, { timeout: 15_000, encoding: 'utf8' })).stdout.trim();
  } catch {
    return '';
  }
}

function hostsOf(urls: string[]): string[] {
  const hosts: string[] = [];
  for (const url of urls) {
    try {
      hosts.push(new URL(url).hostname);
    } catch {
      // `direct`, `off` and empty answers name no host.
    }
  }
  return hosts;
}

/**
 * The package registries the worker's own tools are configured for (npm, Go's module proxy,
 * pip's index and file host), asked of the tools themselves at start: the default of what a
 * box may reach while it sets a repository up. Cargo and Maven name theirs to no command;
 * operators add those to AI_FIX_NETWORK_ALLOW.
 */
async function packageRegistryHosts(): Promise<string[]> {
  const [npm, goproxy, pip] = await Promise.all([
    ask('npm', ['config', 'get', 'registry']),
    ask('go', ['env', 'GOPROXY']),
    ask('python3', ['-c', 'from pip._internal.models.index import PyPI; print(PyPI.url); print("https://" + PyPI.file_storage_domain)']),
  ]);
  return [...new Set(hostsOf([npm, ...goproxy.split(/[,|]/), ...pip.split('\n')]))].sort();
}

/** The operator's allow-list (AI_FIX_NETWORK_ALLOW), where `registries` stands for the detected ones. */
export async function operatorAllowList(setting: string | undefined): Promise<string[]> {
  const entries = (setting ?? 'registries').split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.includes('none')) return [];
  const hosts = entries.filter((e) => e !== 'registries');
  return [...new Set(entries.includes('registries') ? [...hosts, ...(await packageRegistryHosts())] : hosts)];
}

/** The part of a repository's list the operator allows (a wildcard only under an equal or wider one). */
export function withinOperator(repository: readonly string[], operator: readonly string[]): string[] {
  return repository.filter((entry) => {
    if (!entry.startsWith('.')) return hostAllowed(entry, operator);
    return operator.some((rule) => rule.startsWith('.') && (entry === rule || entry.endsWith(rule)));
  });
}
