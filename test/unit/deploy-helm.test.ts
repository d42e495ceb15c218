import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { createMetrics, registerQueueDepth } from '../../src/observability/metrics.ts';
import { loadEnv, requireAppCredentials, requireOpenAiKey } from '../../src/config/env.ts';
import { dockerStages, imageEnv, readDockerfile, ROOT } from '../support/dockerfile.ts';
import { byKindAndName, CHART_DIR, chartMetadata, chartValues, find, helmCases, renderChart, type Manifest } from '../support/helm-chart.ts';
import { schemaErrors, unknownFieldErrors } from '../support/kubernetes-schemas.ts';

// The chart in deploy/helm/ai-fix, rendered by the test renderer (checked against real Helm's
// output first), validated against Kubernetes' and KEDA's schemas, and held to what the app needs.

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  startupProbe?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  containers: Container[];
  hostUsers?: boolean;
  runtimeClassName?: string;
  securityContext?: Record<string, unknown>;
  volumes?: Array<{ name: string; emptyDir?: { sizeLimit?: string } }>;
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
}
interface DeploymentSpec {
  replicas?: number;
  template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec };
}

const SECRETS = {
  appId: 12345,
  privateKey: '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n',
  webhookSecret: 'whsec',
  openaiApiKey: 'sk-example',
  redisUrl: 'redis://redis:6379',
};

const PROVABLE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

const deploymentSpec = (manifest: Manifest) => manifest.spec as DeploymentSpec;
const podOf = (manifests: Manifest[], component: 'server' | 'worker') => deploymentSpec(find(manifests, 'Deployment', `-${component}`)).template.spec;
function containerOf(manifests: Manifest[], component: 'server' | 'worker'): Container {
  const [container] = podOf(manifests, component).containers;
  if (!container) throw new Error(`the ${component} has no container`);
  return container;
}

/** The environment a container gets, with secret references resolved from `secrets`. */
function containerEnv(manifests: Manifest[], container: Container, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === name);
    if (!configMap) throw new Error(`ConfigMap ${name} is not rendered`);
    Object.assign(env, configMap.data);
  }
  for (const entry of container.env ?? []) {
    const key = entry.valueFrom?.secretKeyRef?.key;
    env[entry.name] = entry.value ?? (key !== undefined ? (secrets[key] ?? `<missing ${key}>`) : '');
  }
  // The fixtures hold a placeholder key that signs nothing, and the app proves its key at start.
  if (env.PRIVATE_KEY === SECRETS.privateKey) env.PRIVATE_KEY = PROVABLE_KEY;
  return env;
}

const chartSecret = (manifests: Manifest[]) => (find(manifests, 'Secret').stringData ?? {}) as Record<string, string>;

describe('the Helm chart', () => {
  const cases = helmCases();

  it('renders in the test renderer exactly as Helm renders it', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(['hpa', 'keda', 'minimal']);
    for (const c of cases) {
      expect({ case: c.name, manifests: byKindAndName(renderChart(c.values, c.release)) }).toEqual({ case: c.name, manifests: byKindAndName(c.helmOutput) });
    }
  });

  it("renders manifests that Kubernetes' and KEDA's schemas accept, with no unknown fields", () => {
    const manifests = cases.flatMap((c) => c.helmOutput);
    expect(new Set(manifests.map((m) => m.kind))).toEqual(
      new Set(['ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'Deployment', 'Ingress', 'PodDisruptionBudget', 'ScaledObject', 'TriggerAuthentication', 'HorizontalPodAutoscaler']),
    );
    expect(schemaErrors(manifests)).toEqual([]);
    expect(unknownFieldErrors(manifests)).toEqual([]);
  });

  it('the schema checks catch a wrong type and a misspelt field', () => {
    const [server] = renderChart({ secret: SECRETS }).filter((m) => m.kind === 'Deployment');
    if (!server) throw new Error('no Deployment');
    const broken = structuredClone(server);
    const container = deploymentSpec(broken).template.spec.containers[0] as unknown as Record<string, unknown>;
    container.ports = [{ name: 'http', containerPort: 'three thousand' }];
    container.securityContext = { readOnlyRootFileSystem: true };
    expect(schemaErrors([broken]).join('\n')).toMatch(/containerPort/);
    expect(unknownFieldErrors([broken]).join('\n')).toMatch(/readOnlyRootFileSystem/);
  });

  it('fails to render without credentials, or with autoscaling it cannot do, naming the value', () => {
    expect(() => renderChart()).toThrow(/secret\.appId is required/);
    expect(() => renderChart({ secret: { ...SECRETS, redisUrl: '' } })).toThrow(/secret\.redisUrl is required/);
    expect(() => renderChart({ secret: { existingSecret: 'mine' }, autoscaling: { enabled: true } })).toThrow(/autoscaling\.keda\.redis\.address/);
    expect(() => renderChart({ secret: { existingSecret: 'mine' }, server: { ingress: { enabled: true } } })).toThrow(/server\.ingress\.host/);
    expect(() => renderChart({ secret: { existingSecret: 'mine' }, autoscaling: { enabled: true, keda: { redis: { address: 'r:6379', passwordSecret: { name: 'redis' } } } } })).toThrow(/passwordSecret\.key is required/);
    expect(() => renderChart({ secret: { existingSecret: 'mine' }, autoscaling: { enabled: true, kind: 'cpu' } })).toThrow(/autoscaling\.kind must be keda or hpa/);
    expect(() => renderChart({ secret: { existingSecret: 'mine' }, autoscaling: { enabled: true, kind: 'hpa', minReplicas: 0 } })).toThrow(/autoscaling\.minReplicas must be at least 1/);
  });

  it('runs the image the way docker-compose does: serve and worker, with the image’s entrypoint', () => {
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command: string[] }> };
    const manifests = renderChart({ secret: SECRETS });
    for (const [component, service] of [['server', 'server'], ['worker', 'worker']] as const) {
      const container = containerOf(manifests, component);
      expect(container.command).toBeUndefined();
      expect(container.args).toEqual(compose.services[service]?.command);
      expect(container.image).toBe(`ai-fix:${chartMetadata().appVersion}`);
    }
    expect(chartMetadata().appVersion).toBe((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('runs the workers from the full image with image.variant full (tagged <tag>-full), the servers always from slim', () => {
    expect(chartValues().image).toMatchObject({ variant: 'slim' });
    const targets = dockerStages(readDockerfile()).map((s) => s.name);
    expect(targets).toEqual(expect.arrayContaining(['slim', 'full']));
    const full = renderChart({ secret: SECRETS, image: { variant: 'full' } });
    expect(containerOf(full, 'worker').image).toBe(`ai-fix:${chartMetadata().appVersion}-full`);
    expect(containerOf(full, 'server').image).toBe(`ai-fix:${chartMetadata().appVersion}`);
    const tagged = renderChart({ secret: SECRETS, image: { repository: 'registry.example.com/ai-fix', tag: '1.2.3', variant: 'full' } });
    expect(containerOf(tagged, 'worker').image).toBe('registry.example.com/ai-fix:1.2.3-full');
    expect(containerOf(tagged, 'server').image).toBe('registry.example.com/ai-fix:1.2.3');
    expect(() => renderChart({ secret: SECRETS, image: { variant: 'medium' } })).toThrow(/image\.variant must be slim or full/);
    // Real Helm rendered the variant too (test/fixtures/helm/keda.*).
    const keda = helmCases().find((c) => c.name === 'keda');
    expect(keda?.values).toMatchObject({ image: { variant: 'full' } });
    expect(containerOf(keda?.helmOutput ?? [], 'worker').image).toMatch(/-full$/);
    expect(containerOf(keda?.helmOutput ?? [], 'server').image).not.toMatch(/-full$/);
  });

  it('gives each process a configuration the app accepts, and the model key to workers only', () => {
    for (const c of cases) {
      const manifests = c.helmOutput;
      const secrets = manifests.some((m) => m.kind === 'Secret')
        ? chartSecret(manifests)
        : { APP_ID: '1', PRIVATE_KEY: SECRETS.privateKey, WEBHOOK_SECRET: 's', OPENAI_API_KEY: 'k', REDIS_URL: 'redis://r:6379' };
      const serverEnv = containerEnv(manifests, containerOf(manifests, 'server'), secrets);
      const workerEnv = containerEnv(manifests, containerOf(manifests, 'worker'), secrets);
      expect(() => requireAppCredentials(loadEnv(serverEnv))).not.toThrow();
      expect(() => requireOpenAiKey(loadEnv(workerEnv))).not.toThrow();
      expect(serverEnv.OPENAI_API_KEY).toBeUndefined();
      expect(loadEnv(serverEnv).port).toBe(containerOf(manifests, 'server').ports?.[0]?.containerPort);
      const values = { ...c.values } as { worker?: { concurrency?: number } };
      expect(loadEnv(workerEnv).concurrency).toBe(values.worker?.concurrency ?? 2);
    }
  });

  it('reads credentials from the named Secret when existingSecret is set, and creates none', () => {
    const manifests = renderChart({ secret: { existingSecret: 'team-credentials' } });
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    const refs = (['server', 'worker'] as const).flatMap((component) =>
      (containerOf(manifests, component).env ?? []).flatMap((entry) => (entry.valueFrom?.secretKeyRef ? [entry.valueFrom.secretKeyRef] : [])),
    );
    expect(refs.map((ref) => ref.key).sort()).toEqual(['APP_ID', 'APP_ID', 'OPENAI_API_KEY', 'PRIVATE_KEY', 'PRIVATE_KEY', 'REDIS_URL', 'REDIS_URL', 'WEBHOOK_SECRET', 'WEBHOOK_SECRET']);
    expect(new Set(refs.map((ref) => ref.name))).toEqual(new Set(['team-credentials']));
    // Pods roll when the chart's own Secret changes; an existing one is the owner's to roll.
    expect(deploymentSpec(find(manifests, 'Deployment', '-worker')).template.metadata.annotations).not.toHaveProperty('checksum/secret');
    const own = renderChart({ secret: SECRETS });
    const rotated = renderChart({ secret: { ...SECRETS, openaiApiKey: 'sk-rotated' } });
    const checksum = (m: Manifest[]) => deploymentSpec(find(m, 'Deployment', '-worker')).template.metadata.annotations?.['checksum/secret'];
    expect(checksum(own)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(rotated)).not.toBe(checksum(own));
  });

  it("gives workers a termination grace period longer than their own shutdown grace", () => {
    const defaults = renderChart({ secret: SECRETS });
    const pod = podOf(defaults, 'worker');
    const env = containerEnv(defaults, containerOf(defaults, 'worker'), chartSecret(defaults));
    const grace = loadEnv(env).shutdownGraceMs / 1000;
    expect(grace).toBe(loadEnv({}).shutdownGraceMs / 1000);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace);

    const longer = renderChart({ secret: SECRETS, worker: { shutdownGraceSeconds: 1800, terminationMarginSeconds: 90 } });
    expect(podOf(longer, 'worker').terminationGracePeriodSeconds).toBe(1890);
    expect(containerEnv(longer, containerOf(longer, 'worker'), chartSecret(longer)).AI_FIX_SHUTDOWN_GRACE_SECONDS).toBe('1800');
  });

  it('probes the server on /healthz (and /readyz when chosen), and the worker not at all', () => {
    const manifests = renderChart({ secret: SECRETS });
    const server = containerOf(manifests, 'server');
    expect(server.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(server.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const chosen = containerOf(renderChart({ secret: SECRETS, server: { readinessPath: '/readyz' } }), 'server');
    expect(chosen.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const worker = containerOf(manifests, 'worker');
    expect([worker.livenessProbe, worker.readinessProbe, worker.startupProbe]).toEqual([undefined, undefined, undefined]);
  });

  it('runs non-root on a read-only root filesystem, writing only to emptyDirs at /tmp and the workspace directory', () => {
    const workdir = imageEnv(readDockerfile()).AI_FIX_WORKDIR;
    const manifests = renderChart({ secret: SECRETS });
    for (const component of ['server', 'worker'] as const) {
      const pod = podOf(manifests, component);
      const container = containerOf(manifests, component);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(container.resources?.requests).toHaveProperty('cpu');
      expect(container.resources?.requests).toHaveProperty('memory');
      expect(container.resources?.limits).toHaveProperty('memory');
      const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
      const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
      const writable = component === 'worker' ? ['/tmp', workdir] : ['/tmp'];
      expect(Object.keys(mounts).sort()).toEqual(writable.sort());
      for (const mountPath of writable) expect(emptyDirs).toContain(mounts[mountPath ?? '']);
    }
    expect(containerEnv(manifests, containerOf(manifests, 'worker'), chartSecret(manifests)).AI_FIX_WORKDIR).toBe(workdir);
    expect(find(manifests, 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  it('lets bubblewrap work in worker pods: their own user namespace, an unmasked /proc, seccomp and AppArmor opened for the worker only', () => {
    const manifests = renderChart({ secret: SECRETS });
    const pod = podOf(manifests, 'worker');
    const worker = containerOf(manifests, 'worker');
    // procMount: Unmasked is valid only in a pod with its own user namespace.
    expect(pod.hostUsers).toBe(false);
    expect(worker.securityContext).toMatchObject({ procMount: 'Unmasked', seccompProfile: { type: 'Unconfined' }, appArmorProfile: { type: 'Unconfined' } });
    // bubblewrap (not setuid) needs no capability and no privilege escalation.
    expect(worker.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(worker.securityContext).not.toHaveProperty('privileged');
    expect(worker.securityContext).not.toHaveProperty('capabilities.add');
    const env = containerEnv(manifests, worker, chartSecret(manifests));
    expect(env.AI_FIX_SANDBOX).toBe('bwrap');
    expect(loadEnv(env).sandbox).toBe('bwrap');
    // The servers run no agent commands and keep the runtime's defaults.
    const serverPod = podOf(manifests, 'server');
    expect(serverPod.hostUsers).toBeUndefined();
    expect(serverPod.securityContext).toMatchObject({ seccompProfile: { type: 'RuntimeDefault' } });
    for (const field of ['procMount', 'seccompProfile', 'appArmorProfile']) expect(containerOf(manifests, 'server').securityContext).not.toHaveProperty(field);
    expect(schemaErrors(manifests)).toEqual([]);
  });

  it('takes the shipped seccomp profile as a Localhost profile, and a RuntimeClass, in manifests the schemas accept', () => {
    const profile = path.join(ROOT, 'deploy/seccomp/ai-fix-worker.json');
    expect(JSON.parse(readFileSync(profile, 'utf8'))).toHaveProperty('syscalls');
    const localhostProfile = `ai-fix/${path.basename(profile)}`;
    const manifests = renderChart({
      secret: SECRETS,
      worker: {
        runtimeClassName: 'gvisor',
        sandbox: { seccompProfile: { type: 'Localhost', localhostProfile }, appArmorProfile: { type: 'Localhost', localhostProfile: 'ai-fix-worker' } },
      },
    });
    expect(podOf(manifests, 'worker').runtimeClassName).toBe('gvisor');
    expect(podOf(manifests, 'server').runtimeClassName).toBeUndefined();
    expect(containerOf(manifests, 'worker').securityContext).toMatchObject({
      procMount: 'Unmasked',
      seccompProfile: { type: 'Localhost', localhostProfile },
      appArmorProfile: { type: 'Localhost', localhostProfile: 'ai-fix-worker' },
    });
    // The chart's README tells where to install it, under the same name.
    expect(readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8')).toContain(`localhostProfile: ${localhostProfile}`);
    expect(schemaErrors(manifests)).toEqual([]);
    expect(unknownFieldErrors(manifests.filter((m) => m.kind === 'Deployment'))).toEqual([]);
  });

  it('drops the sandbox settings only when AI_FIX_SANDBOX=none is asked for by name, and refuses other modes', () => {
    const manifests = renderChart({ secret: SECRETS, worker: { sandbox: { mode: 'none' } } });
    const pod = podOf(manifests, 'worker');
    const worker = containerOf(manifests, 'worker');
    expect(pod.hostUsers).toBeUndefined();
    for (const field of ['procMount', 'seccompProfile', 'appArmorProfile']) expect(worker.securityContext).not.toHaveProperty(field);
    expect(pod.securityContext).toMatchObject({ seccompProfile: { type: 'RuntimeDefault' } });
    expect(loadEnv(containerEnv(manifests, worker, chartSecret(manifests))).sandbox).toBe('none');
    expect(schemaErrors(manifests)).toEqual([]);
    expect(() => renderChart({ secret: SECRETS, worker: { sandbox: { mode: 'auto' } } })).toThrow(/worker\.sandbox\.mode must be bwrap or none/);
  });

  it('exposes only the webhook route through the ingress', () => {
    const manifests = renderChart({ secret: SECRETS, config: { webhookPath: '/hooks/github' }, server: { ingress: { enabled: true, host: 'fix.example.com' } } });
    const ingress = find(manifests, 'Ingress').spec as { rules: Array<{ host: string; http: { paths: Array<{ path: string; pathType: string }> } }> };
    expect(ingress.rules).toHaveLength(1);
    expect(ingress.rules[0]?.host).toBe('fix.example.com');
    expect(ingress.rules[0]?.http.paths.map((p) => [p.path, p.pathType])).toEqual([['/hooks/github', 'Exact']]);
    expect(manifests.filter((m) => m.kind === 'Ingress')).toHaveLength(1);
    expect(renderChart({ secret: SECRETS }).filter((m) => m.kind === 'Ingress')).toEqual([]);
  });

  it("scales workers with KEDA on BullMQ's wait and active lists, one replica per `concurrency` tasks", () => {
    const manifests = renderChart({
      secret: SECRETS,
      config: { queuePrefix: 'fix-prod' },
      worker: { concurrency: 4 },
      autoscaling: { enabled: true, keda: { redis: { address: 'redis:6379' } } },
    });
    const scaledObject = find(manifests, 'ScaledObject').spec as { scaleTargetRef: { name: string }; triggers: Array<{ type: string; metadata: Record<string, string>; authenticationRef?: unknown }> };
    expect(scaledObject.scaleTargetRef.name).toBe(find(manifests, 'Deployment', '-worker').metadata.name);
    expect(scaledObject.triggers.map((t) => [t.type, t.metadata.listName, t.metadata.listLength])).toEqual([
      ['redis', 'fix-prod:tasks:wait', '4'],
      ['redis', 'fix-prod:tasks:active', '4'],
    ]);
    expect(scaledObject.triggers.every((t) => t.authenticationRef === undefined)).toBe(true);
    expect(manifests.filter((m) => m.kind === 'TriggerAuthentication')).toEqual([]);
    // The autoscaler owns the worker count.
    expect(deploymentSpec(find(manifests, 'Deployment', '-worker')).replicas).toBeUndefined();
    expect(manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it("scales workers with an HPA on the servers' ai_fix_tasks metric as the alternative", async () => {
    const manifests = renderChart({ secret: SECRETS, config: { queuePrefix: 'fix-prod' }, autoscaling: { enabled: true, kind: 'hpa' } });
    const hpa = find(manifests, 'HorizontalPodAutoscaler').spec as {
      metrics: Array<{ external: { metric: { name: string; selector: { matchLabels: Record<string, string> } }; target: { averageValue: string } } }>;
    };
    expect(manifests.filter((m) => m.kind === 'ScaledObject')).toEqual([]);
    // The series the HPA asks for are ones the servers' /metrics serves.
    const metrics = createMetrics();
    registerQueueDepth(metrics, 'fix-prod', async () => ({ waiting: 7, active: 2, delayed: 1, failed: 0 }));
    const body = await metrics.registry.metrics();
    for (const metric of hpa.metrics) {
      const labels = Object.entries(metric.external.metric.selector.matchLabels).map(([k, v]) => `${k}="${v}"`).join(',');
      expect(body).toContain(`${metric.external.metric.name}{${labels}} `);
      expect(metric.external.target.averageValue).toBe('2');
    }
    expect(hpa.metrics.map((m) => m.external.metric.selector.matchLabels.state)).toEqual(['waiting', 'active']);
  });

  it("documents every value in the chart's README", () => {
    const readme = readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    const leaves = (tree: Record<string, unknown>, prefix = ''): string[] =>
      Object.entries(tree).flatMap(([key, value]) =>
        value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0 && !['resources', 'podSecurityContext', 'securityContext', 'seccompProfile', 'appArmorProfile'].includes(key)
          ? leaves(value as Record<string, unknown>, `${prefix}${key}.`)
          : [`${prefix}${key}`],
      );
    const missing = leaves(chartValues()).filter((key) => !documented.has(key));
    expect(missing).toEqual([]);
  });
});
