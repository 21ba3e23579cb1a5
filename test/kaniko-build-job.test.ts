import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { BuildContext, JobName, KanikoBuildJob, KanikoBuildJobProps, PodSecurityLevel, RegistryCredentials, TolerationEffect, ToolImages } from '../src';
import { container, containerNames, envOf, KANIKO_DEFAULT_ARGS, newChart, RESTRICTED_SECURITY_CONTEXT, ROOT_BUILDER_SECURITY_CONTEXT, synthJob, volumeAt } from './util';

const CONTEXT_URL = 'https://artifacts.example.com/api.tar.gz';
const SHA = 'f'.repeat(64);

function kaniko(props: Partial<KanikoBuildJobProps> = {}) {
  const chart = newChart();
  const build = new KanikoBuildJob(chart, 'api', {
    context: BuildContext.fromUrl(CONTEXT_URL),
    destinations: ['registry.internal:5000/build/api:1.4.0'],
    ...props,
  });
  return { chart, build, job: synthJob(chart) };
}

describe('KanikoBuildJob', () => {
  test('defaults', () => {
    // WHEN
    const { build, job } = kaniko();
    const pod = job.spec.template.spec;
    const kanikoContainer = container(job, 'build');

    // THEN: one main container, the context fetched by an init container
    expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['build'] });
    expect(build.podSecurityLevel).toBe(PodSecurityLevel.BASELINE);
    expect(build.imageReferences.map(String)).toEqual(['registry.internal:5000/build/api:1.4.0']);
    // Job defaults (ImageJobOptions)
    expect(job.spec.activeDeadlineSeconds).toBe(3600);
    expect(job.spec.backoffLimit).toBe(1);
    expect(job.spec.ttlSecondsAfterFinished).toBe(86400);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBeUndefined();
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
    expect(job.metadata.labels).toEqual({ 'app.kubernetes.io/created-by': 'cdk8s-image-jobs', 'app.kubernetes.io/component': 'kaniko-build' });
    expect(job.spec.template.metadata.annotations).toEqual({ 'kubectl.kubernetes.io/default-container': 'build' });
    // dockerfile "Dockerfile", anonymous credentials, pinned kaniko
    expect(kanikoContainer.image).toBe(ToolImages.KANIKO);
    expect(kanikoContainer.imagePullPolicy).toBe('IfNotPresent');
    expect(kanikoContainer.command).toEqual(['/kaniko/executor']);
    expect(envOf(kanikoContainer)).toEqual({
      DOCKERFILE_PATH: 'Dockerfile',
      DESTINATION_REGISTRY: 'registry.internal:5000',
      DESTINATION_IMAGE_NAME: 'build/api',
      DESTINATION_IMAGE_TAG: '1.4.0',
      DOCKER_CONFIG: '/kaniko/.docker',
    });
    expect(kanikoContainer.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/workspace', '/results']);
    expect(kanikoContainer.args).toEqual([
      '--context=dir:///workspace/context',
      '--dockerfile=/workspace/context/$(DOCKERFILE_PATH)',
      '--destination=$(DESTINATION_REGISTRY)/$(DESTINATION_IMAGE_NAME):$(DESTINATION_IMAGE_TAG)',
      '--digest-file=/results/digest',
      '--image-name-with-digest-file=/dev/termination-log',
      ...KANIKO_DEFAULT_ARGS,
    ]);
    // root, nothing more: baseline
    expect(kanikoContainer.securityContext).toEqual(ROOT_BUILDER_SECURITY_CONTEXT);
    expect(kanikoContainer.resources).toEqual({
      requests: { 'cpu': '1', 'memory': '2048Mi', 'ephemeral-storage': '10Gi' },
      limits: { memory: '4096Mi' },
    });
    // context size limit 2Gi
    expect(volumeAt(job, kanikoContainer, '/workspace').volume).toEqual({ name: 'workspace', emptyDir: { sizeLimit: '2048Mi' } });
    expect(job).toMatchSnapshot();
  });

  test('all options', () => {
    // WHEN
    const chart = newChart();
    const build = new KanikoBuildJob(chart, 'api', {
      name: JobName.exact('build-api'),
      context: BuildContext.fromUrl('http://artifacts.internal/api.tar.gz', { sha256: SHA, allowInsecureHttp: true }),
      dockerfile: 'docker/api/Dockerfile',
      destinations: ['registry.internal:5000/build/api:1.4.0', 'registry.internal:5000/build/api:latest'],
      credentials: RegistryCredentials.fromDockerConfigSecret('intermediate-push'),
      buildArgs: { VERSION: '1.4.0', BASE: 'debian:12' },
      target: 'runtime',
      labels: { 'org.opencontainers.image.version': '1.4.0' },
      cache: { repository: 'registry.internal:5000/build/api-cache', ttl: Duration.hours(24) },
      insecureRegistries: ['registry.internal:5000'],
      extraArgs: ['--compressed-caching=false', '--snapshot-mode=full'],
      promotion: {
        destinations: ['harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable'],
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials', { usernameKey: 'user', passwordKey: 'token' }),
        retryTimes: 5,
        destinationTlsVerify: false,
      },
      contextSizeLimit: Size.gibibytes(4),
      activeDeadline: Duration.minutes(30),
      backoffLimit: 0,
      ttlAfterFinished: Duration.hours(2),
      serviceAccountName: 'image-builder',
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      tolerations: [{ key: 'dedicated', value: 'builds', effect: TolerationEffect.NO_SCHEDULE }],
      resources: { cpuRequestMillicores: 2000, memoryRequest: Size.gibibytes(4), memoryLimit: Size.gibibytes(8) },
      jobLabels: { team: 'platform' },
      jobAnnotations: { 'example.com/owner': 'platform' },
      toolImages: { kaniko: 'mirror.internal/kaniko:v1.28.5', skopeo: 'mirror.internal/skopeo:v1.22.3', downloadHelper: 'mirror.internal/curl:8.22.0' },
    });
    const job = synthJob(chart);
    const pod = job.spec.template.spec;
    const kanikoContainer = container(job, 'build');
    const promote = container(job, 'promote');

    // THEN
    expect(containerNames(job)).toEqual({ init: ['compose-promotion-auth', 'fetch-context', 'build'], main: ['promote'] });
    expect(build.imageReferences.map(String)).toEqual([
      'registry.internal:5000/build/api:1.4.0', 'registry.internal:5000/build/api:latest',
      'harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable',
    ]);
    expect(job.metadata.name).toBe('build-api');
    expect(job.spec.activeDeadlineSeconds).toBe(1800);
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.ttlSecondsAfterFinished).toBe(7200);
    expect(pod.serviceAccountName).toBe('image-builder');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64' });
    expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'builds', effect: 'NoSchedule' }]);
    expect(job.metadata.labels.team).toBe('platform');
    expect(job.spec.template.metadata.labels.team).toBe('platform');
    expect(job.metadata.annotations).toEqual({ 'example.com/owner': 'platform' });
    expect(job.spec.template.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('promote');
    expect(kanikoContainer.image).toBe('mirror.internal/kaniko:v1.28.5');
    expect(promote.image).toBe('mirror.internal/skopeo:v1.22.3');
    expect(container(job, 'fetch-context').image).toBe('mirror.internal/curl:8.22.0');
    expect(kanikoContainer.resources).toEqual({ requests: { cpu: '2000m', memory: '4096Mi' }, limits: { memory: '8192Mi' } });
    expect(kanikoContainer.args).toEqual([
      '--context=dir:///workspace/context',
      '--dockerfile=/workspace/context/$(DOCKERFILE_PATH)',
      '--destination=$(INTERMEDIATE_REGISTRY_URL)/$(BUILD_IMAGE_NAME):$(BUILD_IMAGE_TAG)',
      '--destination=registry.internal:5000/build/api:latest',
      '--digest-file=/results/digest',
      '--image-name-with-digest-file=/dev/termination-log',
      '--build-arg=BASE=debian:12',
      '--build-arg=VERSION=1.4.0',
      '--target=runtime',
      '--label=org.opencontainers.image.version=1.4.0',
      '--cache=true',
      '--cache-repo=registry.internal:5000/build/api-cache',
      '--cache-ttl=86400s',
      '--insecure-registry=registry.internal:5000',
      '--push-retry=3',
      '--image-download-retry=3',
      '--skip-unused-stages=true',
      '--log-format=text',
      '--log-timestamp=true',
      '--verbosity=info',
      '--ignore-path=/product_uuid',
      '--compressed-caching=false',
      '--snapshot-mode=full',
    ]);
    expect(envOf(kanikoContainer).DOCKERFILE_PATH).toBe('docker/api/Dockerfile');
    expect(envOf(container(job, 'fetch-context'))).toEqual({
      BUILD_CONTEXT_URL: 'http://artifacts.internal/api.tar.gz',
      BUILD_CONTEXT_SHA256: SHA,
      ALLOW_INSECURE_HTTP: 'true',
      DOCKERFILE_PATH: 'docker/api/Dockerfile',
      CONTEXT_DIR: '/workspace/context',
    });
    expect(volumeAt(job, kanikoContainer, '/workspace').volume.emptyDir.sizeLimit).toBe('4096Mi');
    expect(envOf(promote)).toMatchObject({
      RETRY_TIMES: '5',
      SOURCE_TLS_VERIFY: 'false',
      DEST_TLS_VERIFY: 'false',
      ADDITIONAL_DESTINATIONS: 'harbor.example.com/platform/api:stable',
      SOURCE_AUTH_FILE: '/auth/source/config.json',
      DEST_AUTH_FILE: '/auth/destination/config.json',
    });
    expect(envOf(container(job, 'compose-promotion-auth'))).toMatchObject({
      HARBOR_USERNAME: 'secret:harbor-credentials/user',
      HARBOR_PASSWORD: 'secret:harbor-credentials/token',
    });
  });

  test('promotion: kaniko becomes an init container and skopeo promotes the digest kaniko recorded', () => {
    // WHEN
    const { job } = kaniko({
      promotion: {
        destinations: ['harbor.example.com/platform/api:1.4.0'],
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      },
    });
    const promote = container(job, 'promote');

    // THEN
    expect(containerNames(job)).toEqual({ init: ['compose-promotion-auth', 'fetch-context', 'build'], main: ['promote'] });
    expect(promote.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(promote.command[2]).toContain('skopeo copy');
    expect(envOf(promote)).toEqual({
      INTERMEDIATE_REGISTRY_URL: 'registry.internal:5000',
      BUILD_IMAGE_NAME: 'build/api',
      BUILD_IMAGE_TAG: '1.4.0',
      SOURCE_DIGEST_FILE: '/results/digest',
      HARBOR_REGISTRY: 'harbor.example.com',
      HARBOR_PROJECT: 'platform',
      HARBOR_IMAGE_NAME: 'api',
      HARBOR_IMAGE_TAG: '1.4.0',
      COPY_ALL_PLATFORMS: 'true',
      PRESERVE_DIGESTS: 'true',
      RETRY_TIMES: '3',
      SOURCE_TLS_VERIFY: 'true',
      DEST_TLS_VERIFY: 'true',
      DEST_AUTH_FILE: '/auth/destination/config.json',
      HOME: '/tmp',
      TMPDIR: '/tmp',
    });
    // the digest file is shared read-only; the credentials only reach the promoter as a file
    expect(volumeAt(job, container(job, 'build'), '/results').volume).toEqual({ name: 'results', emptyDir: { sizeLimit: '1Mi' } });
    expect(volumeAt(job, promote, '/results').mount.readOnly).toBe(true);
    const auth = volumeAt(job, promote, '/auth/destination');
    expect(auth.mount.readOnly).toBe(true);
    expect(auth.volume.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
    expect(JSON.stringify(promote)).not.toContain('HARBOR_PASSWORD');
  });

  test.each([
    ['a dockerconfigjson Secret', RegistryCredentials.fromDockerConfigSecret('harbor-push')],
    ['a username/password Secret', RegistryCredentials.fromUsernamePassword('harbor-credentials')],
  ])('promotion credentials from %s never reach the kaniko container, whose RUN steps run the Dockerfile', (_, credentials) => {
    // WHEN: both the build and the promotion have credentials
    const { job } = kaniko({
      credentials: RegistryCredentials.fromDockerConfigSecret('build-push'),
      promotion: { destinations: ['harbor.example.com/platform/api:1.4.0'], credentials },
    });
    const pod = job.spec.template.spec;
    const build = container(job, 'build');
    const promotionVolume = volumeAt(job, container(job, 'promote'), '/auth/destination').volume.name;
    const promotionSources = new Set([promotionVolume, ...pod.volumes
      .filter((v: any) => v.secret?.secretName === 'harbor-push' || v.secret?.secretName === 'harbor-credentials')
      .map((v: any) => v.name)]);

    // THEN: the build container mounts only the build credentials, and no env var carries a promotion Secret
    expect(build.volumeMounts.map((m: any) => m.name).filter((name: string) => promotionSources.has(name))).toEqual([]);
    expect(volumeAt(job, build, '/kaniko/.docker').volume.secret.secretName).toBe('build-push');
    expect(JSON.stringify(build)).not.toMatch(/harbor-push|harbor-credentials/);
  });

  test('username/password credentials with additionalRegistries: the composed config.json also covers a private base image\'s registry', () => {
    // WHEN
    const { job } = kaniko({
      credentials: RegistryCredentials.fromUsernamePassword('build-credentials', { additionalRegistries: ['private.corp.io', 'registry-1.docker.io'] }),
    });
    // THEN: sorted, unique, Docker Hub under both of its keys
    expect(envOf(container(job, 'compose-build-auth')).AUTH_REGISTRIES).toBe('docker.io https://index.docker.io/v1/ private.corp.io registry.internal:5000');
  });

  test('the promoter is restricted even though the pod is baseline', () => {
    const { job } = kaniko({ promotion: { destinations: ['harbor.example.com/p/api:1'] } });
    expect(container(job, 'promote').securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
  });

  test('a docker-config Secret is mounted read-only where kaniko reads it, and shared with the promoter as its source', () => {
    // WHEN
    const { job } = kaniko({
      credentials: RegistryCredentials.fromDockerConfigSecret('push-secret'),
      promotion: { destinations: ['harbor.example.com/p/api:1'] },
    });

    // THEN
    const kanikoAuth = volumeAt(job, container(job, 'build'), '/kaniko/.docker');
    expect(kanikoAuth.mount.readOnly).toBe(true);
    expect(kanikoAuth.volume).toEqual({
      name: 'build-auth',
      secret: { secretName: 'push-secret', items: [{ key: '.dockerconfigjson', path: 'config.json' }], defaultMode: 0o440 },
    });
    expect(volumeAt(job, container(job, 'promote'), '/auth/source').volume.name).toBe('build-auth');
    expect(envOf(container(job, 'promote')).SOURCE_AUTH_FILE).toBe('/auth/source/config.json');
    expect(job.spec.template.spec.securityContext.fsGroup).toBe(65532);
  });

  test('username/password credentials are composed for every destination registry, and a cache elsewhere only when listed', () => {
    const { job } = kaniko({
      destinations: ['registry.internal:5000/build/api:1', 'mirror.internal/build/api:1'],
      credentials: RegistryCredentials.fromUsernamePassword('build-credentials', { additionalRegistries: ['cache.internal'] }),
      cache: { repository: 'cache.internal/build/api-cache' },
    });
    const compose = container(job, 'compose-build-auth');
    expect(envOf(compose)).toEqual({
      AUTH_FILE: '/auth/config.json',
      AUTH_REGISTRIES: 'cache.internal mirror.internal registry.internal:5000',
      HARBOR_USERNAME: 'secret:build-credentials/username',
      HARBOR_PASSWORD: 'secret:build-credentials/password',
    });
    expect(volumeAt(job, container(job, 'build'), '/kaniko/.docker').volume.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
  });

  test('Docker Hub credentials are written under both keys the tools look up', () => {
    const { job } = kaniko({ destinations: ['acme/api:1'], credentials: RegistryCredentials.fromUsernamePassword('hub') });
    expect(envOf(container(job, 'compose-build-auth')).AUTH_REGISTRIES).toBe('docker.io https://index.docker.io/v1/');
  });

  test('a git context is cloned by kaniko itself: no init container, no workspace', () => {
    // WHEN
    const { job } = kaniko({
      context: BuildContext.fromGit('https://github.com/acme/api.git', { ref: 'refs/heads/main', subPath: 'services/api' }),
      dockerfile: 'build/Dockerfile',
    });

    // THEN
    expect(containerNames(job)).toEqual({ init: [], main: ['build'] });
    const args = container(job, 'build').args;
    expect(args.slice(0, 3)).toEqual([
      '--context=git://github.com/acme/api.git#refs/heads/main',
      '--context-sub-path=services/api',
      '--dockerfile=$(DOCKERFILE_PATH)',
    ]);
    expect(job.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['results']);
  });

  test.each<[string, string | undefined, string[]]>([
    ['a bare branch or tag is looked up by kaniko', 'release-1.4', ['--context=git://github.com/acme/api.git', '--git=branch=release-1.4']],
    ['a full ref goes in the fragment', 'refs/pull/42/head', ['--context=git://github.com/acme/api.git#refs/pull/42/head']],
    ['a commit is checked out after cloning', 'a'.repeat(40), [`--context=git://github.com/acme/api.git#HEAD#${'a'.repeat(40)}`]],
    ['no ref clones the default branch', undefined, ['--context=git://github.com/acme/api.git']],
  ])('git ref: %s', (_, ref, contextArgs) => {
    const { job } = kaniko({ context: BuildContext.fromGit('https://github.com/acme/api.git', { ref }) });
    expect(container(job, 'build').args.slice(0, contextArgs.length + 1)).toEqual([...contextArgs, '--dockerfile=$(DOCKERFILE_PATH)']);
  });

  test('a private git repository: the token reaches kaniko from the Secret, never the URL or args', () => {
    // WHEN
    const { job } = kaniko({ context: BuildContext.fromGit('https://gitlab.example.com/acme/api.git', { tokenSecret: 'gitlab-token' }) });
    const { job: withUser } = kaniko({ context: BuildContext.fromGit('https://gitlab.example.com/acme/api.git', { tokenSecret: 'gitlab-token', tokenKey: 'pat', username: 'oauth2' }) });

    // THEN
    expect(envOf(container(job, 'build')).GIT_TOKEN).toBe('secret:gitlab-token/token');
    expect(envOf(container(withUser, 'build'))).toMatchObject({ GIT_USERNAME: 'oauth2', GIT_PASSWORD: 'secret:gitlab-token/pat' });
    expect(envOf(container(withUser, 'build')).GIT_TOKEN).toBeUndefined();
    expect(container(job, 'build').args[0]).toBe('--context=git://gitlab.example.com/acme/api.git');
  });

  test('a PersistentVolumeClaim context is read in place, read-only, at its sub path', () => {
    const { job } = kaniko({ context: BuildContext.fromPersistentVolumeClaim('sources', { subPath: 'services/api' }) });
    const build = container(job, 'build');
    expect(containerNames(job)).toEqual({ init: [], main: ['build'] });
    expect(build.args.slice(0, 2)).toEqual(['--context=dir:///context/services/api', '--dockerfile=/context/services/api/$(DOCKERFILE_PATH)']);
    expect(volumeAt(job, build, '/context')).toEqual({
      mount: { mountPath: '/context', name: 'context', readOnly: true },
      volume: { name: 'context', persistentVolumeClaim: { claimName: 'sources', readOnly: true } },
    });
  });

  test('an S3 context is fetched by kaniko with a mounted credentials file, region and endpoint', () => {
    // WHEN
    const { job } = kaniko({
      context: BuildContext.fromS3('s3://acme-contexts/api/1.4.0.tar.gz', { credentialsSecret: 'aws-build', region: 'eu-west-1', endpoint: 'https://minio.example.com' }),
    });
    const build = container(job, 'build');

    // THEN
    expect(containerNames(job)).toEqual({ init: [], main: ['build'] });
    expect(build.args.slice(0, 2)).toEqual(['--context=s3://acme-contexts/api/1.4.0.tar.gz', '--dockerfile=$(DOCKERFILE_PATH)']);
    expect(envOf(build)).toMatchObject({
      AWS_REGION: 'eu-west-1',
      S3_ENDPOINT: 'https://minio.example.com',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/var/run/secrets/aws-context/credentials',
    });
    expect(volumeAt(job, build, '/var/run/secrets/aws-context')).toEqual({
      mount: { mountPath: '/var/run/secrets/aws-context', name: 'aws-context-credentials', readOnly: true },
      volume: { name: 'aws-context-credentials', secret: { secretName: 'aws-build', defaultMode: 0o440, items: [{ key: 'credentials', path: 'credentials' }] } },
    });
  });

  test('a GCS context is fetched by kaniko with a mounted service-account key; without a Secret the pod identity is used', () => {
    const { job } = kaniko({ context: BuildContext.fromGcs('gs://acme-contexts/api.tar.gz', { credentialsSecret: 'gcs-reader', credentialsKey: 'sa.json' }) });
    const build = container(job, 'build');
    expect(build.args[0]).toBe('--context=gs://acme-contexts/api.tar.gz');
    expect(envOf(build).GOOGLE_APPLICATION_CREDENTIALS).toBe('/var/run/secrets/gcp-context/key.json');
    expect(volumeAt(job, build, '/var/run/secrets/gcp-context').volume.secret.items).toEqual([{ key: 'sa.json', path: 'key.json' }]);

    const { job: ambient } = kaniko({ context: BuildContext.fromGcs('gs://acme-contexts/api.tar.gz') });
    expect(envOf(container(ambient, 'build')).GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
    expect(ambient.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['results']);
  });

  test('cache: {} caches in <first destination>/cache', () => {
    const { job } = kaniko({ destinations: ['registry.internal:5000/build/api:1', 'mirror.internal/api:1'], cache: {} });
    const args = container(job, 'build').args;
    expect(args).toContain('--cache=true');
    expect(args).toContain('--cache-repo=registry.internal:5000/build/api/cache');
    expect(args.some((a: string) => a.startsWith('--cache-ttl'))).toBe(false);
  });

  test('a known commit becomes the BUILD_COMMIT_SHA build arg, unless buildArgs sets it', () => {
    const sha = 'a'.repeat(40);
    expect(container(kaniko({ commitSha: sha }).job, 'build').args).toContain(`--build-arg=BUILD_COMMIT_SHA=${sha}`);
    const overridden = container(kaniko({ commitSha: sha, buildArgs: { BUILD_COMMIT_SHA: 'mine' } }).job, 'build').args;
    expect(overridden.filter((a: string) => a.startsWith('--build-arg=BUILD_COMMIT_SHA'))).toEqual(['--build-arg=BUILD_COMMIT_SHA=mine']);
    expect(container(kaniko().job, 'build').args.some((a: string) => a.includes('BUILD_COMMIT_SHA'))).toBe(false);
  });

  test('a ConfigMap context is mounted read-only as the context directory: no init container', () => {
    // WHEN
    const { job } = kaniko({ context: BuildContext.fromConfigMap('api-dockerfile'), dockerfile: 'Containerfile' });
    const build = container(job, 'build');

    // THEN
    expect(containerNames(job)).toEqual({ init: [], main: ['build'] });
    expect(build.args.slice(0, 2)).toEqual(['--context=dir:///workspace', '--dockerfile=/workspace/$(DOCKERFILE_PATH)']);
    expect(envOf(build).DOCKERFILE_PATH).toBe('Containerfile');
    const context = volumeAt(job, build, '/workspace');
    expect(context.mount.readOnly).toBe(true);
    expect(context.volume).toEqual({ name: 'context', configMap: { name: 'api-dockerfile' } });
  });

  test('a single-component Harbor repository leaves HARBOR_PROJECT empty', () => {
    const { job } = kaniko({ promotion: { destinations: ['harbor.example.com/api:1'] } });
    expect(envOf(container(job, 'promote'))).toMatchObject({ HARBOR_PROJECT: '', HARBOR_IMAGE_NAME: 'api' });
  });

  test('nested Harbor repositories keep the project as the first component', () => {
    const { job } = kaniko({ promotion: { destinations: ['harbor.example.com/platform/team/api:1'] } });
    expect(envOf(container(job, 'promote'))).toMatchObject({ HARBOR_PROJECT: 'platform', HARBOR_IMAGE_NAME: 'team/api' });
  });

  test('a literal "$" in build args and extra args survives kubelet expansion', () => {
    const { job } = kaniko({ buildArgs: { GREETING: 'cost $(5)' }, extraArgs: ['--registry-mirror=m.io/$x'] });
    const args = container(job, 'build').args;
    expect(args).toContain('--build-arg=GREETING=cost $$(5)');
    expect(args).toContain('--registry-mirror=m.io/$$x');
  });

  test('the escape hatch reaches the raw Job', () => {
    const { chart, build } = kaniko();
    ApiObject.of(build.job).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'builds'));
    expect(synthJob(chart).spec.template.spec.priorityClassName).toBe('builds');
  });

  test('same input, byte-identical YAML', () => {
    const yaml = () => {
      const { chart } = kaniko({ buildArgs: { B: '2', A: '1' }, labels: { z: '1', a: '2' }, promotion: { destinations: ['h.io/p/a:1', 'h.io/p/a:2'] } });
      return chart.toJson();
    };
    expect(JSON.stringify(yaml())).toBe(JSON.stringify(yaml()));
  });

  describe('fails when', () => {
    test.each<[string, Partial<KanikoBuildJobProps>, RegExp]>([
      ['destinations is empty', { destinations: [] }, /^destinations: got \[\]; expected at least one image reference with a tag$/],
      ['a destination is invalid', { destinations: ['Registry/API:1'] }, /^destinations\[0\]: got "Registry\/API:1"; .*lower-case/],
      ['a destination has no tag', { destinations: ['r.io/a'] }, /^destinations\[0\]: got "r.io\/a"; expected a destination with an explicit tag/],
      ['a destination has a digest', { destinations: [`r.io/a:1@sha256:${SHA}`] }, /^destinations\[0\]: .*without "@sha256:"/],
      ['a destination is listed twice', { destinations: ['r.io/a:1', 'r.io/a:1'] }, /^destinations\[1\]: .*listed twice/],
      ['promotion destinations are empty', { promotion: { destinations: [] } }, /^promotion.destinations: got \[\]/],
      ['the name is over 63 characters', { name: JobName.exact('a'.repeat(64)) }, /^name: got "a{64}"; expected a Kubernetes name of at most 63 characters/],
      ['the name is not a Kubernetes name', { name: JobName.exact('Build_API') }, /^name: got "Build_API"/],
      ['a build arg key is invalid', { buildArgs: { 'BAD-KEY': '1' } }, /^buildArgs key: got "BAD-KEY"; expected a name of letters, digits and "_"/],
      ['a build arg value holds a NUL', { buildArgs: { A: 'a\u0000b' } }, /^buildArgs.A: got "a\\u0000b"; expected a value without NUL characters/],
      ['a label value holds a NUL', { labels: { a: '\u0000' } }, /^labels.a: got "\\u0000"; expected a value without NUL/],
      ['extraArgs holds a NUL', { extraArgs: ['--label=a=\u0000'] }, /^extraArgs\[0\]: got "--label=a=\\u0000"; expected a value without NUL/],
      ['a label key is invalid', { labels: { 'bad key': '1' } }, /^labels key: got "bad key"; expected a Kubernetes label key/],
      ['a job label key is invalid', { jobLabels: { '-bad': '1' } }, /^jobLabels key: got "-bad"/],
      ['a job label value is invalid', { jobLabels: { team: 'not ok' } }, /^jobLabels.team: got "not ok"/],
      ['a job annotation key is invalid', { jobAnnotations: { 'a/b/c': '1' } }, /^jobAnnotations key: got "a\/b\/c"/],
      ['a node selector key is invalid', { nodeSelector: { 'kubernetes.io/': 'x' } }, /^nodeSelector key: got "kubernetes.io\/"/],
      ['extraArgs overrides a managed flag', { extraArgs: ['--destination=evil.io/x:1'] }, /^extraArgs\[0\]: got "--destination=evil.io\/x:1"; .*--destination is set from destinations/],
      ['extraArgs sets the context', { extraArgs: ['-c', 'dir:///x'] }, /^extraArgs\[0\]: got "-c"; .*set from context/],
      ['extraArgs sets a build arg', { extraArgs: ['--build-arg=A=1'] }, /set from buildArgs/],
      ['extraArgs sets the digest file', { extraArgs: ['--digest-file=/x'] }, /set from the digest contract/],
      ['extraArgs repeats a default flag', { extraArgs: ['--verbosity=debug', '--verbosity=trace'] }, /^extraArgs\[1\]: .*--verbosity at most once/],
      ['extraArgs has an empty entry', { extraArgs: [''] }, /^extraArgs\[0\]: got ""/],
      ['a build arg value has a trailing newline', { buildArgs: { VERSION: '1.4.0\n' } },
        /^buildArgs.VERSION: got "1.4.0\\n"; expected a value without line breaks \(trim a trailing newline; a multi-line label or build arg is refused by every builder here\)$/],
      ['a label value spans lines', { labels: { 'org.opencontainers.image.description': 'a\r\nb' } }, /^labels.org.opencontainers.image.description: got "a\\r\\nb"; expected a value without line breaks/],
      ['extraArgs is not an executor flag (a typo)', { extraArgs: ['--compresed-caching=false'] },
        /^extraArgs\[0\]: got "--compresed-caching=false"; expected a flag of the kaniko executor; --compresed-caching is not one \(flags as of https:\/\/github.com\/osscontainertools\/kaniko\/blob\/[0-9a-f]{40}\/cmd\/executor\/cmd\/root.go\)$/],
      ['extraArgs is a buildah flag', { extraArgs: ['--layers'] }, /^extraArgs\[0\]: got "--layers"; expected a flag of the kaniko executor/],
      ['the commit is not a SHA', { commitSha: 'main' }, /^commitSha: got "main"; expected a commit SHA/],
      ['cache repository has a tag', { cache: { repository: 'r.io/cache:1' } }, /^cache.repository: .*without tag or digest/],
      ['cache ttl is not whole seconds', { cache: { repository: 'r.io/cache', ttl: Duration.millis(1500) } }, /^cache.ttl: got "1.5s"; expected a whole number of seconds, at least 1$/],
      ['ttlAfterFinished is fractional', { ttlAfterFinished: Duration.millis(10) }, /^ttlAfterFinished: got "0.01s"/],
      ['an insecure registry is not a host', { insecureRegistries: ['http://r.io'] }, /^insecureRegistries\[0\]: got "http:\/\/r.io"/],
      ['the dockerfile escapes the context', { dockerfile: '../Dockerfile' }, /^dockerfile: got "..\/Dockerfile"; expected a relative path/],
      ['the dockerfile is absolute', { dockerfile: '/Dockerfile' }, /^dockerfile: got "\/Dockerfile"/],
      ['the target is invalid', { target: 'a b' }, /^target: got "a b"/],
      ['backoffLimit is negative', { backoffLimit: -1 }, /^backoffLimit: got -1; expected a whole number from 0 to 100$/],
      ['promotion retryTimes is fractional', { promotion: { destinations: ['h.io/a:1'], retryTimes: 1.5 } }, /^promotion.retryTimes: got 1.5/],
      ['the active deadline is zero', { activeDeadline: Duration.seconds(0) }, /^activeDeadline: got "0s"; expected a whole number of seconds, at least 1$/],
      ['a tool image is unpinned', { toolImages: { kaniko: 'gcr.io/kaniko-project/executor' } }, /^toolImages.kaniko: got "gcr.io\/kaniko-project\/executor"; expected an image pinned/],
      ['a tool image uses latest', { toolImages: { skopeo: 'quay.io/skopeo/stable:latest' } }, /^toolImages.skopeo: .*never an implicit or explicit "latest"/],
      ['a tool image is not a reference', { toolImages: { downloadHelper: 'Not An Image' } }, /^toolImages.downloadHelper: got "Not An Image"/],
      ['a ConfigMap context\'s dockerfile is not a key', { context: BuildContext.fromConfigMap('ctx'), dockerfile: 'docker/Dockerfile' },
        /^dockerfile: got "docker\/Dockerfile"; expected a key of the context ConfigMap/],
      ['the context is missing', { context: undefined as any }, /^context: got undefined; expected a BuildContext/],
    ])('%s', (_, props, message) => {
      expect(() => kaniko(props)).toThrow(message);
    });
  });
});
