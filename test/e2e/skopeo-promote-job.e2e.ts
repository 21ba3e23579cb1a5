/**
 * SkopeoPromoteJob, run for real: its synthesized pod promotes images from the plain-http "intermediate"
 * registry to the TLS + basic-auth "harbor" registry with Debian's skopeo.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, dockerConfigSecret, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, skopeoInspectDigest, startEnvironment,
  synthesize, usernamePasswordSecret,
} from './environment';
import { OCI_INDEX, pushImage, singleImage, twoPlatformImage } from './oci';
import { PodResult } from './runner';
import { JobAnalysisTemplate, RegistryCredentials, SkopeoPromoteJob, SkopeoPromoteJobProps } from '../../src';
import { resolvedMetric } from '../rollouts';

let env: E2eEnvironment;
beforeAll(async () => {
  env = await startEnvironment('skopeo');
});
afterAll(async () => {
  await env?.stop();
});

/** Runs a SkopeoPromoteJob whose source is on the intermediate registry, with the given Secrets in the cluster. */
async function promote(props: Omit<SkopeoPromoteJobProps, 'sourceTlsVerify'>, secrets: any[], stat: [string, string][] = []): Promise<PodResult> {
  const objects = synthesize(chart => new SkopeoPromoteJob(chart, 'promote', { ...props, sourceTlsVerify: false }));
  return env.runner.run([...objects, ...secrets], { stat });
}

/** The `<destination>@<digest>` lines of the promote container's termination message. */
function promoted(result: PodResult): string[] {
  return containerOf(result, 'promote').terminationMessage.trim().split('\n');
}

describe('SkopeoPromoteJob', () => {
  test('promotes by digest to harbor with a dockerconfigjson Secret; the termination message matches skopeo inspect', async () => {
    // GIVEN
    const image = singleImage({ 'app.txt': 'dockerconfigjson\n' });
    await pushImage(env.intermediate.host, 'build/api', 'candidate', image);
    // WHEN
    const result = await promote({
      source: `${env.intermediate.host}/build/api@${image.digest}`,
      destinations: [`${env.harbor.host}/platform/api:1.4.0`, `${env.harbor.host}/platform/api:stable`],
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    }, [dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword)]);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(promoted(result)).toEqual([
      `${env.harbor.host}/platform/api:1.4.0@${image.digest}`,
      `${env.harbor.host}/platform/api:stable@${image.digest}`,
    ]);
    for (const line of promoted(result)) {
      const [ref, digest] = line.split('@');
      expect(skopeoInspectDigest(env, ref)).toBe(digest);
    }
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('promotes with a username/password Secret: the composed auth file is 0640 and owned by the non-root user and the pod\'s group', async () => {
    // GIVEN
    const image = singleImage({ 'app.txt': 'username/password\n' });
    await pushImage(env.intermediate.host, 'build/web', 'candidate', image);
    // WHEN
    const result = await promote({
      source: `${env.intermediate.host}/build/web@${image.digest}`,
      destinations: [`${env.harbor.host}/platform/web:2.0.0`],
      destinationCredentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    }, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], [['destination-auth', 'config.json']]);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['compose-destination-auth', 'promote']);
    expect(result.stats['destination-auth:config.json']).toMatchObject({ uid: 65532, gid: 65532 });
    expect(result.stats['destination-auth:config.json'].mode.toString(8)).toBe('640');
    expect(promoted(result)).toEqual([`${env.harbor.host}/platform/web:2.0.0@${image.digest}`]);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/platform/web:2.0.0`)).toBe(image.digest);
    // the compose step ran busybox's base64, and the password never reached its argv.
    const composeArgv = containerOf(result, 'compose-destination-auth').processes.filter(p => !p.runner).map(p => p.argv[0]);
    expect(composeArgv).toContain('base64');
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a two-platform index keeps its digest and both platform manifests', async () => {
    // GIVEN
    const image = twoPlatformImage('multi');
    await pushImage(env.intermediate.host, 'build/multi', 'candidate', image);
    // WHEN
    const result = await promote({
      source: `${env.intermediate.host}/build/multi@${image.digest}`,
      destinations: [`${env.harbor.host}/platform/multi:1.0.0`],
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    }, [dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword)]);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(promoted(result)).toEqual([`${env.harbor.host}/platform/multi:1.0.0@${image.digest}`]);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/platform/multi:1.0.0`)).toBe(image.digest);
    const served = await env.harbor.get('/v2/platform/multi/manifests/1.0.0', OCI_INDEX);
    expect(served.headers['docker-content-digest']).toBe(image.digest);
    for (const child of JSON.parse(served.body.toString()).manifests) {
      expect((await env.harbor.get(`/v2/platform/multi/manifests/${child.digest}`, child.mediaType)).status).toBe(200);
    }
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('copyAllPlatforms false copies the node\'s platform of a two-platform index to every destination, each checked against that platform\'s digest', async () => {
    // GIVEN: the runner's skopeo runs on linux/amd64, so it selects the index's first manifest
    const image = twoPlatformImage('single');
    const amd64 = image.manifests[0].digest;
    await pushImage(env.intermediate.host, 'build/single', 'candidate', image);
    // WHEN
    const result = await promote({
      source: `${env.intermediate.host}/build/single@${image.digest}`,
      destinations: [`${env.harbor.host}/platform/single:1.0.0`, `${env.harbor.host}/mirror/single:1.0.0`],
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
      copyAllPlatforms: false,
    }, [dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword)]);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(amd64).not.toBe(image.digest);
    expect(promoted(result)).toEqual([
      `${env.harbor.host}/platform/single:1.0.0@${amd64}`,
      `${env.harbor.host}/mirror/single:1.0.0@${amd64}`,
    ]);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/platform/single:1.0.0`)).toBe(amd64);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/mirror/single:1.0.0`)).toBe(amd64);
    const copies = containerOf(result, 'promote').processes.filter(p => p.argv[0] === 'skopeo' && p.argv[1] === 'copy').map(p => p.argv);
    expect(copies).toHaveLength(2);
    for (const copy of copies) {
      expect(copy).not.toContain('--all');
      expect(copy).toContain('--preserve-digests');
    }
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a tag source is resolved once and every destination receives that digest', async () => {
    // GIVEN
    const image = singleImage({ 'app.txt': 'by tag\n' });
    await pushImage(env.intermediate.host, 'build/tagged', 'candidate', image);
    // WHEN
    const result = await promote({
      source: `${env.intermediate.host}/build/tagged:candidate`,
      destinations: [`${env.harbor.host}/platform/tagged:1.0.0`, `${env.harbor.host}/mirror/tagged:1.0.0`],
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    }, [dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword)]);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(promoted(result)).toEqual([
      `${env.harbor.host}/platform/tagged:1.0.0@${image.digest}`,
      `${env.harbor.host}/mirror/tagged:1.0.0@${image.digest}`,
    ]);
    const skopeo = containerOf(result, 'promote').processes.filter(p => p.argv[0] === 'skopeo').map(p => p.argv);
    const sourceReads = skopeo.filter(argv => argv.includes(`docker://${env.intermediate.host}/build/tagged:candidate`));
    expect(sourceReads).toHaveLength(1);
    expect(sourceReads[0].slice(0, 2)).toEqual(['skopeo', 'inspect']);
    const copies = skopeo.filter(argv => argv[1] === 'copy');
    expect(copies).toHaveLength(2);
    for (const copy of copies) {
      expect(copy).toContain(`docker://${env.intermediate.host}/build/tagged@${image.digest}`);
    }
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a wrong password fails with the registry\'s unauthorized text and pushes nothing', async () => {
    // GIVEN
    const image = singleImage({ 'app.txt': 'wrong password\n' });
    await pushImage(env.intermediate.host, 'build/denied', 'candidate', image);
    const wrongPassword = `${env.harborPassword}-wrong`;
    // WHEN
    const result = await promote({
      source: `${env.intermediate.host}/build/denied@${image.digest}`,
      destinations: [`${env.harbor.host}/platform/denied:1.0.0`],
      destinationCredentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    }, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, wrongPassword)]);
    // THEN
    expect(result.phase).toBe('Failed');
    const promoteContainer = containerOf(result, 'promote');
    expect(promoteContainer.exitCode).toBe(1);
    expect(promoteContainer.stderr).toMatch(/unauthorized: authentication required/);
    expect(promoteContainer.terminationMessage).toMatch(
      new RegExp(`^error: copy of ${env.intermediate.host}/build/denied@${image.digest} to ${env.harbor.host}/platform/denied:1.0.0 failed`));
    expect(await env.harbor.repositories()).not.toContain('platform/denied');
    expectNoSecretLeak(result, [env.harborPassword, wrongPassword]);
  });

  test('as a Kargo verification: the AnalysisTemplate\'s Job, resolved the way Argo Rollouts does with the Freight\'s digest, promotes that digest', async () => {
    // GIVEN: the Warehouse saw a newer build under the tag the template was synthesized with; the Freight names the older digest
    const freight = singleImage({ 'app.txt': 'freight\n' });
    const newer = singleImage({ 'app.txt': 'newer build\n' });
    await pushImage(env.intermediate.host, 'build/kargo', 'staging', freight);
    await pushImage(env.intermediate.host, 'build/kargo', 'staging', newer);
    const objects = synthesize(chart => {
      const job = new SkopeoPromoteJob(chart, 'promote', {
        source: `${env.intermediate.host}/build/kargo:staging`,
        sourceTlsVerify: false,
        destinations: [`${env.harbor.host}/prod/kargo:live`],
        destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
        // a literal "{{" in the pod must survive the argument resolution
        jobAnnotations: { 'example.com/format': '{{.Digest}}' },
      });
      new JobAnalysisTemplate(chart, 'verify', { job, metricName: 'promote', args: [{ name: 'sourceImage' }], envFromArgs: { SOURCE_IMAGE: 'sourceImage' } });
    });
    const template = objects.find(o => o.kind === 'AnalysisTemplate');
    expect(objects.filter(o => o.kind === 'Job')).toEqual([]);
    // WHEN: Kargo passes ${{ imageFrom(...).RepoURL }}@${{ imageFrom(...).Digest }}; Rollouts resolves and creates the Job
    const metric = resolvedMetric(template, { sourceImage: `${env.intermediate.host}/build/kargo@${freight.digest}` });
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'analysisrun-uid.promote.1', ...metric.provider.job.metadata }, spec: metric.provider.job.spec };
    const result = await env.runner.run([job, ...objects.filter(o => o.kind !== 'AnalysisTemplate'),
      dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword)]);
    // THEN: exit 0 (the metric succeeds) and prod serves the Freight's digest, not the newer build's
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(job.spec.template.metadata.annotations['example.com/format']).toBe('{{.Digest}}');
    expect(promoted(result)).toEqual([`${env.harbor.host}/prod/kargo:live@${freight.digest}`]);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/prod/kargo:live`)).toBe(freight.digest);
    expect(freight.digest).not.toBe(newer.digest);
  });
});
