/**
 * The real API server's admission and validation of what the library synthesizes: each construct's Job, unchanged, is
 * admitted in a namespace enforcing its declared Pod Security level and rejected one level stricter (server-side
 * dry-run); every example's objects pass strict server-side field validation (`kubectl apply --server-side
 * --validate=strict`, done with the API's `fieldValidation=Strict`), and re-applying identical YAML succeeds.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { ApiObject, App } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubeApi, KubeObject } from './cluster';
import { NodeEnvironment } from './node';
import { EXAMPLES } from '../../examples/synth';
import { JobAnalysisTemplate, PodSecurityLevel } from '../../src';

let env: NodeEnvironment;
beforeAll(async () => {
  env = await NodeEnvironment.start('admission');
  // what a company cluster has and the production-registries example names: the pods are admitted only if these exist
  await env.api.create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'batch-builds' }, value: 1000 });
  await env.api.create({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'gvisor' }, handler: 'runsc' });
  // the Kargo v1.11.2 and Argo Rollouts v1.9.1 CRDs as published, so their objects get the API server's strict validation
  const crds = join(__dirname, '..', 'crds');
  for (const file of readdirSync(crds).filter(f => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(crds, file), 'utf8'))) {
      const crd = doc.toJSON() as KubeObject;
      if (crd?.kind === 'CustomResourceDefinition') {
        await env.api.create(crd);
        await waitEstablished(crd.metadata.name!);
      }
    }
  }
}, 120_000);

async function waitEstablished(name: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const crd = await env.api.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if ((crd.body as any)?.status?.conditions?.some((c: any) => c.type === 'Established' && c.status === 'True')) {
      return;
    }
    await new Promise(ok => setTimeout(ok, 100));
  }
  throw new Error(`CRD ${name} not Established after 10 s`);
}
afterAll(async () => {
  await env?.stop();
});

const STRICTER: { [level: string]: string | undefined } = {
  [PodSecurityLevel.PRIVILEGED]: PodSecurityLevel.BASELINE,
  [PodSecurityLevel.BASELINE]: PodSecurityLevel.RESTRICTED,
  [PodSecurityLevel.RESTRICTED]: undefined,
};

/**
 * Every construct of every example (all constructs, both KanikoBuildBatch shapes, both UnifiedImageJob modes, both
 * BuildKit modes), with its declared level and the Jobs it synthesizes.
 */
function exampleJobs(): { name: string; level: string; jobs: KubeObject[] }[] {
  const found: { name: string; level: string; jobs: KubeObject[] }[] = [];
  for (const [example, build] of Object.entries(EXAMPLES)) {
    const chart = build(new App());
    for (const construct of chart.node.findAll()) {
      const level = (construct as any).podSecurityLevel;
      if (typeof level !== 'string') {
        continue;
      }
      const jobs = construct instanceof JobAnalysisTemplate ? analysisJobs(construct)
        : construct.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && c.kind === 'Job').map(o => o.toJson() as KubeObject);
      if (jobs.length === 0 && chart.node.findAll().some(c => c instanceof JobAnalysisTemplate)) {
        continue; // its Job moved into an Argo Rollouts template, admitted as the template's entry
      }
      found.push({ name: `${example}: ${construct.constructor.name} ${construct.node.path}`, level, jobs });
    }
  }
  return found;
}

/** The Jobs Argo Rollouts creates from a template's `job` metrics, as the AnalysisRun would (arguments unresolved). */
function analysisJobs(template: JobAnalysisTemplate): KubeObject[] {
  const spec = template.apiObject.toJson().spec;
  return spec.metrics.map((metric: any) => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: `${template.name}-${metric.name}`, ...metric.provider.job.metadata }, spec: metric.provider.job.spec,
  }));
}

describe('Pod Security admission on the real API server', () => {
  const constructs = exampleJobs();
  test('the examples cover every construct', () => {
    expect(new Set(constructs.map(c => c.name.split(' ')[1]))).toEqual(new Set([
      'KanikoBuildJob', 'BuildahBuildJob', 'BuildkitBuildJob', 'SkopeoPromoteJob', 'TarPushJob', 'UnifiedImageJob', 'OciConnectorBuildJob', 'KanikoBuildBatch',
      'JobAnalysisTemplate',
    ]));
  });
  for (const { name, level, jobs } of constructs) {
    test(`${name} (${level}): its pods admitted at its declared level, refused one level stricter (server-side dry-run)`, async () => {
      expect(jobs.length).toBeGreaterThan(0);
      for (const job of jobs) {
        await admission(job, level);
      }
    });
  }

  /**
   * PodSecurity enforces on pods; on a Job it only warns. So: the Job is created (dry-run) without a warning at its
   * level, and the pod its controller would create (the Job's template, unchanged, as a Pod) is admitted there and
   * refused one level stricter, where the Job itself draws the PodSecurity warning.
   */
  async function admission(job: KubeObject, level: string): Promise<void> {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${job.metadata.name}-pod`, labels: job.spec.template.metadata?.labels }, spec: job.spec.template.spec };
    const create = async (object: any, namespace: string) => {
      const serviceAccount = job.spec.template.spec.serviceAccountName;
      if (serviceAccount && (await env.api.request('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}`)).status === 404) {
        await env.api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount } }, namespace);
      }
      return env.api.request('POST', `${KubeApi.collectionPath(object, namespace)}?dryRun=All&fieldValidation=Strict`, { ...object, metadata: { ...object.metadata, namespace } });
    };
    const admitted = await env.namespace(level);
    const jobOk = await create(job, admitted);
    expect(jobOk.status, JSON.stringify(jobOk.body).slice(0, 2000)).toBe(201);
    expect(jobOk.warnings).toEqual([]);
    const podOk = await create(pod, admitted);
    expect(podOk.status, JSON.stringify(podOk.body).slice(0, 2000)).toBe(201);
    const stricter = STRICTER[level];
    if (stricter) {
      const refused = await env.namespace(stricter);
      const jobWarned = await create(job, refused);
      expect(jobWarned.status).toBe(201);
      // the Warning header quotes the text, escaping its inner quotes
      expect(jobWarned.warnings.join('\n')).toContain(`would violate PodSecurity \\"${stricter}:latest\\"`);
      const podDenied = await create(pod, refused);
      expect(podDenied.status, JSON.stringify(podDenied.body).slice(0, 2000)).toBe(403);
      expect(podDenied.body.message).toContain(`violates PodSecurity "${stricter}:latest"`);
    }
  }
});

describe('strict server-side field validation of every example', () => {
  const dist = join(__dirname, '..', '..', 'examples', 'dist');
  for (const file of readdirSync(dist).filter(f => f.endsWith('.k8s.yaml')).sort()) {
    test(`${file}: server-side apply with fieldValidation=Strict, twice`, async () => {
      const objects = parseAllDocuments(readFileSync(join(dist, file), 'utf8')).map(d => d.toJSON() as KubeObject).filter(Boolean);
      expect(objects.length).toBeGreaterThan(0);
      for (const namespace of new Set(objects.map(o => o.metadata.namespace ?? 'default'))) {
        const exists = await env.api.request('GET', `/api/v1/namespaces/${namespace}`);
        if (exists.status === 404) {
          // privileged: this test is about schema validation; admission has its own tests above
          await env.api.createNamespace(namespace, PodSecurityLevel.PRIVILEGED);
        }
      }
      for (const round of [1, 2]) {
        for (const object of objects) {
          const path = `${KubeApi.collectionPath(object)}/${object.metadata.name}?fieldManager=node-tier&fieldValidation=Strict&dryRun=All`;
          const applied = await env.api.request('PATCH', path, JSON.stringify(object), 'application/apply-patch+yaml');
          expect(applied.status, `round ${round}: ${object.kind} ${object.metadata.name}: ${JSON.stringify(applied.body)}`).toBeLessThan(300);
        }
      }
    });
  }
});
