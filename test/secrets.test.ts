import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { describe, expect, test } from 'vitest';
import { BuildContext, ImageArchive, KanikoBuildJob, RegistryCredentials, SkopeoPromoteJob, TarPushJob, UnifiedImageJob, UnifiedJobMode } from '../src';
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
    context: BuildContext.fromGit('https://github.com/acme/api.git'),
    destinations: ['harbor.example.com/p/api:2'],
    credentials: userPass,
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
    expect(jobs).toHaveLength(5);
    const yaml = JSON.stringify(jobs);
    const forbidden = [PASSWORD, Buffer.from(`robot:${PASSWORD}`).toString('base64'), '--creds', '--src-creds', '--dest-creds', '--password', '--username', '--registry-token'];
    expect(forbidden.filter(text => yaml.includes(text))).toEqual([]);
  });

  test('password variables only ever come from secretKeyRef, and only in the compose init containers', () => {
    for (const job of synth(chartWithCredentials()).filter(o => o.kind === 'Job')) {
      const spec = job.spec.template.spec;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const e of c.env ?? []) {
          if (/PASSWORD|TOKEN|USERNAME/.test(e.name)) {
            expect(c.name).toMatch(/^compose-.*-auth$/);
            expect(e.value).toBeUndefined();
            expect(e.valueFrom.secretKeyRef.name).toBe('harbor-credentials');
          }
        }
        expect(JSON.stringify(c.args ?? [])).not.toMatch(/auth|password|token/i);
      }
    }
  });
});
