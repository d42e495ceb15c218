import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';

// GitHub's published OpenAPI description of its REST API (from @octokit/openapi), compiled with
// ajv, so a test can check a response the simulator gave against what GitHub documents.
type Json = Record<string, unknown>;

/** OpenAPI 3.0's `nullable: true` in plain JSON Schema: the value may also be null. */
function withNulls(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withNulls);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) if (key !== 'nullable') out[key] = withNulls(value);
  if ((node as Json).nullable !== true) return out;
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'], ...(Array.isArray(out.enum) && { enum: [...(out.enum as unknown[]), null] }) };
  return { anyOf: [out, { type: 'null' }] };
}

// Where the description contradicts itself, the schema GitHub documents elsewhere for the same
// object: `GET /app/installations` inlines `account` as allOf(user, enterprise), which no account
// can satisfy, while its own `installation` schema says anyOf.
const ERRATA: Record<string, string> = {
  'GET /app/installations 200': 'github#/components/schemas/installation-list',
};

export interface ResponseCheck {
  /** The documented operation, e.g. `GET /repos/{owner}/{repo}/pulls/{pull_number}`. */
  route: string;
  status: number;
  /** What does not match the documented schema; empty when it all matches. */
  errors: string[];
}

export function loadGitHubOpenApi() {
  const file = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = withNulls(JSON.parse(readFileSync(file, 'utf8'))) as { paths: Record<string, Record<string, Json>>; components: Json };
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  // ajv-formats is CommonJS: its function is the default export's default.
  (formats as unknown as { default: (ajv: Ajv) => void }).default(ajv);
  const installation = { $ref: '#/components/schemas/installation' };
  ajv.addSchema({ $id: 'github', components: { ...spec.components, schemas: { ...(spec.components.schemas as Json), 'installation-list': { type: 'array', items: installation } } }, paths: spec.paths });
  const compiled = new Map<string, ValidateFunction>();

  return {
    /** Whether GitHub documents this method and path template. */
    documents(route: string): boolean {
      const [method = '', path = ''] = route.split(' ');
      return spec.paths[path]?.[method.toLowerCase()] !== undefined;
    },
    /** Checks a response body against the schema GitHub documents for that route and status. */
    check(route: string, status: number, body: unknown): ResponseCheck {
      const [method = '', path = ''] = route.split(' ');
      const operation = spec.paths[path]?.[method.toLowerCase()] as { responses?: Record<string, Json> } | undefined;
      if (!operation) return { route, status, errors: ['GitHub does not document this route'] };
      const documented = operation.responses?.[String(status)];
      // Most operations point to shared responses (`#/components/responses/accepted`).
      const response = typeof documented?.$ref === 'string' ? (spec.components.responses as Record<string, Json>)[documented.$ref.split('/').at(-1)!] : documented;
      if (!response) return { route, status, errors: [`GitHub does not document status ${status} here (documented: ${Object.keys(operation.responses ?? {}).join(', ')})`] };
      const content = response.content as Record<string, Json> | undefined;
      if (!content?.['application/json']) return { route, status, errors: body === '' || body === undefined || body === null ? [] : ['a body where GitHub documents none'] };
      const pointer = ['paths', path, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema'].map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
      const key = ERRATA[`${route} ${status}`] ?? (typeof documented?.$ref === 'string' ? `github${documented.$ref}/content/application~1json/schema` : `github#/${pointer}`);
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.compile({ $ref: key });
        compiled.set(key, validate);
      }
      const ok = validate(body);
      return { route, status, errors: ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}`) };
    },
  };
}
