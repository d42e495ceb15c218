import path from 'node:path';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import ts from 'typescript';
import { ROOT } from './dockerfile.ts';
import type { Manifest } from './helm-chart.ts';

// Kubernetes' and KEDA's schemas, as the kubernetes-models packages generate them from the API's
// OpenAPI documents: validators (types, required fields, enums, formats) and TypeScript types,
// whose excess-property checks catch unknown (misspelt) fields, which the validators let through.
interface Kind {
  validate(data: Manifest): void;
  module: string;
  type: string;
}

// The generated models take their own typed data; the manifests are checked as plain objects.
type ModelClass = new (data: never) => { validate(): void };

function kind(model: ModelClass, module: string, type: string): Kind {
  return { validate: (data) => new model(data as never).validate(), module, type };
}

const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': kind(ConfigMap, 'kubernetes-models/v1', 'IConfigMap'),
  'v1/Secret': kind(Secret, 'kubernetes-models/v1', 'ISecret'),
  'v1/Service': kind(Service, 'kubernetes-models/v1', 'IService'),
  'v1/ServiceAccount': kind(ServiceAccount, 'kubernetes-models/v1', 'IServiceAccount'),
  'apps/v1/Deployment': kind(Deployment, 'kubernetes-models/apps/v1', 'IDeployment'),
  'autoscaling/v2/HorizontalPodAutoscaler': kind(HorizontalPodAutoscaler, 'kubernetes-models/autoscaling/v2', 'IHorizontalPodAutoscaler'),
  'networking.k8s.io/v1/Ingress': kind(Ingress, 'kubernetes-models/networking.k8s.io/v1', 'IIngress'),
  'policy/v1/PodDisruptionBudget': kind(PodDisruptionBudget, 'kubernetes-models/policy/v1', 'IPodDisruptionBudget'),
  'keda.sh/v1alpha1/ScaledObject': kind(ScaledObject, '@kubernetes-models/keda/keda.sh/v1alpha1', 'IScaledObject'),
  'keda.sh/v1alpha1/TriggerAuthentication': kind(TriggerAuthentication, '@kubernetes-models/keda/keda.sh/v1alpha1', 'ITriggerAuthentication'),
};

function kindOf(manifest: Manifest): Kind {
  const found = KINDS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!found) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  return found;
}

/** Schema violations of each manifest, as `Kind/name: message`. */
export function schemaErrors(manifests: Manifest[]): string[] {
  return manifests.flatMap((manifest) => {
    try {
      kindOf(manifest).validate(manifest);
      return [];
    } catch (err) {
      return [`${manifest.kind}/${manifest.metadata.name}: ${(err as Error).message}`];
    }
  });
}

/** Fields the schemas do not know (type-checks the manifests as object literals of their types). */
export function unknownFieldErrors(manifests: Manifest[]): string[] {
  const file = path.join(ROOT, 'test/unit/rendered-manifests.generated.ts');
  const kinds = manifests.map(kindOf);
  const imports = [...new Set(kinds.map((k) => k.module))].map(
    (module) => `import type { ${[...new Set(kinds.filter((k) => k.module === module).map((k) => k.type))].join(', ')} } from '${module}';`,
  );
  const declarations = manifests.map((manifest, i) => `export const m${i}: ${kinds[i]?.type} = ${JSON.stringify(manifest, null, 1)};`);
  const source = [...imports, ...declarations].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file ? ts.createSourceFile(name, source, languageVersion) : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : -1;
    const declaration = source.split('\n').slice(0, line + 1).reverse().find((text) => text.startsWith('export const m'));
    const index = Number(/^export const m(\d+)/.exec(declaration ?? '')?.[1]);
    const manifest = manifests[index];
    return `${manifest ? `${manifest.kind}/${manifest.metadata.name}` : 'manifests'}: ${message}`;
  });
}
