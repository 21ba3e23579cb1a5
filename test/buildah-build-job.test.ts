import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import {
  BuildahBuildJob, BuildahBuildJobProps, BuildahImageFormat, BuildahStorageDriver, BuildContext, PodSecurityLevel, RegistryCredentials, ToolImages,
} from '../src';
import { container, containerNames, envOf, newChart, RESTRICTED_SECURITY_CONTEXT, synthJob, volumeAt } from './util';
import { BUILDAH_BUILD_SCRIPT } from '../src/_scripts';

const CONTEXT_URL = 'https://artifacts.example.com/api.tar.gz';
const CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_CHROOT'];

function buildah(props: Partial<BuildahBuildJobProps> = {}) {
  const chart = newChart();
  const build = new BuildahBuildJob(chart, 'api', {
    context: BuildContext.fromUrl(CONTEXT_URL),
    destinations: ['registry.internal:5000/build/api:1.4.0'],
    ...props,
  });
  return { chart, build, job: synthJob(chart) };
}

describe('BuildahBuildJob', () => {
  test('defaults', () => {
    // WHEN
    const { build, job } = buildah();
    const pod = job.spec.template.spec;
    const c = container(job, 'build');

    // THEN: one main container, the context fetched by an init container
    expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['build'] });
    expect(build.podSecurityLevel).toBe(PodSecurityLevel.PRIVILEGED);
    expect(build.storageDriver).toBe(BuildahStorageDriver.VFS);
    expect(build.imageReferences.map(String)).toEqual(['registry.internal:5000/build/api:1.4.0']);
    expect(build.promotionDestinations).toEqual([]);
    expect(job.spec.activeDeadlineSeconds).toBe(3600);
    expect(job.spec.backoffLimit).toBe(1);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(job.metadata.labels).toEqual({ 'app.kubernetes.io/created-by': 'cdk8s-image-jobs', 'app.kubernetes.io/component': 'buildah-build' });
    expect(job.spec.template.metadata.annotations).toEqual({
      'container.apparmor.security.beta.kubernetes.io/build': 'unconfined',
      'kubectl.kubernetes.io/default-container': 'build',
    });
    // pinned buildah running the constant script; the flags are its arguments ($0 first)
    expect(c.image).toBe(ToolImages.BUILDAH);
    expect(c.command).toEqual(['/bin/sh', '-c', BUILDAH_BUILD_SCRIPT]);
    expect(c.args).toEqual(['buildah-build', '--format=oci']);
    expect(envOf(c)).toEqual({
      CONTEXT_DIR: '/workspace/context',
      DOCKERFILE_PATH: 'Dockerfile',
      DESTINATION_REGISTRY: 'registry.internal:5000',
      DESTINATION_IMAGE_NAME: 'build/api',
      DESTINATION_IMAGE_TAG: '1.4.0',
      DIGEST_FILE: '/results/digest',
      STORAGE_DRIVER: 'vfs',
      STORAGE_ROOT: '/var/lib/containers',
      CONTAINERS_STORAGE_CONF: '/var/lib/containers/storage.conf',
      CONTAINERS_REGISTRIES_CONF: '/var/lib/containers/registries.conf',
      CONTAINERS_CONF: '/var/lib/containers/containers.conf',
      RUN_CAPABILITIES: CAPABILITIES.filter(cap => cap !== 'SYS_ADMIN').join(' '),
    });
    // root, every capability dropped but buildah's RUN set and SYS_ADMIN; seccomp stays RuntimeDefault
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: true,
      capabilities: { add: CAPABILITIES, drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources).toEqual({
      requests: { 'cpu': '1', 'memory': '2048Mi', 'ephemeral-storage': '10Gi' },
      limits: { memory: '4096Mi' },
    });
    // storage on an emptyDir of 20Gi, the context on one of 2Gi, the digest hand-over on one of 1Mi
    expect(c.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/workspace', '/results', '/var/lib/containers']);
    expect(volumeAt(job, c, '/var/lib/containers').volume.emptyDir).toEqual({ sizeLimit: '20480Mi' });
    expect(volumeAt(job, c, '/workspace').volume.emptyDir).toEqual({ sizeLimit: '2048Mi' });
    expect(volumeAt(job, c, '/results').volume.emptyDir).toEqual({ sizeLimit: '1Mi' });
    // the fetcher is restricted even though the pod is privileged
    expect(container(job, 'fetch-context').securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    expect(pod.securityContext.runAsNonRoot).toBe(false);
    expect(job).toMatchSnapshot();
  });

  test('all options', () => {
    // WHEN
    const { build, job } = buildah({
      dockerfile: 'docker/Dockerfile',
      destinations: ['registry.internal:5000/build/api:1.4.0', 'registry.internal:5000/build/api:build-7'],
      credentials: RegistryCredentials.fromDockerConfigSecret('push-config'),
      buildArgs: { B: '2', A: '1' },
      target: 'runtime',
      labels: { 'org.opencontainers.image.version': '1.4.0' },
      commitSha: 'abc1234',
      insecureRegistries: ['registry.internal:5000'],
      storageDriver: BuildahStorageDriver.OVERLAY,
      format: BuildahImageFormat.DOCKER,
      cache: { ttl: Duration.hours(2) },
      extraArgs: ['--platform=linux/arm64', '--jobs', '2'],
      storageSizeLimit: Size.gibibytes(50),
      contextSizeLimit: Size.gibibytes(1),
      resources: { cpuRequestMillicores: 2000 },
      toolImages: { buildah: 'mirror.internal/buildah/stable:v1.43.1' },
    });
    const c = container(job, 'build');

    // THEN
    expect(build.storageDriver).toBe(BuildahStorageDriver.OVERLAY);
    expect(c.image).toBe('mirror.internal/buildah/stable:v1.43.1');
    expect(c.args).toEqual([
      'buildah-build',
      '--format=docker',
      '--layers',
      '--cache-from=registry.internal:5000/build/api/cache',
      '--cache-to=registry.internal:5000/build/api/cache',
      '--cache-ttl=7200s',
      '--build-arg=A=1',
      '--build-arg=B=2',
      '--build-arg=BUILD_COMMIT_SHA=abc1234',
      '--target=runtime',
      '--label=org.opencontainers.image.version=1.4.0',
      '--annotation=org.opencontainers.image.revision=abc1234',
      '--platform=linux/arm64',
      '--jobs',
      '2',
    ]);
    expect(envOf(c)).toMatchObject({
      DOCKERFILE_PATH: 'docker/Dockerfile',
      ADDITIONAL_DESTINATIONS: 'registry.internal:5000/build/api:build-7',
      STORAGE_DRIVER: 'overlay',
      INSECURE_REGISTRIES: 'registry.internal:5000',
      REGISTRY_AUTH_FILE: '/buildah/auth/config.json',
    });
    const auth = c.volumeMounts.find((m: any) => m.mountPath === '/buildah/auth');
    expect(auth.readOnly).toBe(true);
    expect(volumeAt(job, c, '/buildah/auth').volume.secret).toMatchObject({ secretName: 'push-config', items: [{ key: '.dockerconfigjson', path: 'config.json' }] });
    expect(volumeAt(job, c, '/var/lib/containers').volume.emptyDir).toEqual({ sizeLimit: '51200Mi' });
    expect(volumeAt(job, c, '/workspace').volume.emptyDir).toEqual({ sizeLimit: '1024Mi' });
    expect(c.resources.requests.cpu).toBe('2000m');
  });

  test('layers without a cache', () => {
    expect(container(buildah({ layers: true }).job, 'build').args).toEqual(['buildah-build', '--format=oci', '--layers']);
  });

  test('promotion: buildah becomes an init container and skopeo promotes the digest buildah recorded', () => {
    // WHEN
    const { build, job } = buildah({
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      insecureRegistries: ['registry.internal:5000'],
      promotion: {
        destinations: ['harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable'],
        credentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
      },
    });
    // THEN
    expect(containerNames(job)).toEqual({ init: ['compose-build-auth', 'fetch-context', 'build'], main: ['promote'] });
    expect(build.imageReferences.map(String)).toEqual([
      'registry.internal:5000/build/api:1.4.0', 'harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable',
    ]);
    // the init container is unconfined too (field and annotation)
    expect(container(job, 'build').securityContext.appArmorProfile).toBeUndefined();
    expect(job.spec.template.metadata.annotations).toMatchObject({
      'container.apparmor.security.beta.kubernetes.io/build': 'unconfined',
      'kubectl.kubernetes.io/default-container': 'promote',
    });
    const promote = container(job, 'promote');
    expect(envOf(promote)).toMatchObject({
      INTERMEDIATE_REGISTRY_URL: 'registry.internal:5000',
      BUILD_IMAGE_NAME: 'build/api',
      SOURCE_DIGEST_FILE: '/results/digest',
      SOURCE_TLS_VERIFY: 'false',
      HARBOR_REGISTRY: 'harbor.example.com',
      ADDITIONAL_DESTINATIONS: 'harbor.example.com/platform/api:stable',
    });
    expect(promote.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    expect(promote.volumeMounts.find((m: any) => m.mountPath === '/results').readOnly).toBe(true);
  });

  test('a ConfigMap context is mounted read-only as the context directory', () => {
    const { job } = buildah({ context: BuildContext.fromConfigMap('api-context') });
    const c = container(job, 'build');
    expect(containerNames(job)).toEqual({ init: [], main: ['build'] });
    expect(envOf(c).CONTEXT_DIR).toBe('/workspace');
    expect(c.volumeMounts.find((m: any) => m.mountPath === '/workspace').readOnly).toBe(true);
  });

  test('a claim is read in place at its sub-directory; a local directory is unpacked from its ConfigMap', () => {
    const claim = buildah({ context: BuildContext.fromPersistentVolumeClaim('sources', { subPath: 'services/api' }) }).job;
    const build = container(claim, 'build');
    expect(containerNames(claim)).toEqual({ init: [], main: ['build'] });
    expect(envOf(build).CONTEXT_DIR).toBe('/context/services/api');
    expect(build.volumeMounts.find((m: any) => m.mountPath === '/context').readOnly).toBe(true);

    const local = buildah({ context: BuildContext.fromLocalDirectory('examples/contexts/a') }).job;
    expect(containerNames(local)).toEqual({ init: ['fetch-context'], main: ['build'] });
    expect(envOf(container(local, 'fetch-context')).BUILD_CONTEXT_ARCHIVE).toMatch(/context\.tar\.gz$/);
  });

  test('a literal "$" in build args and extra args survives kubelet expansion', () => {
    const { job } = buildah({ buildArgs: { A: 'x$(HOME)' }, extraArgs: ['--annotation=a=$$'] });
    expect(container(job, 'build').args).toEqual(['buildah-build', '--format=oci', '--build-arg=A=x$$(HOME)', '--annotation=a=$$$$']);
  });

  test('the escape hatch reaches the raw Job', () => {
    const { chart, build } = buildah();
    ApiObject.of(build.job).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'builds'));
    expect(synthJob(chart).spec.template.spec.priorityClassName).toBe('builds');
  });

  test('same input, byte-identical YAML', () => {
    const yaml = () => buildah({
      buildArgs: { B: '2', A: '1' }, labels: { z: '1', a: '2' }, insecureRegistries: ['b.io', 'a.io'], promotion: { destinations: ['h.io/p/a:1', 'h.io/p/a:2'] },
    }).chart.toJson();
    expect(JSON.stringify(yaml())).toBe(JSON.stringify(yaml()));
  });

  test('extraArgs: a flag\'s value may start with "-" (it is not taken for a flag)', () => {
    const { job } = buildah({ extraArgs: ['--memory-swap', '-1', '-q'] });
    expect(container(job, 'build').args.slice(-3)).toEqual(['--memory-swap', '-1', '-q']);
  });

  test('platforms: one index built with --platform/--manifest, pushed with manifest push --all, promoted with --all', () => {
    // WHEN
    const { build, job } = buildah({
      platforms: ['linux/amd64', 'linux/arm64'],
      promotion: { destinations: ['harbor.example.com/prod/api:1.4.0'] },
    });
    const c = container(job, 'build');

    // THEN: the script gets the platforms as a variable; the promoter copies every platform by the recorded digest
    expect(build.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(envOf(c).PLATFORMS).toBe('linux/amd64,linux/arm64');
    expect(c.args).toEqual(['buildah-build', '--format=oci']);
    expect(BUILDAH_BUILD_SCRIPT).toContain('--platform "$PLATFORMS" --manifest "$image_index"');
    expect(BUILDAH_BUILD_SCRIPT).toContain('buildah_manifest push "$destination" --all --digestfile');
    expect(envOf(container(job, 'promote'))).toMatchObject({ SOURCE_DIGEST_FILE: '/results/digest', COPY_ALL_PLATFORMS: 'true' });
    // the platform lines come from the index read back from the first destination by digest, not from the local list
    expect(BUILDAH_BUILD_SCRIPT).toContain('buildah_manifest add "$first" --all "$pushed_index" "docker://${first%:*}@$digest"');
    expect(BUILDAH_BUILD_SCRIPT).toContain('record_platform_digests "$work_dir/pushed-index.json" "${first%:*}"');
  });

  test('the termination message\'s destination and platform lines may fill the kubelet\'s 4096 bytes, not more', () => {
    const destinations = Array.from({ length: 15 }, (_, i) => `registry.internal:5000/build/svc-${String(i).padStart(2, '0')}:1.0.0`);
    const platforms = Array.from({ length: 20 }, (_, i) => `linux/ar${String(i).padStart(3, '0')}`);
    // 15 destination lines of 114 bytes and 19 platform lines of 120 bytes: 3990 bytes; one more platform is 4110
    expect(() => buildah({ destinations, platforms: platforms.slice(0, 19) })).not.toThrow();
    expect(() => buildah({ destinations, platforms })).toThrow(
      /^destinations: got \[.*\]; expected fewer or shorter destinations or fewer platforms: their termination message \("<destination>@sha256:<64 hex>" per destination, "<platform> <repository>@sha256:<64 hex>" per platform\) needs 4110 bytes, over the kubelet's 4096$/);
  });

  test('without platforms, --platform in extraArgs still cross-builds a single image', () => {
    const { build, job } = buildah({ extraArgs: ['--platform=linux/arm64'] });
    expect(build.platforms).toEqual([]);
    expect(envOf(container(job, 'build')).PLATFORMS).toBeUndefined();
    expect(container(job, 'build').args).toEqual(['buildah-build', '--format=oci', '--platform=linux/arm64']);
  });

  describe('fails when', () => {
    test.each<[string, Partial<BuildahBuildJobProps>, RegExp]>([
      ['the context is missing', { context: undefined as any }, /^context: got undefined; expected a BuildContext/],
      ['the context is a git repository', { context: BuildContext.fromGit('https://github.com/acme/api.git') },
        /^context: got "git"; expected a context BuildahBuildJob can use: BuildContext.fromUrl\(\), fromLocalDirectory\(\), fromConfigMap\(\) or fromPersistentVolumeClaim\(\); KanikoBuildJob reads fromGit\(\), fromS3\(\), fromGcs\(\) too$/],
      ['the context is in S3', { context: BuildContext.fromS3('s3://builds/api.tar.gz') },
        /^context: got "s3"; expected a context BuildahBuildJob can use: BuildContext.fromUrl\(\), fromLocalDirectory\(\)/],
      ['destinations is empty', { destinations: [] }, /^destinations: got \[\]; expected at least one image reference with a tag$/],
      ['a destination has no tag', { destinations: ['r.io/a'] }, /^destinations\[0\]: got "r.io\/a"; expected a destination with an explicit tag/],
      ['promotion destinations are empty', { promotion: { destinations: [] } }, /^promotion.destinations: got \[\]/],
      ['the dockerfile escapes the context', { dockerfile: '../Dockerfile' }, /^dockerfile: got "..\/Dockerfile"; expected a relative path/],
      ['a build arg key is invalid', { buildArgs: { 'BAD-KEY': '1' } }, /^buildArgs key: got "BAD-KEY"; expected a name of letters, digits and "_"/],
      ['a label key is invalid', { labels: { 'bad key': '1' } }, /^labels key: got "bad key"; expected a Kubernetes label key/],
      ['the target is invalid', { target: 'a b' }, /^target: got "a b"/],
      ['the commit is not a SHA', { commitSha: 'main' }, /^commitSha: got "main"; expected a commit SHA/],
      ['an insecure registry is not a host', { insecureRegistries: ['http://r.io'] }, /^insecureRegistries\[0\]: got "http:\/\/r.io"/],
      ['the storage driver is unknown', { storageDriver: 'btrfs' as any }, /^storageDriver: got "btrfs"; expected one of VFS, OVERLAY$/],
      ['the format is unknown', { format: 'v2s1' as any }, /^format: got "v2s1"; expected one of OCI, DOCKER$/],
      ['cache repository has a tag', { cache: { repository: 'r.io/cache:1' } }, /^cache.repository: got "r.io\/cache:1"; expected a repository without tag or digest; buildah tags/],
      ['cache ttl is not whole seconds', { cache: { ttl: Duration.millis(1500) } }, /^cache.ttl: got "1.5s"; expected a whole number of seconds, at least 1$/],
      ['the storage size limit is fractional', { storageSizeLimit: Size.kibibytes(1) }, /^storageSizeLimit: got "0.0009765625Mi"; expected a whole number of mebibytes/],
      ['extraArgs sets the isolation', { extraArgs: ['--isolation=oci'] }, /^extraArgs\[0\]: got "--isolation=oci"; expected a flag this construct does not manage; --isolation is set from the chroot isolation/],
      ['extraArgs tags the image', { extraArgs: ['-t', 'evil.io/x:1'] }, /^extraArgs\[0\]: got "-t"; .*-t is set from destinations$/],
      ['extraArgs sets the storage driver', { extraArgs: ['--storage-driver=overlay'] }, /set from storageDriver$/],
      ['extraArgs passes credentials', { extraArgs: ['--creds=u:p'] }, /set from credentials$/],
      ['extraArgs turns TLS off', { extraArgs: ['--tls-verify=false'] }, /set from insecureRegistries$/],
      ['extraArgs sets the image id file', { extraArgs: ['--iidfile=/tmp/x'] }, /set from the digest contract$/],
      ['extraArgs is not a buildah bud flag (a typo)', { extraArgs: ['--platfrom=linux/arm64'] },
        /^extraArgs\[0\]: got "--platfrom=linux\/arm64"; expected a flag of buildah bud; --platfrom is not one \(flags as of https:\/\/github.com\/containers\/buildah\/blob\/[0-9a-f]{40}\/docs\/buildah-build.1.md\)$/],
      ['extraArgs is a kaniko flag', { extraArgs: ['--snapshot-mode=redo'] }, /^extraArgs\[0\]: got "--snapshot-mode=redo"; expected a flag of buildah bud/],
      ['a label value has a line break', { labels: { note: 'a\nb' } }, /^labels.note: got "a\\nb"; expected a value without line breaks/],
      ['extraArgs has an empty entry', { extraArgs: [''] }, /^extraArgs\[0\]: got ""; expected a non-empty string such as "--platform=linux\/arm64"$/],
      ['a tool image is unpinned', { toolImages: { buildah: 'quay.io/buildah/stable' } }, /^toolImages.buildah: got "quay.io\/buildah\/stable"; expected an image pinned/],
      ['a tool image uses latest', { toolImages: { buildah: 'quay.io/buildah/stable:latest' } }, /^toolImages.buildah: .*never an implicit or explicit "latest"/],
      ['a ConfigMap context\'s dockerfile is not a key', { context: BuildContext.fromConfigMap('ctx'), dockerfile: 'docker/Dockerfile' },
        /^dockerfile: got "docker\/Dockerfile"; expected a key of the context ConfigMap/],
      ['a platform is listed twice', { platforms: ['linux/amd64', 'linux/arm64', 'linux/amd64'] },
        /^platforms\[2\]: got "linux\/amd64"; expected each platform once; this one is listed twice$/],
      ['a platform is malformed', { platforms: ['linux'] }, /^platforms\[0\]: got "linux"; expected os\/arch\[\/variant\] such as "linux\/amd64"/],
      ['extraArgs picks a platform next to platforms', { platforms: ['linux/amd64', 'linux/arm64'], extraArgs: ['--platform=linux/s390x'] },
        /^extraArgs\[0\]: got "--platform=linux\/s390x"; expected a flag this construct does not manage; --platform is set from platforms$/],
      ['extraArgs picks an architecture next to platforms', { platforms: ['linux/arm64'], extraArgs: ['--arch', 'arm64'] }, /--arch is set from platforms$/],
      ['promotion retryTimes is fractional', { promotion: { destinations: ['h.io/a:1'], retryTimes: 1.5 } }, /^promotion.retryTimes: got 1.5/],
    ])('%s', (_, props, message) => {
      expect(() => buildah(props)).toThrow(message);
    });
  });
});
