import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from './dockerfile.ts';
import { renderTemplates } from './go-template.ts';

export const CHART_DIR = path.join(ROOT, 'deploy/helm/ai-fix');
export const HELM_FIXTURES = path.join(ROOT, 'test/fixtures/helm');
export const RELEASE_NAMESPACE = 'ai-fix';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Helm's values merge: maps merge key by key, anything else is replaced, null removes the key. */
export function mergeValues(base: Tree, overrides: Tree): Tree {
  const merged: Tree = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    if (value === null) delete merged[key];
    else if (isTree(current) && isTree(value)) merged[key] = mergeValues(current, value);
    else merged[key] = value;
  }
  return merged;
}

export function chartValues(): Tree {
  return parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Tree;
}

export function chartMetadata(): { name: string; version: string; appVersion: string } {
  return parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
}

/** Parses `helm template`-style output (documents separated by `---`) into manifests. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
}

/** Renders the chart like `helm template <release> deploy/helm/ai-fix -f <values>` would. */
export function renderChart(overrides: Tree = {}, release = 'ai-fix'): Manifest[] {
  const templatesDir = path.join(CHART_DIR, 'templates');
  const templates = Object.fromEntries(
    readdirSync(templatesDir)
      .filter((file) => /\.(ya?ml|tpl)$/.test(file))
      .map((file) => [file, readFileSync(path.join(templatesDir, file), 'utf8')]),
  );
  const chart = chartMetadata();
  const output = renderTemplates(templates, {
    Values: mergeValues(chartValues(), overrides),
    Release: { Name: release, Namespace: RELEASE_NAMESPACE, Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  });
  return Object.values(output).flatMap(parseManifests);
}

export interface HelmCase {
  name: string;
  release: string;
  values: Tree;
  /** What real Helm rendered for these values. */
  helmOutput: Manifest[];
}

/** The cases rendered with real Helm by test/fixtures/helm/render-with-helm.sh. */
export function helmCases(): HelmCase[] {
  return readdirSync(HELM_FIXTURES)
    .filter((file) => file.endsWith('.values.yaml'))
    .map((file) => {
      const text = readFileSync(path.join(HELM_FIXTURES, file), 'utf8');
      const name = file.replace(/\.values\.yaml$/, '');
      const release = /^# release: (\S+)/.exec(text)?.[1];
      if (!release) throw new Error(`${file} does not name its release on its first line`);
      return {
        name,
        release,
        values: (parse(text) ?? {}) as Tree,
        helmOutput: parseManifests(readFileSync(path.join(HELM_FIXTURES, `${name}.rendered.yaml`), 'utf8')),
      };
    });
}

export function byKindAndName(manifests: Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

export function find(manifests: Manifest[], kind: string, nameSuffix = ''): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind} named *${nameSuffix} was rendered`);
  return found;
}
