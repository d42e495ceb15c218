import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// The folder map in the README is a promise about direction: data flows app → queue → worker →
// workspace/sandbox/agent/github, so imports between folders must never lead back.
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every import between two top-level folders of src/: importer folder → imported folders. */
function folderImports(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  const files = fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const from = file.split(path.sep)[0]!.replace(/\.ts$/, '');
    const text = fs.readFileSync(path.join(SRC, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), match[1]!));
      const to = target.split(path.sep)[0]!.replace(/\.ts$/, '');
      if (to === from || to.startsWith('..')) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      edges.set(to, [...(edges.get(to) ?? []), file]);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** A chain of folders that leads back to its start, or undefined when there is none. */
function findCycle(graph: Map<string, Map<string, string[]>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (folder: string): string[] | undefined => {
    if (state.get(folder) === 'done') return undefined;
    if (state.get(folder) === 'visiting') return [...stack.slice(stack.indexOf(folder)), folder];
    state.set(folder, 'visiting');
    stack.push(folder);
    for (const next of graph.get(folder)?.keys() ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(folder, 'done');
    return undefined;
  };
  for (const folder of graph.keys()) {
    const cycle = visit(folder);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('layering of src/', () => {
  const graph = folderImports();

  it('sees the imports (the check is live)', () => {
    expect(graph.get('worker')?.has('agent')).toBe(true);
    expect(findCycle(new Map([['a', new Map([['b', ['x']]])], ['b', new Map([['a', ['y']]])]]))).toEqual(['a', 'b', 'a']);
  });

  it('has no chain of imports from a folder back to itself', () => {
    const cycle = findCycle(graph);
    const via = cycle?.slice(1).map((to, i) => `${cycle[i]} → ${to} (${graph.get(cycle[i]!)?.get(to)?.join(', ')})`);
    expect(via).toBeUndefined();
  });

  it('keeps the agent free of GitHub', () => {
    expect([...(graph.get('agent')?.get('github') ?? [])]).toEqual([]);
  });
});
