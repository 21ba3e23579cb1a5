import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { describe, expect, test } from 'vitest';
import { BuildahBuildJob, BuildContext, BuildkitMode, CacheMode, ImageArchive, KanikoBuildJob, OciConnector, OciConnectorBuildJob, RegistryCredentials, SkopeoPromoteJob, TarPushJob, UnifiedImageJob, UnifiedJobMode } from '../src';
import { synth } from './util';

const PASSWORD = 'Sup3r-Secr3t-Passw0rd';

/** Every construct, with every kind of credentials, in one chart next to a Secret holding a known password. */
function chartWithCredentials() {
  const chart = Testing.chart();
  // the user's Secret lives elsewhere; the constructs only ever reference it by name
  new kplus.Secret(chart, 'harbor', { metadata: { name: 'harbor-credentials' }, stringData: { username: 'robot', password: PASSWORD } });
  const userPass = RegistryCredentials.fromUsernamePassword('harbor-credentials');
  const dockerConfig = RegistryCredentials.fromDockerConfigSecret('push-config');
  new KanikoBuildJob(chart, 'build', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
    destinations: ['registry.internal:5000/build/api:1'],
    credentials: dockerConfig,
    promotion: { destinations: ['harbor.example.com/p/api:1'], credentials: userPass },
  });
  new KanikoBuildJob(chart, 'build-git', {
    context: BuildContext.fromGit('https://github.com/acme/api.git', { tokenSecret: 'harbor-credentials', tokenKey: 'password', username: 'robot' }),
    destinations: ['harbor.example.com/p/api:2'],
    credentials: userPass,
  });
  new BuildahBuildJob(chart, 'buildah', {
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
    destinations: ['registry.internal:5000/build/api:5'],
    credentials: dockerConfig,
    promotion: { destinations: ['harbor.example.com/p/api:5'], credentials: userPass },
  });
  new SkopeoPromoteJob(chart, 'promote', {
    source: 'registry.internal:5000/build/api:1',
    sourceCredentials: userPass,
    destinations: ['harbor.example.com/p/api:1'],
    destinationCredentials: dockerConfig,
  });
  new TarPushJob(chart, 'tar', {
    archive: ImageArchive.fromUrl('https://a.example.com/i.tar'),
    destinations: ['harbor.example.com/p/api:3'],
    credentials: userPass,
  });
  new UnifiedImageJob(chart, 'unified', {
    mode: UnifiedJobMode.BUILD_AND_PUSH,
    toolsImage: 'r.io/tools:1',
    context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
    intermediateDestination: 'registry.internal:5000/build/api:4',
    buildCredentials: userPass,
    destinations: ['harbor.example.com/p/api:4'],
    credentials: dockerConfig,
  });
  return chart;
}

describe('no credential ever reaches the YAML, args or scripts', () => {
  test('the Job objects hold no password, no auth token and no credential flag', () => {
    const jobs = synth(chartWithCredentials()).filter(o => o.kind === 'Job');
    expect(jobs).toHaveLength(6);
    const yaml = JSON.stringify(jobs);
    const forbidden = [PASSWORD, Buffer.from(`robot:${PASSWORD}`).toString('base64'), '--creds', '--src-creds', '--dest-creds', '--password', '--username', '--registry-token'];
    expect(forbidden.filter(text => yaml.includes(text))).toEqual([]);
  });

  test('password variables only ever come from secretKeyRef, and only in the compose init containers', () => {
    for (const job of synth(chartWithCredentials()).filter(o => o.kind === 'Job')) {
      const spec = job.spec.template.spec;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const e of c.env ?? []) {
          if (/PASSWORD|TOKEN/.test(e.name) || (/USERNAME/.test(e.name) && !e.name.startsWith('GIT_'))) {
            // kaniko reads a private git context's token from GIT_PASSWORD / GIT_TOKEN only
            expect(c.name).toMatch(e.name.startsWith('GIT_') ? /^build$/ : /^compose-.*-auth$/);
            expect(e.value).toBeUndefined();
            expect(e.valueFrom.secretKeyRef.name).toBe('harbor-credentials');
          }
        }
        expect(JSON.stringify(c.args ?? [])).not.toMatch(/auth|password|token/i);
      }
    }
  });

  test('an OCI Connector build carries no credential of any kind: the connector\'s CSI driver and proxy hold them', () => {
    // GIVEN: both modes, every context kind, registry cache, a service account and RBAC
    const chart = new Chart(Testing.app(), 'connector', { namespace: 'builds' });
    const contexts = [
      BuildContext.fromConfigMap('dockerfile'),
      BuildContext.fromUrl('https://a.example.com/c.tar.gz'),
      BuildContext.fromGit('https://github.com/acme/api.git'),
    ];
    contexts.forEach((context, i) => {
      for (const mode of [BuildkitMode.PRIVILEGED, BuildkitMode.ROOTLESS]) {
        new OciConnectorBuildJob(chart, `build-${i}-${mode}`, {
          connector: OciConnector.fromName('harbor', { registry: 'harbor.example.com' }),
          context,
          destinations: ['harbor.example.com/p/api:1'],
          cache: CacheMode.REGISTRY,
          cacheRef: 'harbor.example.com/p/api:buildcache',
          mode,
        });
      }
    });

    // THEN
    const jobs = synth(chart).filter(o => o.kind === 'Job');
    expect(jobs).toHaveLength(6);
    for (const job of jobs) {
      const spec = job.spec.template.spec;
      expect(spec.automountServiceAccountToken).toBe(false);
      // no Secret, projected token, host path or other volume that could hold a credential
      for (const volume of spec.volumes) {
        const kinds = Object.keys(volume).filter(k => k !== 'name');
        expect(kinds.length, volume.name).toBe(1);
        expect(['configMap', 'emptyDir', 'csi']).toContain(kinds[0]);
        if (volume.csi) {
          expect(volume.csi).toMatchObject({ driver: 'connectors-csi', readOnly: true });
        }
      }
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        // every variable is a plain, non-secret value
        for (const e of c.env ?? []) {
          expect(e.valueFrom, `${c.name} ${e.name}`).toBeUndefined();
          expect(e.name).not.toMatch(/PASSWORD|USERNAME|TOKEN|AUTH/);
        }
        expect(c.envFrom).toBeUndefined();
        // the credentials directories are read-only CSI mounts
        for (const m of c.volumeMounts ?? []) {
          if (m.mountPath.endsWith('/.docker') || m.mountPath === '/etc/buildkit') {
            expect(spec.volumes.find((v: any) => v.name === m.name).csi, m.mountPath).toBeDefined();
            expect(m.readOnly).toBe(true);
          }
        }
        expect(JSON.stringify([c.args ?? [], c.command ?? []])).not.toMatch(/password|--creds|--username|--registry-token|registry\.insecure|"auths"/i);
      }
    }
  });
});
