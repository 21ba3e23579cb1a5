import { ApiObject, JsonPatch, Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import {
  ArgoCd, BuildContext, JobAnalysisTemplate, JobName, KanikoBuildJob, KanikoBuildJobProps, KargoNotification, PodSecurityLevel, RegistryCredentials,
} from '../src';
import { container, containerNames, envOf, newChart, RESTRICTED_SECURITY_CONTEXT, ROOT_BUILDER_SECURITY_CONTEXT, synth } from './util';

const FIRST = 'registry.internal:5000/build/api:1.4.0';

function fanOut(props: Partial<KanikoBuildJobProps> = {}) {
  const chart = newChart();
  const build = new KanikoBuildJob(chart, 'api', {
    context: BuildContext.fromUrl('https://artifacts.example.com/api.tar.gz'),
    destinations: [FIRST],
    platforms: ['linux/amd64', 'linux/arm64'],
    ...props,
  });
  const objects = synth(chart);
  const jobs = objects.filter(o => o.kind === 'Job');
  const byName = (name: string) => jobs.find(j => j.metadata.name === name);
  return {
    chart,
    build,
    objects,
    assembly: byName(ApiObject.of(build.job).name),
    platformJobs: build.platformJobs.map(j => byName(ApiObject.of(j).name)),
    of: (kind: string) => objects.filter(o => o.kind === kind),
  };
}

describe('KanikoBuildJob with platforms (fan-out)', () => {
  test('one kaniko Job per platform, on its architecture\'s nodes, pushing a per-platform tag; nothing else', () => {
    // WHEN
    const { build, platformJobs, objects } = fanOut();

    // THEN
    expect(objects.map(o => o.kind)).toEqual(['Job', 'Job', 'ServiceAccount', 'Role', 'RoleBinding', 'Job']);
    expect(build.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(build.platformReferences.map(String)).toEqual([`${FIRST}-amd64`, `${FIRST}-arm64`]);
    expect(build.imageReferences.map(String)).toEqual([FIRST]);
    expect(build.podSecurityLevel).toBe(PodSecurityLevel.BASELINE);
    platformJobs.forEach((job, i) => {
      const arch = ['amd64', 'arm64'][i];
      expect(job.metadata.name).toMatch(new RegExp(`^test-api-${arch}-[0-9a-f]{8}$`));
      expect(job.metadata.labels['app.kubernetes.io/component']).toBe('kaniko-build');
      const pod = job.spec.template.spec;
      expect(pod.nodeSelector).toEqual({ 'kubernetes.io/arch': arch, 'kubernetes.io/os': 'linux' });
      expect(pod.serviceAccountName).toBeUndefined();
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['build'] });
      const kaniko = container(job, 'build');
      expect(kaniko.args).toContain(`--custom-platform=linux/${arch}`);
      expect(kaniko.args.filter((a: string) => a.startsWith('--destination='))).toEqual(['--destination=$(DESTINATION_REGISTRY)/$(DESTINATION_IMAGE_NAME):$(DESTINATION_IMAGE_TAG)']);
      expect(envOf(kaniko)).toMatchObject({ DESTINATION_REGISTRY: 'registry.internal:5000', DESTINATION_IMAGE_NAME: 'build/api', DESTINATION_IMAGE_TAG: `1.4.0-${arch}` });
      // the termination line names the per-platform tag: <repository>:<tag>-<arch>@sha256:…
      expect(kaniko.args).toContain('--image-name-tag-with-digest-file=/dev/termination-log');
      expect(kaniko.args).not.toContain('--image-name-with-digest-file=/dev/termination-log');
      expect(kaniko.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    });
  });

  test('the assembly Job (`job`) waits with its own identity, assembles the index with buildah by digest, and reports every line', () => {
    // WHEN
    const { build, assembly, platformJobs, of } = fanOut({ destinations: [FIRST, 'registry.internal:5000/build/api:latest'] });
    const pod = assembly.spec.template.spec;

    // THEN: the Job users watch
    expect(ApiObject.of(build.job).name).toBe(assembly.metadata.name);
    expect(assembly.metadata.name).toMatch(/^test-api-[0-9a-f]{8}$/);
    expect(assembly.metadata.labels['app.kubernetes.io/component']).toBe('kaniko-assemble');
    expect(containerNames(assembly)).toEqual({ init: ['wait-for-platforms'], main: ['assemble'] });
    expect(assembly.spec.template.metadata.annotations).toEqual({ 'kubectl.kubernetes.io/default-container': 'assemble' });
    expect(pod.nodeSelector).toBeUndefined();

    // RBAC: exactly the per-platform Jobs, by name, and pods to read their termination messages
    const [serviceAccount] = of('ServiceAccount');
    const [role] = of('Role');
    const [binding] = of('RoleBinding');
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    expect(role.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'], resourceNames: platformJobs.map(j => j.metadata.name) },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: serviceAccount.metadata.name }]);
    expect(pod.serviceAccountName).toBe(serviceAccount.metadata.name);

    // the token reaches wait-for-platforms only
    expect(pod.automountServiceAccountToken).toBe(false);
    const access = pod.volumes.find((v: any) => v.name === 'kube-api-access');
    expect(access.projected.sources).toEqual([
      { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
    ]);
    const wait = container(assembly, 'wait-for-platforms');
    expect(wait.volumeMounts).toContainEqual({ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
    const assemble = container(assembly, 'assemble');
    expect(assemble.volumeMounts.map((m: any) => m.name)).not.toContain('kube-api-access');
    expect(wait.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    expect(wait.image).toMatch(/^docker.io\/curlimages\/curl:/);
    expect(envOf(wait)).toMatchObject({
      PLATFORM_BUILDS: platformJobs.map((j, i) => `linux/${['amd64', 'arm64'][i]} ${j.metadata.name} ${FIRST}-${['amd64', 'arm64'][i]} registry.internal:5000/build/api`).join('\n'),
      API_TOKEN_FILE: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      API_CA_FILE: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      PLATFORM_DIGESTS_FILE: '/results/platform-digests',
    });
    expect(wait.env.find((e: any) => e.name === 'POD_NAMESPACE')).toEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });

    // buildah: root, no privileges, baseline like kaniko
    expect(assemble.image).toMatch(/^quay.io\/buildah\/stable:/);
    expect(assemble.securityContext).toEqual(ROOT_BUILDER_SECURITY_CONTEXT);
    expect(envOf(assemble)).toMatchObject({
      PLATFORM_DIGESTS_FILE: '/results/platform-digests',
      DESTINATION_REGISTRY: 'registry.internal:5000',
      DESTINATION_IMAGE_NAME: 'build/api',
      DESTINATION_IMAGE_TAG: '1.4.0',
      ADDITIONAL_DESTINATIONS: 'registry.internal:5000/build/api:latest',
      DIGEST_FILE: '/results/digest',
      STORAGE_DRIVER: 'vfs',
    });
    expect(assemble.command[2]).toContain('buildah_manifest add "$image" --os "$os" --arch "$arch" "$image_index" "docker://$image"');
    expect(assemble.command[2]).toContain('buildah_manifest push "$destination" --all --digestfile');
  });

  test('with promotion the promoter copies the index by digest (--all); credentials, CAs and env reach every Job', () => {
    // WHEN
    const { assembly, platformJobs } = fanOut({
      credentials: RegistryCredentials.fromUsernamePassword('registry-credentials'),
      insecureRegistries: ['registry.internal:5000'],
      promotion: { destinations: ['harbor.example.com/platform/api:1.4.0'], credentials: RegistryCredentials.fromDockerConfigSecret('harbor') },
      imagePullSecrets: ['pull'],
    });

    // THEN
    expect(containerNames(assembly)).toEqual({ init: ['compose-build-auth', 'wait-for-platforms', 'assemble'], main: ['promote'] });
    expect(envOf(container(assembly, 'promote'))).toMatchObject({ SOURCE_DIGEST_FILE: '/results/digest', COPY_ALL_PLATFORMS: 'true', SOURCE_TLS_VERIFY: 'false' });
    expect(envOf(container(assembly, 'assemble'))).toMatchObject({
      INSECURE_REGISTRIES: 'registry.internal:5000',
      REGISTRY_AUTH_FILE: '/buildah/auth/config.json',
      INTERMEDIATE_REGISTRY_URL: 'registry.internal:5000',
      BUILD_IMAGE_NAME: 'build/api',
      BUILD_IMAGE_TAG: '1.4.0',
    });
    for (const job of [...platformJobs, assembly]) {
      expect(job.spec.template.spec.imagePullSecrets).toEqual([{ name: 'pull' }]);
    }
    for (const job of platformJobs) {
      expect(containerNames(job)).toEqual({ init: ['compose-build-auth', 'fetch-context'], main: ['build'] });
      expect(container(job, 'build').args).toContain('--insecure-registry=registry.internal:5000');
    }
  });

  test('a patch to a per-platform Job renames it, and the Role and the wait step follow', () => {
    // GIVEN
    const chart = newChart();
    const build = new KanikoBuildJob(chart, 'api', { context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: [FIRST], platforms: ['linux/amd64', 'linux/arm64'] });
    const before = ApiObject.of(build.platformJobs[1]).name;

    // WHEN
    ApiObject.of(build.platformJobs[1]).addJsonPatch(JsonPatch.remove('/spec/template/spec/nodeSelector/kubernetes.io~1arch'));

    // THEN
    const objects = synth(chart);
    const after = ApiObject.of(build.platformJobs[1]).name;
    expect(after).not.toBe(before);
    expect(objects.find(o => o.kind === 'Role').rules[0].resourceNames).toEqual([ApiObject.of(build.platformJobs[0]).name, after]);
    const assembly = objects.find(o => o.metadata.name === ApiObject.of(build.job).name);
    expect(envOf(container(assembly, 'wait-for-platforms')).PLATFORM_BUILDS).toContain(`linux/arm64 ${after} `);
  });

  test('names: every JobName strategy gets "-<arch>[-<variant>]" per platform; a variant and "_" become DNS-safe', () => {
    const platforms = ['linux/amd64', 'linux/arm/v7'];
    expect(fanOut({ platforms, name: JobName.exact('build-api') }).platformJobs.map(j => j.metadata.name)).toEqual(['build-api-amd64', 'build-api-arm-v7']);
    expect(fanOut({ platforms, name: JobName.contentHashed('api') }).platformJobs.map(j => j.metadata.name))
      .toEqual([expect.stringMatching(/^api-amd64-[0-9a-f]{8}$/), expect.stringMatching(/^api-arm-v7-[0-9a-f]{8}$/)]);
    expect(fanOut({ platforms, name: JobName.stable() }).platformJobs.map(j => j.metadata.name))
      .toEqual([expect.stringMatching(/^test-api-amd64-[0-9a-f]{8}$/), expect.stringMatching(/^test-api-arm-v7-[0-9a-f]{8}$/)]);
    const { build, platformJobs } = fanOut({ platforms: ['linux/x86_64', 'linux/arm/v7'] });
    expect(build.platformReferences.map(r => r.tag)).toEqual(['1.4.0-x86_64', '1.4.0-arm-v7']);
    expect(platformJobs[0].metadata.name).toMatch(/^test-api-x86-64-[0-9a-f]{8}$/);
    expect(platformJobs[1].spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm', 'kubernetes.io/os': 'linux' });
  });

  test('a Docker Hub first destination is waited for as kaniko reports it (index.docker.io)', () => {
    const { assembly, platformJobs } = fanOut({ destinations: ['docker.io/team/api:1.4.0'], platforms: ['linux/arm64'] });
    expect(envOf(container(assembly, 'wait-for-platforms')).PLATFORM_BUILDS)
      .toBe(`linux/arm64 ${platformJobs[0].metadata.name} index.docker.io/team/api:1.4.0-arm64 docker.io/team/api`);
  });

  test('kargoNotification notifies once, from the assembly, after the index is pushed', () => {
    const { assembly, platformJobs } = fanOut({ kargoNotification: KargoNotification.webhook({ secretName: 'kargo-webhook' }) });
    expect(containerNames(assembly)).toEqual({ init: ['wait-for-platforms', 'assemble'], main: ['notify-kargo'] });
    for (const job of platformJobs) {
      expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['build'] });
    }
  });

  test('serviceAccountName runs the per-platform Jobs; the assembly keeps its own', () => {
    const { assembly, platformJobs, of } = fanOut({ serviceAccountName: 'builder', nodeSelector: { pool: 'build' } });
    for (const job of platformJobs) {
      expect(job.spec.template.spec.serviceAccountName).toBe('builder');
      expect(job.spec.template.spec.nodeSelector.pool).toBe('build');
    }
    expect(assembly.spec.template.spec.serviceAccountName).toBe(of('ServiceAccount')[0].metadata.name);
    expect(assembly.spec.template.spec.nodeSelector).toEqual({ pool: 'build' });
  });

  test('snapshot, and same input, byte-identical YAML', () => {
    const props: Partial<KanikoBuildJobProps> = {
      credentials: RegistryCredentials.fromUsernamePassword('registry-credentials'),
      promotion: { destinations: ['harbor.example.com/platform/api:1.4.0'], credentials: RegistryCredentials.fromDockerConfigSecret('harbor') },
    };
    const first = Testing.synth(fanOut(props).chart);
    expect(Testing.synth(fanOut(props).chart)).toEqual(first);
    expect(first).toMatchSnapshot();
  });

  describe('fails when', () => {
    test.each<[string, Partial<KanikoBuildJobProps>, RegExp]>([
      ['a platform is malformed', { platforms: ['linux'] }, /^platforms\[0\]: got "linux"; expected os\/arch\[\/variant\]/],
      ['a platform is listed twice', { platforms: ['linux/amd64', 'linux/amd64'] }, /^platforms\[1\]: got "linux\/amd64"; expected each platform once/],
      ['a platform is not Linux', { platforms: ['linux/amd64', 'windows/amd64'] },
        /^platforms\[1\]: got "windows\/amd64"; expected a linux\/<arch>\[\/<variant>\] platform: kaniko builds Linux images only$/],
      ['two platforms give the same Job name', { platforms: ['linux/arm/v7', 'linux/arm_v7'] },
        /^platforms\[1\]: got "linux\/arm_v7"; expected platforms whose Job names differ: it and platforms\[0\] \("linux\/arm\/v7"\) both name their Job "<name>-arm-v7"$/],
      ['a per-platform tag is a destination\'s', { destinations: [FIRST, `${FIRST}-arm64`] },
        /^platforms\[1\]: got "linux\/arm64"; expected a per-platform tag that no destination uses; registry.internal:5000\/build\/api:1.4.0-arm64 is also destinations\[1\]/],
      ['a per-platform tag is a promotion destination\'s', { promotion: { destinations: [`${FIRST}-amd64`] } },
        /^platforms\[0\]: got "linux\/amd64"; .* is also promotion.destinations\[0\]/],
      ['a per-platform tag is over 128 characters', { destinations: [`registry.internal:5000/build/api:${'v'.repeat(123)}`] },
        /^platforms\[0\]: got "linux\/amd64"; expected a per-platform tag of at most 128 characters; "v{123}-amd64" \(the first destination's tag \+ "-amd64"\) has 129/],
      ['an exact Job name leaves no room for the suffix', { name: JobName.exact('a'.repeat(58)) },
        /^name: got "a{58}"; expected a name short enough for the per-platform Jobs: platforms\[0\] \("linux\/amd64"\) names its Job "a{58}-amd64", 64 characters, over 63$/],
      ['a content-hashed base leaves no room for the suffix', { name: JobName.contentHashed('b'.repeat(49)) },
        /^name: got "b{49}"; .*"b{49}-amd64", 55 characters, over 54 \(63 with the "-<hash>" suffix\)$/],
      ['extraArgs sets the platform', { extraArgs: ['--custom-platform=linux/arm64'] },
        /^extraArgs\[0\]: got "--custom-platform=linux\/arm64"; expected a flag this construct does not manage; --custom-platform is set from platforms$/],
      ['argoCd is set', { argoCd: ArgoCd.hook() }, /^argoCd: got \{.*\}; expected no argoCd with platforms: /],
      ['nodeSelector picks an architecture', { nodeSelector: { 'kubernetes.io/arch': 'amd64' } },
        /^nodeSelector.kubernetes.io\/arch: got "amd64"; expected no architecture or OS selector with platforms/],
      ['the termination message would exceed 4096 bytes', {
        destinations: Array.from({ length: 28 }, (_, i) => `registry.internal:5000/build/${'x'.repeat(40)}:${i}`),
      }, /^platforms: got \["linux\/amd64","linux\/arm64"\]; expected fewer or shorter platforms: their termination message .* needs 4\d{3} bytes, over the kubelet's 4096$/],
    ])('%s', (_, props, message) => {
      expect(() => fanOut(props)).toThrow(message);
    });

    test('a JobAnalysisTemplate is asked to run a fan-out', () => {
      const chart = newChart();
      const build = new KanikoBuildJob(chart, 'api', { context: BuildContext.fromUrl('https://a.example.com/c.tar.gz'), destinations: [FIRST], platforms: ['linux/amd64', 'linux/arm64'] });
      expect(() => new JobAnalysisTemplate(chart, 'verify', { job: build }))
        .toThrow(/^job: got "test\/api"; expected a construct with one Job: it synthesizes 3 \(a KanikoBuildJob with platforms fans out\), and an Argo Rollouts metric runs one/);
    });
  });
});
