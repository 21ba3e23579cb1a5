import { readFileSync } from 'fs';
import { join } from 'path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateObjects } from './util';
import { EXAMPLES, synthExample } from '../examples/synth';

describe('examples', () => {
  test.each(Object.keys(EXAMPLES))('%s synthesizes valid objects and matches its committed YAML', (name) => {
    // WHEN
    const yaml = synthExample(name);
    // THEN
    validateObjects(parseAllDocuments(yaml).map(doc => doc.toJS()));
    const committed = readFileSync(join(__dirname, '..', 'examples', 'dist', `${name}.k8s.yaml`), 'utf8');
    expect(yaml, `examples/dist/${name}.k8s.yaml is stale: run npx projen synth:examples`).toBe(committed);
  });

  test('the seed-000 example builds with kaniko and promotes to Harbor by digest', () => {
    const job = parseAllDocuments(synthExample('build-from-context')).map(d => d.toJS()).find(o => o.kind === 'Job');
    const spec = job.spec.template.spec;
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['compose-promotion-auth', 'fetch-context', 'build']);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['promote']);
  });

  test('the seed-004 example reproduces the documented BuildKit Job and adds a rootless variant', () => {
    const objects = parseAllDocuments(synthExample('oci-connector')).map(d => d.toJS());
    const job = (name: string) => objects.find(o => o.kind === 'Job' && new RegExp(`^${name}-[a-f0-9]{8}$`).test(o.metadata.name));
    // the seed's Job: ConfigMap Dockerfile, privileged buildkit, BUILDKITD_FLAGS, inline cache, the proxy reference
    const seed = job('buildkit-build').spec.template.spec;
    const buildkit = seed.containers[0];
    expect(buildkit.securityContext.privileged).toBe(true);
    expect(buildkit.env.find((e: any) => e.name === 'BUILDKITD_FLAGS').value).toBe('--config /etc/buildkit/buildkitd.toml');
    expect(buildkit.args).toEqual(expect.arrayContaining([
      '--frontend=dockerfile.v0',
      '--opt=filename=Dockerfile',
      '--local=context=/workspace',
      '--local=dockerfile=/workspace',
      '--output=type=image,name=c-harbor.default.svc.cluster.local/test/test-cjt:v1,push=true',
      '--export-cache=type=inline',
    ]));
    const mounted = Object.fromEntries(buildkit.volumeMounts.map((m: any) => [m.mountPath, seed.volumes.find((v: any) => v.name === m.name)]));
    expect(mounted['/workspace'].configMap).toEqual({ name: 'dockerfile' });
    expect(mounted['/root/.docker'].csi).toMatchObject({ driver: 'connectors-csi', readOnly: true, volumeAttributes: { 'connector.name': 'harbor', 'configuration.names': 'docker-config' } });
    expect(mounted['/etc/buildkit'].csi).toMatchObject({ driver: 'connectors-csi', readOnly: true, volumeAttributes: { 'connector.name': 'harbor', 'configuration.names': 'buildkitd' } });
    expect(objects.find(o => o.kind === 'ConfigMap').data.Dockerfile).toContain('FROM scratch');
    // the rootless variant, with its Role
    const rootlessJob = job('buildkit-build-rootless');
    const rootless = rootlessJob.spec.template.spec;
    expect(rootless.containers[0].securityContext).toMatchObject({ runAsUser: 1000, seccompProfile: { type: 'Unconfined' } });
    expect(rootlessJob.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/buildkit']).toBe('unconfined');
    expect(rootless.serviceAccountName).toBe('image-builder');
    expect(objects.filter(o => o.kind === 'Role' || o.kind === 'RoleBinding')).toHaveLength(2);
  });

  test('same input, byte-identical YAML', () => {
    for (const name of Object.keys(EXAMPLES)) {
      expect(synthExample(name)).toBe(synthExample(name));
    }
  });
});
