/**
 * UnifiedImageJob, run for real in the unified tools image stand-in (busybox, curl and skopeo under
 * /kaniko/tools/bin, the kaniko stand-in as /kaniko/executor): both JOB_TYPE paths end to end, one Job run
 * with each JOB_TYPE, and the failures an operator meets after `kubectl set env` (an unknown JOB_TYPE, a
 * removed variable).
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, hostSkopeo, skopeoInspectDigest, startEnvironment, synthesize,
  usernamePasswordSecret,
} from './environment';
import { singleImage, tarGz, TestImage, writeOciLayout } from './oci';
import { PodResult } from './runner';
import { BuildContext, ImageArchive, RegistryCredentials, UnifiedImageJob, UnifiedImageJobProps, UnifiedJobMode } from '../../src';

const TOOLS_IMAGE = 'harbor.example.com/platform/unified-tools:1.0.0';
const CONTEXT = tarGz({ 'Dockerfile': 'FROM scratch\nCOPY app.txt /\n', 'app.txt': 'unified\n' });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let env: E2eEnvironment;
let image: TestImage;
let ociArchive: Buffer;
beforeAll(async () => {
  env = await startEnvironment('unified');
  image = singleImage({ 'app.txt': 'unified push_tar\n' });
  const dir = join(env.dir, 'archives');
  writeOciLayout(join(dir, 'layout'), image, 'latest');
  hostSkopeo(env, ['copy', `oci:${join(dir, 'layout')}:latest`, `oci-archive:${join(dir, 'oci.tar')}:latest`]);
  ociArchive = readFileSync(join(dir, 'oci.tar'));
});
afterAll(async () => {
  await env?.stop();
});

/** Synthesizes a UnifiedImageJob. */
function synthesizeUnified(props: Partial<UnifiedImageJobProps>): any[] {
  return synthesize(chart => new UnifiedImageJob(chart, 'unified', {
    toolsImage: TOOLS_IMAGE,
    credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    ...props,
  } as UnifiedImageJobProps));
}

/** Runs synthesized objects; `edit` changes (a copy of) the Job the way `kubectl set env` would. */
async function runObjects(objects: any[], edit: (job: any) => void = () => {}): Promise<PodResult> {
  const copies = JSON.parse(JSON.stringify(objects));
  edit(copies.find((o: any) => o.kind === 'Job'));
  return env.runner.run([...copies, usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)]);
}

/** Synthesizes a UnifiedImageJob and runs it; `edit` changes the Job the way `kubectl set env` would. */
async function run(props: Partial<UnifiedImageJobProps>, edit: (job: any) => void = () => {}): Promise<PodResult> {
  return runObjects(synthesizeUnified(props), edit);
}

/** Sets JOB_TYPE of init-determine-action, as `kubectl set env --local -c init-determine-action JOB_TYPE=…` would. */
function setJobType(jobType: string): (job: any) => void {
  return job => {
    job.spec.template.spec.initContainers.find((c: any) => c.name === 'init-determine-action').env
      .find((e: any) => e.name === 'JOB_TYPE').value = jobType;
  };
}

function pushTar(repository: string): Partial<UnifiedImageJobProps> {
  return {
    mode: UnifiedJobMode.PUSH_TAR,
    archive: ImageArchive.fromUrl(env.files.serve(`/images/${repository}.tar`, ociArchive), { sha256: sha256(ociArchive) }),
    destinations: [`${env.harbor.host}/platform/${repository}:1.0.0`, `${env.harbor.host}/mirror/${repository}:1.0.0`],
  };
}

function buildAndPush(repository: string): Partial<UnifiedImageJobProps> {
  return {
    mode: UnifiedJobMode.BUILD_AND_PUSH,
    context: BuildContext.fromUrl(env.files.serve(`/contexts/${repository}.tar.gz`, CONTEXT), { sha256: sha256(CONTEXT) }),
    intermediateDestination: `${env.intermediate.host}/build/${repository}:1.4.0`,
    insecureRegistries: [env.intermediate.host],
    buildArgs: { APP_VERSION: '1.4.0' },
    destinations: [`${env.harbor.host}/platform/${repository}:1.4.0`, `${env.harbor.host}/platform/${repository}:stable`],
  };
}

/** Removes `name` from a container's env, as `kubectl set env job/… -c <container> NAME-` would. */
function unsetEnv(job: any, container: string, name: string): void {
  const spec = job.spec.template.spec;
  const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === container);
  expect(c.env.some((e: any) => e.name === name), `${container} has ${name}`).toBe(true);
  c.env = c.env.filter((e: any) => e.name !== name);
}

describe('UnifiedImageJob', () => {
  test('push_tar: downloads, verifies and pushes the OCI archive; every destination gets its digest', async () => {
    const result = await run(pushTar('tarball'));
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['init-determine-action', 'compose-destination-auth', 'main-task-executor']);
    expect(containerOf(result, 'init-determine-action').stderr).toContain('JOB_TYPE push_tar: action push_tar');
    const main = containerOf(result, 'main-task-executor');
    expect(main.stderr).toContain(`sha256 ${sha256(ociArchive)} verified`);
    // the tools come from the image's own /kaniko/tools/bin, and skopeo reads the policy SKOPEO_POLICY names
    expect(main.processes.find(p => p.argv.includes('copy'))!.argv.slice(0, 3)).toEqual(['skopeo', '--policy', '/kaniko/tools/policy.json']);
    const lines = main.terminationMessage.trim().split('\n');
    expect(lines).toEqual([
      `${env.harbor.host}/platform/tarball:1.0.0@${image.digest}`,
      `${env.harbor.host}/mirror/tarball:1.0.0@${image.digest}`,
    ]);
    for (const line of lines) {
      expect(skopeoInspectDigest(env, line.split('@')[0])).toBe(image.digest);
    }
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('build_and_push: downloads the context, builds (kaniko stand-in), promotes the recorded digest', async () => {
    const result = await run(buildAndPush('api'));
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const main = containerOf(result, 'main-task-executor');
    const digest = env.prebuilt.digest;
    expect(main.stderr).toContain(`sha256 ${sha256(CONTEXT)} verified`);
    expect(main.stderr).toContain('Dockerfile /workspace/context/Dockerfile (FROM scratch)');
    const executor = main.processes.find(p => p.argv[0] === '/kaniko/executor')!;
    expect(executor.argv).toContain(`--destination=${env.intermediate.host}/build/api:1.4.0`);
    expect(executor.argv).toContain('--build-arg=APP_VERSION=1.4.0');
    // the promotion copies the digest the build wrote to SOURCE_DIGEST_FILE, never a tag
    const copies = main.processes.filter(p => p.argv.includes('copy')).map(p => p.argv);
    expect(copies.filter(argv => argv.includes(`docker://${env.intermediate.host}/build/api@${digest}`))).toHaveLength(2);
    expect(main.terminationMessage).toBe([
      `${env.intermediate.host}/build/api@${digest}`,
      `${env.harbor.host}/platform/api:1.4.0@${digest}`,
      `${env.harbor.host}/platform/api:stable@${digest}`,
    ].join('\n') + '\n');
    expect(skopeoInspectDigest(env, `${env.harbor.host}/platform/api:stable`)).toBe(digest);
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('one Job with both paths: run as synthesized (build_and_push), then with JOB_TYPE flipped to push_tar', async () => {
    // GIVEN: one synthesized Job carrying both paths' inputs; mode picks build_and_push
    const objects = synthesizeUnified({ ...pushTar('flip'), ...buildAndPush('flip'), mode: UnifiedJobMode.BUILD_AND_PUSH });
    const destination = `${env.harbor.host}/platform/flip:1.4.0`;

    // WHEN: as synthesized
    const built = await runObjects(objects);

    // THEN: the build path ran and promoted the built digest
    expect(built.phase, describeRun(built)).toBe('Succeeded');
    expect(containerOf(built, 'init-determine-action').stderr).toContain('JOB_TYPE build_and_push: action build');
    const builtMain = containerOf(built, 'main-task-executor');
    expect(builtMain.processes.some(p => p.argv[0] === '/kaniko/executor')).toBe(true);
    expect(builtMain.terminationMessage.split('\n')).toContain(`${destination}@${env.prebuilt.digest}`);
    expect(skopeoInspectDigest(env, destination)).toBe(env.prebuilt.digest);

    // WHEN: the same Job with only JOB_TYPE changed
    const pushed = await runObjects(objects, setJobType('push_tar'));

    // THEN: the push_tar path ran from the same variables: no build, the archive's digest at the same destinations
    expect(pushed.phase, describeRun(pushed)).toBe('Succeeded');
    expect(containerOf(pushed, 'init-determine-action').stderr).toContain('JOB_TYPE push_tar: action push_tar');
    const pushedMain = containerOf(pushed, 'main-task-executor');
    expect(pushedMain.processes.some(p => p.argv[0] === '/kaniko/executor')).toBe(false);
    expect(pushedMain.stderr).toContain(`sha256 ${sha256(ociArchive)} verified`);
    expect(pushedMain.terminationMessage).toBe([
      `${destination}@${image.digest}`,
      `${env.harbor.host}/platform/flip:stable@${image.digest}`,
    ].join('\n') + '\n');
    expect(skopeoInspectDigest(env, destination)).toBe(image.digest);
    expectNoSecretLeak(built, [env.harborPassword]);
    expectNoSecretLeak(pushed, [env.harborPassword]);
  });

  test('an unknown JOB_TYPE fails init-determine-action with the allowed values; nothing else runs', async () => {
    const result = await run(pushTar('unknown'), setJobType('deploy'));
    expect(result.phase).toBe('Failed');
    expect(result.containers.map(c => c.name)).toEqual(['init-determine-action']);
    const init = containerOf(result, 'init-determine-action');
    expect(init.exitCode).toBe(1);
    expect(init.terminationMessage).toBe("error: unknown JOB_TYPE 'deploy': expected build_and_push or push_tar\n");
    expect(await env.harbor.repositories()).not.toContain('platform/unknown');
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a removed build variable is named, and nothing is built or pushed', async () => {
    const result = await run(buildAndPush('unnamed'), job => unsetEnv(job, 'main-task-executor', 'BUILD_IMAGE_NAME'));
    expect(result.phase).toBe('Failed');
    const main = containerOf(result, 'main-task-executor');
    expect(main.terminationMessage).toBe('error: missing required environment variable(s): BUILD_IMAGE_NAME\n');
    expect(main.processes.map(p => p.argv[0])).not.toContain('curl');
    expect(await env.intermediate.repositories()).not.toContain('build/unnamed');
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a removed destination variable is named before the archive is pushed', async () => {
    const result = await run(pushTar('untagged'), job => unsetEnv(job, 'main-task-executor', 'HARBOR_IMAGE_TAG'));
    expect(result.phase).toBe('Failed');
    const main = containerOf(result, 'main-task-executor');
    expect(main.terminationMessage).toBe('error: missing required environment variable(s): HARBOR_IMAGE_TAG\n');
    expect(main.processes.filter(p => p.argv.includes('copy'))).toEqual([]);
    expect(await env.harbor.repositories()).not.toContain('platform/untagged');
    expectNoSecretLeak(result, [env.harborPassword]);
  });
});
