/**
 * SkopeoPromoteJob on the real node: promotion by digest from the plain-http registry to the TLS + basic-auth one,
 * in a namespace enforcing the Job's declared Pod Security level.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeJob, expectServed, HARBOR_USER, NodeEnvironment } from './node';
import { RegistryCredentials, SkopeoPromoteJob, SkopeoPromoteJobProps } from '../../src';
import { dockerConfigSecret, synthesize } from '../e2e/environment';
import { pushImage, singleImage } from '../e2e/oci';

let env: NodeEnvironment;
beforeAll(async () => {
  env = await NodeEnvironment.start('skopeo');
});
afterAll(async () => {
  await env?.stop();
});

async function promote(props: SkopeoPromoteJobProps, password: string) {
  let level = '';
  const objects = synthesize(chart => {
    level = new SkopeoPromoteJob(chart, 'promote', props).podSecurityLevel;
  });
  return env.runJob(objects, level, [dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, password)]);
}

describe('SkopeoPromoteJob on a real node', () => {
  test('promotes by digest to harbor with a dockerconfigjson Secret; termination lines equal skopeo inspect', async () => {
    const image = singleImage({ 'app.txt': 'promoted on the node\n' });
    await pushImage(env.intermediate.host, 'build/api', 'candidate', image);
    const run = await promote({
      source: `${env.intermediate.host}/build/api@${image.digest}`,
      sourceTlsVerify: false,
      destinations: [`${env.harbor.host}/platform/api:1.4.0`, `${env.harbor.host}/platform/api:stable`],
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    }, env.harborPassword);
    expect(run.phase, describeJob(run)).toBe('Complete');
    expect(expectServed(env, containerOf(run, 'promote').terminationMessage)).toEqual([
      `${env.harbor.host}/platform/api:1.4.0@${image.digest}`,
      `${env.harbor.host}/platform/api:stable@${image.digest}`,
    ]);
  });

  test('wrong credentials end the Job Failed with the script\'s message, nothing pushed', async () => {
    const image = singleImage({ 'app.txt': 'wrong password\n' });
    await pushImage(env.intermediate.host, 'build/denied', 'candidate', image);
    const run = await promote({
      source: `${env.intermediate.host}/build/denied@${image.digest}`,
      sourceTlsVerify: false,
      destinations: [`${env.harbor.host}/platform/denied:1.0.0`],
      destinationCredentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
      retryTimes: 0,
    }, 'not-the-password');
    expect(run.phase, describeJob(run)).toBe('Failed');
    expect(containerOf(run, 'promote').terminationMessage).toMatch(/error: copy of .*build\/denied@sha256:[0-9a-f]{64} to .*platform\/denied:1\.0\.0 failed/);
    expect(containerOf(run, 'promote').log).toMatch(/unauthorized|authentication required/i);
    expect(await env.harbor.repositories()).not.toContain('platform/denied');
  });
});
