import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import Ajv, { ValidateFunction } from 'ajv';
import { Chart, Testing } from 'cdk8s';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';

/** A fresh chart in a fresh app. */
export function newChart(): Chart {
  return Testing.chart();
}

const MODELS: { [kind: string]: new (data: any) => { validate(): void } } = {
  'batch/v1/Job': Job,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/ServiceAccount': ServiceAccount,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

/** A custom resource's schema from the CRDs in test/crds, and whether the kind is cluster-scoped. */
interface CustomKind {
  readonly validate: ValidateFunction;
  readonly clusterScoped: boolean;
}

/** Refuses unknown fields wherever the schema lists properties and does not preserve unknown ones (strict apply). */
function strict(schema: any): any {
  if (Array.isArray(schema)) {
    return schema.map(strict);
  }
  if (schema === null || typeof schema !== 'object') {
    return schema;
  }
  const result: any = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties'
    ? Object.fromEntries(Object.entries(v as object).map(([name, sub]) => [name, strict(sub)]))
    : strict(v)]));
  if (result.properties && result.additionalProperties === undefined && !result['x-kubernetes-preserve-unknown-fields']) {
    result.additionalProperties = false;
  }
  return result;
}

/** Every CRD kind in test/crds (Kargo v1.11.2, Argo Rollouts v1.9.1), keyed `<apiVersion>/<kind>`. */
const CUSTOM_KINDS: Map<string, CustomKind> = (() => {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, unicodeRegExp: false });
  const kinds = new Map<string, CustomKind>();
  const dir = join(__dirname, 'crds');
  for (const file of readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const crd = doc.toJS();
      for (const version of crd.spec.versions) {
        kinds.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, {
          validate: ajv.compile(strict(version.schema.openAPIV3Schema)),
          clusterScoped: crd.spec.scope === 'Cluster',
        });
      }
    }
  }
  return kinds;
})();

/** Validates a custom resource against its CRD (unknown fields refused; no namespace on a cluster-scoped kind). */
export function validateCustomObject(object: any): void {
  const kind = CUSTOM_KINDS.get(`${object.apiVersion}/${object.kind}`);
  expect(kind, `no CRD for ${object.apiVersion} ${object.kind}`).toBeDefined();
  const valid = kind!.validate(object);
  expect(kind!.validate.errors ?? [], `${object.kind} ${object.metadata?.name}`).toEqual([]);
  expect(valid).toBe(true);
  if (kind!.clusterScoped) {
    expect(object.metadata.namespace, `${object.kind} is cluster-scoped`).toBeUndefined();
  }
}

/**
 * Validates objects against the Kubernetes schema (kubernetes-models) or their CRD, plus the checks the schema misses
 * for Jobs: restartPolicy Never, every container has an image, valid metadata.name.
 */
export function validateObjects(objects: any[]): void {
  for (const object of objects) {
    if (CUSTOM_KINDS.has(`${object.apiVersion}/${object.kind}`)) {
      validateCustomObject(object);
      expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
      continue;
    }
    const model = MODELS[`${object.apiVersion}/${object.kind}`];
    expect(model, `no schema for ${object.apiVersion} ${object.kind}`).toBeDefined();
    expect(() => new model(object).validate()).not.toThrow();
    expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/);
    if (object.kind === 'Job') {
      const spec = object.spec.template.spec;
      expect(spec.restartPolicy).toBe('Never');
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect(c.image, c.name).toMatch(/.+[:@].+/);
        // the API server refuses allowPrivilegeEscalation: false on a privileged container or next to the
        // literal capability "CAP_SYS_ADMIN" (validation.go compares the string; "SYS_ADMIN" passes).
        const sc = c.securityContext ?? {};
        if (sc.allowPrivilegeEscalation === false) {
          expect(sc.privileged, c.name).not.toBe(true);
          expect(sc.capabilities?.add ?? [], c.name).not.toContain('CAP_SYS_ADMIN');
        }
        // Kubernetes 1.28 knows no appArmorProfile field: strict validation on apply would refuse it.
        expect(Object.keys(sc), c.name).not.toContain('appArmorProfile');
      }
    }
  }
}

/** Synthesizes a chart and validates every object; returns the objects. */
export function synth(chart: Chart): any[] {
  const objects = Testing.synth(chart);
  validateObjects(objects);
  return objects;
}

/** The only Job of a chart, validated. */
export function synthJob(chart: Chart): any {
  const jobs = synth(chart).filter(o => o.kind === 'Job');
  expect(jobs).toHaveLength(1);
  return jobs[0];
}

/** A container of a Job by name (init or main). */
export function container(job: any, name: string): any {
  const spec = job.spec.template.spec;
  const found = [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === name);
  expect(found, `container ${name}`).toBeDefined();
  return found;
}

/** A container's environment as a map of plain values (secret references as `secret:<name>/<key>`, field references as `field:<path>`). */
export function envOf(c: any): { [name: string]: string } {
  const env: { [name: string]: string } = {};
  for (const e of c.env ?? []) {
    env[e.name] = e.value ?? (e.valueFrom.fieldRef
      ? `field:${e.valueFrom.fieldRef.fieldPath}`
      : `secret:${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
  }
  return env;
}

/** The names of a Job's init containers and main containers, in order. */
export function containerNames(job: any): { init: string[]; main: string[] } {
  const spec = job.spec.template.spec;
  return { init: (spec.initContainers ?? []).map((c: any) => c.name), main: spec.containers.map((c: any) => c.name) };
}

/** The volume mounted at `path` by container `c`, resolved to its volume definition. */
export function volumeAt(job: any, c: any, path: string): any {
  const mount = (c.volumeMounts ?? []).find((m: any) => m.mountPath === path);
  expect(mount, `mount ${path} in ${c.name}`).toBeDefined();
  return { mount, volume: job.spec.template.spec.volumes.find((v: any) => v.name === mount.name) };
}

/** The security context of every non-root helper, skopeo and restricted container. */
export const RESTRICTED_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsGroup: 65532,
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The security context of kaniko (and of a kaniko fan-out's buildah assembly): root, nothing more, `baseline`. */
export const ROOT_BUILDER_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: false,
  runAsGroup: 0,
  runAsNonRoot: false,
  runAsUser: 0,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** kaniko's documented defaults, in the order the constructs emit them, after the build flags. */
export const KANIKO_DEFAULT_ARGS = [
  '--snapshot-mode=redo',
  '--push-retry=3',
  '--image-download-retry=3',
  '--skip-unused-stages=true',
  '--log-format=text',
  '--log-timestamp=true',
  '--verbosity=info',
  '--ignore-path=/product_uuid',
];
