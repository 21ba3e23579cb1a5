import { Size } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import {
  BuildContext, BuildkitBuildJob, BuildkitBuildJobProps, BuildkitMode, CacheMode, PodSecurityLevel, RegistryCertificateAuthority, RegistryCredentials,
  ToolImages,
} from '../src';
import { container, containerNames, envOf, newChart, synthJob, volumeAt } from './util';
import { BUILDKIT_DIRECT_BUILD_SCRIPT } from '../src/_scripts';

const CONTEXT_URL = 'https://artifacts.example.com/api.tar.gz';
const FIRST = '$(DESTINATION_REGISTRY)/$(DESTINATION_IMAGE_NAME):$(DESTINATION_IMAGE_TAG)';

/** 15 destinations whose `<destination>@sha256:<64 hex>` lines take 114 bytes each. */
const LONG_DESTINATIONS = Array.from({ length: 15 }, (_, i) => `registry.internal:5000/build/svc-${String(i).padStart(2, '0')}:1.0.0`);
/** 23 platforms of 11 characters: `linux/ar000` … `linux/ar022`. */
const MANY_PLATFORMS = Array.from({ length: 23 }, (_, i) => `linux/ar${String(i).padStart(3, '0')}`);

function buildkit(props: Partial<BuildkitBuildJobProps> = {}) {
  const chart = newChart();
  const build = new BuildkitBuildJob(chart, 'api', {
    context: BuildContext.fromUrl(CONTEXT_URL),
    destinations: ['registry.internal:5000/build/api:1.4.0'],
    ...props,
  });
  return { chart, build, job: synthJob(chart) };
}

describe('BuildkitBuildJob', () => {
  test('defaults', () => {
    // WHEN
    const { build, job } = buildkit();
    const pod = job.spec.template.spec;
    const c = container(job, 'build');

    // THEN: rootless BuildKit as the main container, the context fetched by an init container
    expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['build'] });
    expect(build.podSecurityLevel).toBe(PodSecurityLevel.PRIVILEGED);
    expect(build.mode).toBe(BuildkitMode.ROOTLESS);
    expect(build.platforms).toEqual([]);
    expect(build.imageReferences.map(String)).toEqual(['registry.internal:5000/build/api:1.4.0']);
    expect(build.promotionDestinations).toEqual([]);
    expect(job.spec.activeDeadlineSeconds).toBe(3600);
    expect(job.spec.backoffLimit).toBe(1);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(job.metadata.labels).toEqual({ 'app.kubernetes.io/created-by': 'cdk8s-image-jobs', 'app.kubernetes.io/component': 'buildkit-build' });
    expect(job.spec.template.metadata.annotations).toEqual({
      'container.apparmor.security.beta.kubernetes.io/build': 'unconfined',
      'kubectl.kubernetes.io/default-container': 'build',
    });
    expect(c.image).toBe(ToolImages.BUILDKIT_ROOTLESS);
    expect(c.command).toEqual(['/bin/sh', '-c', BUILDKIT_DIRECT_BUILD_SCRIPT]);
    expect(c.args).toEqual([
      'buildctl-build', '--progress=plain', '--frontend=dockerfile.v0',
      '--opt=filename=Dockerfile', '--local=context=/workspace/context', '--local=dockerfile=/workspace/context',
      `--output=type=image,name=${FIRST},push=true`,
    ]);
    expect(envOf(c)).toEqual({
      BUILDKITD_FLAGS: '--oci-worker-no-process-sandbox',
      BUILDCTL_CONNECT_RETRIES_MAX: '30',
      DOCKER_CONFIG: '/home/user/.docker',
      METADATA_FILE: '/results/metadata.json',
      DESTINATION_REGISTRY: 'registry.internal:5000',
      DESTINATION_IMAGE_NAME: 'build/api',
      DESTINATION_IMAGE_TAG: '1.4.0',
      DESTINATIONS: 'registry.internal:5000/build/api:1.4.0',
      DIGEST_FILE: '/results/digest',
      BUILDKITD_CONFIG: '/home/user/.local/share/buildkit/buildkitd.toml',
    });
    expect(c.securityContext).toMatchObject({ runAsUser: 1000, allowPrivilegeEscalation: true, seccompProfile: { type: 'Unconfined' } });
    expect(volumeAt(job, c, '/home/user/.local/share/buildkit').volume.emptyDir).toEqual({ sizeLimit: '20480Mi' });
    expect(volumeAt(job, c, '/results').volume.emptyDir).toEqual({ sizeLimit: '1Mi' });
    expect(c.volumeMounts.map((m: any) => m.mountPath)).not.toContain('/home/user/.docker');
    expect(job).toMatchSnapshot();
  });

  test('all options: privileged, credentials, platforms, registry cache, secrets, inputs, promotion', () => {
    // WHEN
    const { build, job } = buildkit({
      mode: BuildkitMode.PRIVILEGED,
      credentials: RegistryCredentials.fromDockerConfigSecret('build-push'),
      destinations: ['registry.internal:5000/build/api:1.4.0', 'registry.internal:5000/build/api:latest'],
      platforms: ['linux/amd64', 'linux/arm64'],
      cache: { repository: 'registry.internal:5000/build/api-cache' },
      secrets: [{ id: 'npmrc', secretName: 'npm', key: '.npmrc' }],
      buildArgs: { VERSION: '1.4.0' },
      labels: { 'org.opencontainers.image.revision': 'abc1234' },
      target: 'runtime',
      commitSha: 'abc1234',
      insecureRegistries: ['registry.internal:5000'],
      stateSizeLimit: Size.gibibytes(5),
      promotion: { destinations: ['harbor.example.com/prod/api:1.4.0'], credentials: RegistryCredentials.fromDockerConfigSecret('prod-push') },
    });
    const c = container(job, 'build');
    const promote = container(job, 'promote');

    // THEN
    expect(build.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(containerNames(job)).toEqual({ init: ['fetch-context', 'build'], main: ['promote'] });
    expect(build.imageReferences.map(String)).toEqual([
      'registry.internal:5000/build/api:1.4.0', 'registry.internal:5000/build/api:latest', 'harbor.example.com/prod/api:1.4.0',
    ]);
    expect(c.image).toBe(ToolImages.BUILDKIT);
    expect(c.securityContext).toMatchObject({ privileged: true, runAsUser: 0 });
    const cacheRef = 'registry.internal:5000/build/api-cache:buildcache';
    expect(c.args).toEqual([
      'buildctl-build', '--progress=plain', '--frontend=dockerfile.v0',
      '--opt=filename=Dockerfile', '--local=context=/workspace/context', '--local=dockerfile=/workspace/context',
      '--opt=target=runtime',
      '--opt=build-arg:BUILD_COMMIT_SHA=abc1234', '--opt=build-arg:VERSION=1.4.0',
      '--opt=label:org.opencontainers.image.revision=abc1234',
      '--opt=platform=linux/amd64,linux/arm64',
      '--secret=id=npmrc,src=/run/build-secrets/npmrc/npmrc',
      // the commit also becomes the revision annotation Kargo reads
      '--output=type=image,"name=$(INTERMEDIATE_REGISTRY_URL)/$(BUILD_IMAGE_NAME):$(BUILD_IMAGE_TAG),registry.internal:5000/build/api:latest",push=true,'
        + '"annotation.org.opencontainers.image.revision=abc1234"',
      `--export-cache=type=registry,ref=${cacheRef},mode=max,ignore-error=true`,
      `--import-cache=type=registry,ref=${cacheRef}`,
    ]);
    expect(envOf(c)).toMatchObject({
      DOCKER_CONFIG: '/root/.docker',
      INSECURE_REGISTRIES: 'registry.internal:5000',
      BUILDKITD_CONFIG: '/var/lib/buildkit/buildkitd.toml',
      DESTINATIONS: 'registry.internal:5000/build/api:1.4.0 registry.internal:5000/build/api:latest',
      // the script reads the pushed index from BuildKit's content store in its state directory, for the platform lines
      PLATFORMS: 'linux/amd64,linux/arm64',
      BUILDKIT_STATE_DIR: '/var/lib/buildkit',
    });
    expect(envOf(c).BUILDKITD_FLAGS).toBeUndefined();
    expect(volumeAt(job, c, '/root/.docker').volume.secret).toMatchObject({ secretName: 'build-push' });
    expect(volumeAt(job, c, '/run/build-secrets/npmrc').volume.secret).toMatchObject({ secretName: 'npm', items: [{ key: '.npmrc', path: 'npmrc' }] });
    expect(volumeAt(job, c, '/var/lib/buildkit').volume.emptyDir).toEqual({ sizeLimit: '5120Mi' });
    // the promoter copies the recorded digest (an index with several platforms) with --all, reading the registry over http
    expect(envOf(promote)).toMatchObject({ SOURCE_DIGEST_FILE: '/results/digest', COPY_ALL_PLATFORMS: 'true', SOURCE_TLS_VERIFY: 'false' });
    expect(job.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/build']).toBeUndefined();
  });

  test('inline cache exports into the pushed image and imports from the first destination', () => {
    const { job } = buildkit({ cache: { mode: CacheMode.INLINE } });
    expect(container(job, 'build').args.slice(-2)).toEqual([
      '--export-cache=type=inline', '--import-cache=type=registry,ref=registry.internal:5000/build/api:1.4.0',
    ]);
  });

  test('CA bundles are mounted per registry and named in the buildkitd.toml the script writes', () => {
    const { job } = buildkit({
      certificateAuthorities: [
        RegistryCertificateAuthority.fromConfigMap('corp-ca'),
        RegistryCertificateAuthority.fromSecret('base-tls', 'bundle.pem', { registries: ['base.corp.io'] }),
      ],
    });
    const c = container(job, 'build');
    expect(envOf(c).REGISTRY_CA_DIR).toBe('/etc/buildkit-certs');
    expect(volumeAt(job, c, '/etc/buildkit-certs/registry.internal:5000').volume.configMap).toMatchObject({ name: 'corp-ca' });
    expect(volumeAt(job, c, '/etc/buildkit-certs/base.corp.io').volume.secret).toMatchObject({ secretName: 'base-tls' });
    expect(BUILDKIT_DIRECT_BUILD_SCRIPT).toContain('ca = ["%s"]');
  });

  test('cache: {} caches at <first repository>/cache:buildcache', () => {
    const { job } = buildkit({ cache: {} });
    expect(container(job, 'build').args).toContain('--import-cache=type=registry,ref=registry.internal:5000/build/api/cache:buildcache');
  });

  test('a git context is cloned by BuildKit, a private token passed as GIT_AUTH_TOKEN.<host>', () => {
    const { job } = buildkit({
      context: BuildContext.fromGit('https://git.example.com/team/api.git', { ref: 'v1.4.0', subPath: 'svc', tokenSecret: 'git', tokenKey: 'token' }),
    });
    const c = container(job, 'build');
    expect(c.args).toContain('--opt=context=https://git.example.com/team/api.git#v1.4.0:svc');
    expect(c.args).toContain('--secret=id=GIT_AUTH_TOKEN.git.example.com,src=/run/git-auth-token/token');
    expect(containerNames(job).init).toEqual([]);
  });

  test('values reach BuildKit escaped for kubelet', () => {
    const { job } = buildkit({ buildArgs: { A: 'x $(HOME) y' } });
    expect(container(job, 'build').args).toContain('--opt=build-arg:A=x $$(HOME) y');
  });

  test('platforms: the state directory of each mode is where the script finds the pushed index; no platforms, no variables', () => {
    expect(envOf(container(buildkit({ platforms: ['linux/amd64', 'linux/arm64'] }).job, 'build'))).toMatchObject({
      PLATFORMS: 'linux/amd64,linux/arm64', BUILDKIT_STATE_DIR: '/home/user/.local/share/buildkit',
    });
    expect(Object.keys(envOf(container(buildkit().job, 'build')))).not.toEqual(expect.arrayContaining(['PLATFORMS']));
    expect(Object.keys(envOf(container(buildkit().job, 'build')))).not.toEqual(expect.arrayContaining(['BUILDKIT_STATE_DIR']));
    expect(BUILDKIT_DIRECT_BUILD_SCRIPT).toContain('"$BUILDKIT_STATE_DIR"/runc-*/content/blobs/sha256/"${digest#sha256:}"');
  });

  test('the termination message\'s destination and platform lines may fill the kubelet\'s 4096 bytes, not more', () => {
    // 15 destination lines of 114 bytes and 19 platform lines of 120 bytes: 3990 bytes; one more platform is 4110
    expect(() => buildkit({ destinations: LONG_DESTINATIONS, platforms: MANY_PLATFORMS.slice(0, 19) })).not.toThrow();
    expect(() => buildkit({ destinations: LONG_DESTINATIONS, platforms: MANY_PLATFORMS.slice(0, 20) })).toThrow(/needs 4\d{3} bytes, over the kubelet's 4096$/);
  });

  test('same input, byte-identical YAML', () => {
    expect(JSON.stringify(buildkit({ platforms: ['linux/arm64', 'linux/amd64'] }).job))
      .toBe(JSON.stringify(buildkit({ platforms: ['linux/arm64', 'linux/amd64'] }).job));
  });

  test.each([
    [{ platforms: ['linux/amd64', 'linux/amd64'] }, /^platforms\[1\]: got "linux\/amd64"; expected each platform once/],
    [{ platforms: ['amd64'] }, /^platforms\[0\]: got "amd64"; expected os\/arch\[\/variant\]/],
    [{ cache: { mode: CacheMode.NONE } }, /^cache\.mode: got "none"; expected CacheMode\.REGISTRY or CacheMode\.INLINE/],
    [{ cache: { mode: CacheMode.INLINE, repository: 'registry.internal:5000/c' } }, /^cache\.repository: got "registry.internal:5000\/c"; expected no repository with CacheMode\.INLINE/],
    [{ cache: { repository: 'registry.internal:5000/c:v1' } }, /^cache\.repository: got "registry.internal:5000\/c:v1"; expected a repository without tag/],
    [{ mode: 'root' as any }, /^mode: got "root"; expected one of PRIVILEGED, ROOTLESS/],
    [{ secrets: [{ id: 'A', secretName: 's' }] }, /^secrets\[0\]\.id: got "A"/],
    [{ context: BuildContext.fromS3('s3://bucket/ctx.tar.gz') }, /^context: got "s3"; expected a context BuildkitBuildJob can use: BuildContext\.fromUrl\(\), fromLocalDirectory\(\), fromConfigMap\(\), fromPersistentVolumeClaim\(\) or fromGit\(\)/],
    [{ context: BuildContext.fromGit('https://git.example.com/team/api') }, /^context: got "https:\/\/git.example.com\/team\/api"; expected a git URL ending in "\.git" with BuildkitBuildJob/],
    [{ labels: { a: 'x\n' } }, /^labels\.a: got "x\\n"; expected a value without line breaks/],
    [{ destinations: [] }, /^destinations: got \[\]/],
    // 15 destinations fit (15 × 114 bytes); with 23 platform lines (120 bytes each) they do not
    [{ destinations: LONG_DESTINATIONS, platforms: MANY_PLATFORMS },
      /^destinations: got \[.*\]; expected fewer or shorter destinations or fewer platforms: their termination message \("<destination>@sha256:<64 hex>" per destination, "<platform> <repository>@sha256:<64 hex>" per platform\) needs 4\d{3} bytes, over the kubelet's 4096$/],
  ])('fails on bad input %#', (props, error) => {
    expect(() => buildkit(props as any)).toThrow(error);
  });
});
