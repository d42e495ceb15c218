// A test-only renderer for the part of Go's text/template and Helm's functions that the chart in
// deploy/helm uses, so the chart's tests run where Helm is not installed. It is checked against
// Helm's own output (test/fixtures/helm/*.rendered.yaml, made with real Helm by
// test/fixtures/helm/render-with-helm.sh); anything outside the subset is an error, never a guess.
import crypto from 'node:crypto';
import { stringify } from 'yaml';

type Value = unknown;

interface TextNode {
  type: 'text';
  text: string;
}
interface ActionNode {
  type: 'action';
  pipeline: Pipeline;
}
interface IfNode {
  type: 'if' | 'with';
  branches: Array<{ pipeline: Pipeline; body: Node[] }>;
  otherwise: Node[];
}
type Node = TextNode | ActionNode | IfNode;

type Arg =
  | { kind: 'field'; root: 'dot' | 'root'; path: string[] }
  | { kind: 'literal'; value: Value }
  | { kind: 'func'; name: string }
  | { kind: 'pipeline'; pipeline: Pipeline };
type Command = Arg[];
type Pipeline = Command[];

interface Token {
  kind: 'text' | 'action';
  value: string;
}

/** Splits a template into text and actions, applying `{{-` / `-}}` whitespace trimming. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let rest = source;
  let trimNext = false;
  while (rest.length) {
    const open = rest.indexOf('{{');
    let text = open < 0 ? rest : rest.slice(0, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) tokens.push({ kind: 'text', value: text });
      break;
    }
    const close = rest.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed action');
    let inner = rest.slice(open + 2, close);
    if (/^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(2);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -2);
    if (text) tokens.push({ kind: 'text', value: text });
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) tokens.push({ kind: 'action', value: inner });
    rest = rest.slice(close + 2);
  }
  return tokens;
}

/** Lexes an action's words: strings, parentheses and the pipe stay whole. */
function words(action: string): string[] {
  const out: string[] = [];
  const pattern = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||:=|[^\s()|]+)/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(action)) !== null) {
    if (match[1] !== undefined) out.push(match[1]);
    if (pattern.lastIndex >= action.trimEnd().length) break;
  }
  return out;
}

function parsePipeline(items: string[]): Pipeline {
  const pipeline: Pipeline = [];
  let command: Command = [];
  let i = 0;
  while (i < items.length) {
    const word = items[i]!;
    if (word === '|') {
      pipeline.push(command);
      command = [];
      i++;
    } else if (word === '(') {
      let depth = 1;
      let j = i + 1;
      while (depth > 0) {
        if (j >= items.length) throw new Error('unbalanced parentheses');
        if (items[j] === '(') depth++;
        if (items[j] === ')') depth--;
        j++;
      }
      command.push({ kind: 'pipeline', pipeline: parsePipeline(items.slice(i + 1, j - 1)) });
      i = j;
    } else {
      command.push(parseArg(word));
      i++;
    }
  }
  if (command.length) pipeline.push(command);
  return pipeline;
}

function parseArg(word: string): Arg {
  if (word.startsWith('"')) return { kind: 'literal', value: JSON.parse(word) as string };
  if (word.startsWith('`')) return { kind: 'literal', value: word.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(word)) return { kind: 'literal', value: Number(word) };
  if (word === 'true' || word === 'false') return { kind: 'literal', value: word === 'true' };
  if (word === 'nil') return { kind: 'literal', value: null };
  if (word === '.') return { kind: 'field', root: 'dot', path: [] };
  if (word.startsWith('.')) return { kind: 'field', root: 'dot', path: word.slice(1).split('.') };
  if (word === '$') return { kind: 'field', root: 'root', path: [] };
  if (word.startsWith('$.')) return { kind: 'field', root: 'root', path: word.slice(2).split('.') };
  if (/^[A-Za-z]\w*$/.test(word)) return { kind: 'func', name: word };
  throw new Error(`unsupported template word: ${word}`);
}

/** Builds the node tree; `define` blocks are collected into `defines`. */
function parse(tokens: Token[], defines: Map<string, Node[]>): Node[] {
  let position = 0;
  const block = (terminators: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (position < tokens.length) {
      const token = tokens[position++]!;
      if (token.kind === 'text') {
        nodes.push({ type: 'text', text: token.value });
        continue;
      }
      const [keyword = '', ...rest] = words(token.value);
      if (terminators.includes(keyword)) {
        return { nodes, end: token.value };
      }
      if (keyword === 'if' || keyword === 'with') {
        const node: IfNode = { type: keyword, branches: [], otherwise: [] };
        let pipeline = parsePipeline(rest);
        for (;;) {
          const inner = block(['else', 'end']);
          node.branches.push({ pipeline, body: inner.nodes });
          if (inner.end === 'end') break;
          const [, next, ...elseRest] = words(inner.end);
          if (next === keyword) {
            pipeline = parsePipeline(elseRest);
            continue;
          }
          node.otherwise = block(['end']).nodes;
          break;
        }
        nodes.push(node);
      } else if (keyword === 'define') {
        const name = JSON.parse(rest[0] ?? '""') as string;
        defines.set(name, block(['end']).nodes);
      } else if (keyword === 'else' || keyword === 'end') {
        throw new Error(`unexpected ${keyword}`);
      } else {
        nodes.push({ type: 'action', pipeline: parsePipeline([keyword, ...rest]) });
      }
    }
    if (terminators.length) throw new Error(`missing {{ end }} (expected one of ${terminators.join(', ')})`);
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

function truthy(value: Value): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function print(value: Value): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`cannot print a ${Array.isArray(value) ? 'list' : 'map'} without toYaml`);
}

function toYaml(value: Value): string {
  if (value === null || value === undefined) return 'null';
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
}

function indentLines(spaces: number, text: string): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

function printf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(/%[sv%]/g, (verb) => (verb === '%%' ? '%' : print(args[i++])));
}

export interface RenderContext {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string; Service: string };
  Chart: { Name: string; Version: string; AppVersion: string };
}

/** Renders templates (name → source) the way `helm template` does; returns name → output. */
export function renderTemplates(templates: Record<string, string>, context: RenderContext): Record<string, string> {
  const defines = new Map<string, Node[]>();
  const trees = new Map<string, Node[]>();
  for (const [name, source] of Object.entries(templates)) trees.set(name, parse(tokenize(source), defines));

  const field = (base: Value, path: string[]): Value => {
    let value = base;
    for (const key of path) {
      if (value === null || value === undefined) return undefined;
      if (typeof value !== 'object') throw new Error(`cannot read .${key} of a ${typeof value}`);
      value = (value as Record<string, Value>)[key];
    }
    return value;
  };

  const functions: Record<string, (...args: Value[]) => Value> = {
    include: (name, data) => {
      const body = defines.get(String(name));
      if (!body) throw new Error(`no template named ${String(name)}`);
      return renderNodes(body, data);
    },
    fail: (message) => {
      throw new Error(String(message));
    },
    required: (message, value) => {
      if (value === null || value === undefined || value === '') throw new Error(String(message));
      return value;
    },
    default: (fallback, value) => (truthy(value) ? value : fallback),
    quote: (...values) => values.filter((v) => v !== null && v !== undefined).map((v) => JSON.stringify(print(v))).join(' '),
    toYaml: (value) => toYaml(value),
    nindent: (spaces, text) => `\n${indentLines(Number(spaces), String(text))}`,
    printf: (format, ...args) => printf(String(format), args),
    trunc: (length, text) => String(text).slice(0, Number(length)),
    trimSuffix: (suffix, text) => (String(text).endsWith(String(suffix)) ? String(text).slice(0, -String(suffix).length) : String(text)),
    contains: (needle, haystack) => String(haystack).includes(String(needle)),
    replace: (from, to, text) => String(text).split(String(from)).join(String(to)),
    add: (...numbers) => numbers.reduce<number>((sum, n) => sum + Math.trunc(Number(n)), 0),
    eq: (a, ...others) => others.some((b) => a === b),
    not: (value) => !truthy(value),
    sha256sum: (value) => crypto.createHash('sha256').update(String(value)).digest('hex'),
  };

  const evaluateArg = (arg: Arg, dot: Value): Value => {
    if (arg.kind === 'literal') return arg.value;
    if (arg.kind === 'field') return field(arg.root === 'root' ? context : dot, arg.path);
    if (arg.kind === 'pipeline') return evaluate(arg.pipeline, dot);
    return call(arg.name, [], dot);
  };

  const call = (name: string, args: Arg[], dot: Value, piped: Value[] = []): Value => {
    // Go's and/or stop at the first argument that decides the answer.
    if (name === 'and' || name === 'or') {
      let last: Value;
      for (const arg of args) {
        last = evaluateArg(arg, dot);
        if (truthy(last) === (name === 'or')) return last;
      }
      for (const value of piped) {
        last = value;
        if (truthy(last) === (name === 'or')) return last;
      }
      return last;
    }
    const fn = functions[name];
    if (!fn) throw new Error(`function ${name} is not supported by the test renderer`);
    return fn(...args.map((arg) => evaluateArg(arg, dot)), ...piped);
  };

  const evaluate = (pipeline: Pipeline, dot: Value): Value => {
    let result: Value;
    pipeline.forEach((command, index) => {
      const piped = index === 0 ? [] : [result];
      const [head, ...args] = command;
      if (!head) throw new Error('empty command');
      if (head.kind === 'func') result = call(head.name, args, dot, piped);
      else if (args.length || piped.length) throw new Error('only functions take arguments');
      else result = evaluateArg(head, dot);
    });
    return result;
  };

  const renderNodes = (nodes: Node[], dot: Value): string => {
    let out = '';
    for (const node of nodes) {
      if (node.type === 'text') out += node.text;
      else if (node.type === 'action') out += print(evaluate(node.pipeline, dot));
      else {
        const taken = node.branches.find((branch) => truthy(evaluate(branch.pipeline, dot)));
        if (!taken) out += renderNodes(node.otherwise, dot);
        else out += renderNodes(taken.body, node.type === 'with' ? evaluate(taken.pipeline, dot) : dot);
      }
    }
    return out;
  };

  const output: Record<string, string> = {};
  for (const [name, tree] of trees) {
    if (!name.split('/').at(-1)?.startsWith('_')) output[name] = renderNodes(tree, context);
  }
  return output;
}
