/**
 * KanikoBuildJob with `platforms` on the real node, with the real kaniko executor, Debian's buildah and the real API
 * server with RBAC enforced: one kaniko Job per platform, then the assembly Job (its own ServiceAccount and Role)
 * waits for them through the API, pushes one image index by digest and promotes it. The node is amd64 only: the
 * linux/arm64 Job runs there too, its RUN steps under QEMU (binfmt_misc, F flag), once its `kubernetes.io/arch`
 * node selector is removed. The base image is a linux/amd64 + linux/arm64 busybox index.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { ApiObject, JsonPatch } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeJob, HARBOR_USER, JobRun, NodeEnvironment } from './node';
import { BuildContext, KanikoBuildJob, KanikoBuildJobProps, RegistryCredentials } from '../../src';
import { synthesize, usernamePasswordSecret } from '../e2e/environment';
import { busyboxIndex, imageArch, registerQemu } from '../e2e/multi-arch';
import { pushImage, tarGz } from '../e2e/oci';

let env: NodeEnvironment;
let base: string;
/** What this file set up on the machine, undone in afterAll. */
let undoQemu: (() => void)[] = [];
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  undoQemu = registerQemu();
  env = await NodeEnvironment.start('fan-out');
  await pushImage(env.intermediate.host, 'base/busybox', 'multi', busyboxIndex());
  base = `${env.intermediate.host}/base/busybox:multi`;
});
afterAll(async () => {
  await env?.stop();
  undoQemu.forEach(step => step());
});

/**
 * A RUN step that writes the architecture it ran on to /arch and logs it. Only shell builtins next to `uname`: under
 * QEMU, busybox runs some applets by re-executing /proc/self/exe, which is then the emulator (`$(cat /arch)` fails).
 */
const RUN_ARCH = 'ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch && read -r arch < /arch && echo "built on $arch"\n';

function context(dockerfile: string): BuildContext {
  const archive = tarGz({ Dockerfile: dockerfile });
  const url = env.files.serve(`/contexts/${sha256(archive)}.tar.gz`, archive);
  return BuildContext.fromUrl(url, { sha256: sha256(archive) });
}

/** `skopeo` on the host (the tier CA trusted); fails the test on a non-zero exit. */
function skopeo(args: string[]): string {
  const result = spawnSync('skopeo', args, { encoding: 'utf8', env: { ...process.env, HOME: env.dir, TMPDIR: env.dir }, maxBuffer: 64 * 1024 * 1024 });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/**
 * Synthesizes a two-platform fan-out, removes the arm64 Job's `kubernetes.io/arch` selector (after checking it is
 * there) so that it runs on this amd64 node under QEMU, applies everything and waits for every Job.
 */
async function fanOut(props: Omit<KanikoBuildJobProps, 'platforms'>): Promise<{ build: KanikoBuildJob; objects: any[]; runs: JobRun[] }> {
  let build: KanikoBuildJob | undefined;
  const objects = synthesize(chart => {
    build = new KanikoBuildJob(chart, 'build', { ...props, platforms: ['linux/amd64', 'linux/arm64'] });
    const arm64 = ApiObject.of(build.platformJobs[1]);
    expect(arm64.toJson().spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux' });
    arm64.addJsonPatch(JsonPatch.remove('/spec/template/spec/nodeSelector/kubernetes.io~1arch'));
  });
  expect(objects.map(o => o.kind)).toEqual(['Job', 'Job', 'ServiceAccount', 'Role', 'RoleBinding', 'Job']);
  const runs = await env.runJobs(objects, build!.podSecurityLevel,
    [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
  return { build: build!, objects, runs };
}

/** The first `<reference>@sha256:<64 hex>` line of a termination message. */
function digestLine(message: string): { ref: string; digest: string } {
  const match = /^(\S+)@(sha256:[0-9a-f]{64})$/m.exec(message);
  expect(match, message).not.toBeNull();
  return { ref: match![1], digest: match![2] };
}

describe('KanikoBuildJob platforms on a real node: the real kaniko per platform, buildah assembles the index, RBAC enforced', () => {
  test('linux/amd64 natively and linux/arm64 emulated under QEMU on the amd64 node: one index by digest, promoted, every line reported', async () => {
    // GIVEN
    const destination = `${env.intermediate.host}/multi:1.0.0`;
    const promoted = `${env.harbor.host}/platform/multi:1.0.0`;

    // WHEN
    const { build, objects, runs } = await fanOut({
      context: context(RUN_ARCH),
      destinations: [destination],
      insecureRegistries: [env.intermediate.host],
      buildArgs: { BASE: base },
      resources: { cpuRequestMillicores: 250 },
      promotion: { destinations: [promoted], credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials') },
    });

    // THEN: every Job Complete; each RUN step ran on its architecture
    const [amd64Run, arm64Run, assembly] = runs;
    for (const run of runs) {
      expect(run.phase, describeJob(run)).toBe('Complete');
    }
    expect(containerOf(amd64Run, 'build').log).toContain('built on x86_64\n');
    expect(containerOf(arm64Run, 'build').log).toContain('built on aarch64\n');
    const perPlatform = [amd64Run, arm64Run].map(run => digestLine(containerOf(run, 'build').terminationMessage));
    expect(perPlatform.map(p => p.ref)).toEqual([`${destination}-amd64`, `${destination}-arm64`]);
    expect(perPlatform.map(p => env.inspectDigest(p.ref))).toEqual(perPlatform.map(p => p.digest));

    // the assembly's termination lines: the destination at the index digest, then each platform's manifest digest
    const index = env.inspectDigest(destination);
    const repository = `${env.intermediate.host}/multi`;
    expect(containerOf(assembly, 'assemble').terminationMessage).toBe([
      `${destination}@${index}`,
      `linux/amd64 ${repository}@${perPlatform[0].digest}`,
      `linux/arm64 ${repository}@${perPlatform[1].digest}`,
      '',
    ].join('\n'));
    expect(containerOf(assembly, 'wait-for-platforms').log).toContain('every platform is built');

    // the pushed index lists both platforms at the per-platform digests; each image names and ran on its architecture
    const list = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${destination}`]));
    expect(list.manifests.map((m: any) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]).sort())
      .toEqual([['linux/amd64', perPlatform[0].digest], ['linux/arm64', perPlatform[1].digest]]);
    const amd64 = imageArch(skopeo, env.dir, `${repository}@${perPlatform[0].digest}`, false);
    const arm64 = imageArch(skopeo, env.dir, `${repository}@${perPlatform[1].digest}`, false);
    expect([amd64.config.architecture, amd64.arch]).toEqual(['amd64', 'x86_64\n']);
    expect([arm64.config.architecture, arm64.arch]).toEqual(['arm64', 'aarch64\n']);

    // promotion copied the index by digest (--all): harbor serves the same index digest
    expect(containerOf(assembly, 'promote').terminationMessage).toBe(`${promoted}@${index}\n`);
    expect(env.inspectDigest(promoted)).toBe(index);

    // the Role is enforced (the API server runs Node,RBAC): the assembly may get its per-platform Jobs, nothing else
    const namespace = assembly.namespace;
    const serviceAccount = objects.find(o => o.kind === 'ServiceAccount').metadata.name;
    const may = async (verb: string, resource: string, name?: string, group = 'batch') => (await env.api.must('POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${namespace}:${serviceAccount}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
          resourceAttributes: { namespace, verb, group, resource, name },
        },
      })).status.allowed === true;
    expect(await may('get', 'jobs', amd64Run.name)).toBe(true);
    expect(await may('get', 'jobs', arm64Run.name)).toBe(true);
    expect(await may('get', 'jobs', ApiObject.of(build.job).name)).toBe(false);
    expect(await may('list', 'jobs')).toBe(false);
    expect(await may('list', 'pods', undefined, '')).toBe(true);
    expect(await may('get', 'secrets', 'harbor-credentials', '')).toBe(false);
  }, 600_000);

  test('one platform\'s build fails (a RUN step that fails only on aarch64): the assembly ends Failed naming it, nothing reaches the destinations', async () => {
    // WHEN
    const destination = `${env.intermediate.host}/broken:1.0.0`;
    const { runs } = await fanOut({
      context: context(`${RUN_ARCH}RUN read -r arch < /arch && [ "$arch" != aarch64 ] || { echo "refusing to build on aarch64"; exit 1; }\n`),
      destinations: [destination],
      insecureRegistries: [env.intermediate.host],
      buildArgs: { BASE: base },
      backoffLimit: 0,
      resources: { cpuRequestMillicores: 250 },
      promotion: { destinations: [`${env.harbor.host}/platform/broken:1.0.0`], credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials') },
    });

    // THEN
    const [amd64Run, arm64Run, assembly] = runs;
    expect(amd64Run.phase, describeJob(amd64Run)).toBe('Complete');
    expect(arm64Run.phase, describeJob(arm64Run)).toBe('Failed');
    expect(containerOf(arm64Run, 'build').log).toContain('refusing to build on aarch64');
    expect(assembly.phase, describeJob(assembly)).toBe('Failed');
    expect(containerOf(assembly, 'wait-for-platforms').terminationMessage).toBe(
      `error: the linux/arm64 build failed: Job ${arm64Run.name} ended Failed (kubectl logs job/${arm64Run.name}); nothing was pushed to the destinations\n`);
    expect(containerOf(assembly, 'assemble').exitCode, 'the assembly never started').toBeUndefined();
    // the amd64 tag exists; the destination tag and the promotion do not
    const tags = JSON.parse((await env.intermediate.get('/v2/broken/tags/list')).body.toString()).tags;
    expect(tags).toEqual(['1.0.0-amd64']);
    expect(await env.harbor.repositories()).not.toContain('platform/broken');
  }, 600_000);
});
