import { App, Chart, Duration, Size, Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import {
  BuildContext, BuildkitMode, CacheMode, OciConnector, OciConnectorBuildJob, OciConnectorBuildJobProps, PodSecurityLevel,
  ProxyAddressing, RegistryConfigName, ToolImages, VolumeAttributeStyle,
} from '../src';
import { container, containerNames, envOf, synth, synthJob, volumeAt } from './util';

const PROXY = 'c-harbor.builds.svc.cluster.local/namespaces/builds/connectors/harbor';

function namespacedChart(namespace = 'builds'): Chart {
  return new Chart(Testing.app(), 'test', { namespace });
}

function connectorBuild(props: Partial<OciConnectorBuildJobProps> = {}, chart = namespacedChart()) {
  const build = new OciConnectorBuildJob(chart, 'abc', {
    connector: OciConnector.fromName('harbor'),
    context: BuildContext.fromConfigMap('dockerfile'),
    destinations: ['harbor.example.cn/test/abc:v1'],
    ...props,
  });
  return { chart, build, job: synthJob(chart) };
}

/** The flags the build script hands to buildctl (args[0] is the script's $0). */
function buildctlFlags(job: any): string[] {
  const args = container(job, 'buildkit').args;
  expect(args[0]).toBe('buildctl-build');
  return args.slice(1);
}

describe('OciConnectorBuildJob', () => {
  test('the OCI annotations Kargo reads are image exporter attributes; the commit is also the BUILD_COMMIT_SHA build arg', () => {
    const sha = 'b'.repeat(40);
    const { job } = connectorBuild({ commitSha: sha, sourceUrl: 'https://github.com/example/abc', imageCreated: '2026-01-31T12:00:00Z' });
    const flags = buildctlFlags(job);
    expect(flags).toContain(`--opt=build-arg:BUILD_COMMIT_SHA=${sha}`);
    expect(flags.find(f => f.startsWith('--output='))).toBe(`--output=type=image,name=${PROXY}/test/abc:v1,push=true,`
      + '"annotation.org.opencontainers.image.created=2026-01-31T12:00:00Z",'
      + `"annotation.org.opencontainers.image.revision=${sha}",`
      + '"annotation.org.opencontainers.image.source=https://github.com/example/abc"');
  });

  test('defaults', () => {
    // WHEN
    const { build, job } = connectorBuild();
    const pod = job.spec.template.spec;
    const buildkit = container(job, 'buildkit');

    // THEN: one privileged BuildKit container, the ConfigMap as context, nothing to fetch
    expect(containerNames(job)).toEqual({ init: [], main: ['buildkit'] });
    expect(build.mode).toBe(BuildkitMode.PRIVILEGED);
    expect(build.podSecurityLevel).toBe(PodSecurityLevel.PRIVILEGED);
    expect(build.role).toBeUndefined();
    expect(build.imageReferences.map(String)).toEqual(['harbor.example.cn/test/abc:v1']);
    expect(build.proxyReferences.map(String)).toEqual([`${PROXY}/test/abc:v1`]);
    expect(job.metadata.labels).toEqual({ 'app.kubernetes.io/created-by': 'cdk8s-image-jobs', 'app.kubernetes.io/component': 'oci-connector-build' });
    expect(job.spec.template.metadata.annotations).toEqual({ 'kubectl.kubernetes.io/default-container': 'buildkit' });
    expect(job.spec.activeDeadlineSeconds).toBe(3600);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(buildkit.image).toBe(ToolImages.BUILDKIT);
    expect(buildkit.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    // dockerfile "Dockerfile", inline cache, no target / build args / platforms / secrets
    expect(buildctlFlags(job)).toEqual([
      '--progress=plain',
      '--frontend=dockerfile.v0',
      '--opt=filename=Dockerfile',
      '--local=context=/workspace',
      '--local=dockerfile=/workspace',
      `--output=type=image,name=${PROXY}/test/abc:v1,push=true`,
      '--export-cache=type=inline',
    ]);
    expect(envOf(buildkit)).toEqual({
      BUILDKITD_FLAGS: '--config /etc/buildkit/buildkitd.toml',
      BUILDCTL_CONNECT_RETRIES_MAX: '30',
      DOCKER_CONFIG: '/root/.docker',
      METADATA_FILE: '/results/metadata.json',
      DESTINATIONS: 'harbor.example.cn/test/abc:v1',
      PROXY_DESTINATIONS: `${PROXY}/test/abc:v1`,
    });
    // the seed's privileged container; Kubernetes refuses allowPrivilegeEscalation: false with privileged
    expect(buildkit.securityContext).toEqual({
      allowPrivilegeEscalation: true,
      privileged: true,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    });
    expect(buildkit.resources).toEqual({
      requests: { 'cpu': '1', 'memory': '2048Mi', 'ephemeral-storage': '10Gi' },
      limits: { memory: '4096Mi' },
    });
    // both CSI volumes read-only, both attribute styles, registry-config, token 10 minutes past the deadline
    const registryConfig = volumeAt(job, buildkit, '/root/.docker');
    expect(registryConfig.mount.readOnly).toBe(true);
    expect(registryConfig.volume).toEqual({
      name: 'registry-config',
      csi: {
        driver: 'connectors-csi',
        readOnly: true,
        volumeAttributes: { 'connectors': 'harbor', 'connector.name': 'harbor', 'configuration.names': 'registry-config', 'token.expiration': '70m' },
      },
    });
    const buildkitdConfig = volumeAt(job, buildkit, '/etc/buildkit');
    expect(buildkitdConfig.mount.readOnly).toBe(true);
    expect(buildkitdConfig.volume.csi).toEqual({
      driver: 'connectors-csi',
      readOnly: true,
      volumeAttributes: { 'connectors': 'harbor', 'connector.name': 'harbor', 'configuration.names': 'buildkitd', 'token.expiration': '70m' },
    });
    expect(volumeAt(job, buildkit, '/workspace')).toEqual({
      mount: { mountPath: '/workspace', name: 'context', readOnly: true },
      volume: { name: 'context', configMap: { name: 'dockerfile' } },
    });
    // state 20Gi, results 1Mi
    expect(volumeAt(job, buildkit, '/var/lib/buildkit').volume).toEqual({ name: 'buildkit-state', emptyDir: { sizeLimit: '20480Mi' } });
    expect(volumeAt(job, buildkit, '/results').volume).toEqual({ name: 'results', emptyDir: { sizeLimit: '1Mi' } });
    expect(pod.volumes.map((v: any) => v.name)).toEqual(['context', 'results', 'buildkit-state', 'registry-config', 'buildkitd-config']);
    expect(job).toMatchSnapshot();
  });

  test('all options', () => {
    // WHEN
    const chart = namespacedChart();
    const build = new OciConnectorBuildJob(chart, 'abc', {
      connector: OciConnector.fromName('harbor', {
        namespace: 'connectors',
        proxyHost: 'http://proxy.connectors.svc:8080',
        addressing: ProxyAddressing.HOST_ONLY,
        registry: 'https://harbor.example.cn',
        registryConfigName: RegistryConfigName.DOCKER_CONFIG,
        tokenExpiration: Duration.hours(2),
        volumeAttributeStyle: VolumeAttributeStyle.BOTH,
      }),
      context: BuildContext.fromUrl('https://artifacts.example.com/abc.tar.gz'),
      dockerfile: 'docker/Dockerfile',
      destinations: ['harbor.example.cn/test/abc:v1', 'harbor.example.cn/test/abc:latest'],
      buildArgs: { VERSION: '1', BASE: 'alpine:3' },
      target: 'runtime',
      platforms: ['linux/amd64', 'linux/arm/v7'],
      cache: CacheMode.REGISTRY,
      cacheRef: 'harbor.example.cn/test/abc:buildcache',
      secrets: [{ id: 'npmrc', secretName: 'npm-token', key: '.npmrc' }],
      mode: BuildkitMode.ROOTLESS,
      createRbac: true,
      grantConnectorProxy: true,
      serviceAccountName: 'image-builder',
      contextSizeLimit: Size.gibibytes(1),
      stateSizeLimit: Size.gibibytes(50),
      activeDeadline: Duration.minutes(90),
      resources: { cpuRequestMillicores: 2000 },
      toolImages: { buildkitRootless: 'mirror.internal/moby/buildkit:v0.34.0-rootless' },
    });
    const objects = synth(chart);
    const job = objects.find(o => o.kind === 'Job');
    const buildkit = container(job, 'buildkit');

    // THEN
    const proxy = 'proxy.connectors.svc:8080';
    expect(containerNames(job)).toEqual({ init: ['fetch-context'], main: ['buildkit'] });
    expect(build.proxyReferences.map(String)).toEqual([`${proxy}/test/abc:v1`, `${proxy}/test/abc:latest`]);
    expect(buildkit.image).toBe('mirror.internal/moby/buildkit:v0.34.0-rootless');
    expect(buildkit.resources).toEqual({ requests: { cpu: '2000m' } });
    expect(buildctlFlags(job)).toEqual([
      '--progress=plain',
      '--frontend=dockerfile.v0',
      '--opt=filename=Dockerfile',
      '--local=context=/workspace/context',
      '--local=dockerfile=/workspace/context/docker',
      '--opt=target=runtime',
      '--opt=build-arg:BASE=alpine:3',
      '--opt=build-arg:VERSION=1',
      '--opt=platform=linux/amd64,linux/arm/v7',
      '--secret=id=npmrc,src=/run/build-secrets/npmrc/npmrc',
      `--output=type=image,"name=${proxy}/test/abc:v1,${proxy}/test/abc:latest",push=true`,
      `--export-cache=type=registry,ref=${proxy}/test/abc:buildcache,mode=max,ignore-error=true`,
      `--import-cache=type=registry,ref=${proxy}/test/abc:buildcache`,
    ]);
    expect(envOf(buildkit)).toMatchObject({
      DESTINATIONS: 'harbor.example.cn/test/abc:v1 harbor.example.cn/test/abc:latest',
      PROXY_DESTINATIONS: `${proxy}/test/abc:v1 ${proxy}/test/abc:latest`,
    });
    expect(volumeAt(job, buildkit, '/home/user/.docker').volume.csi.volumeAttributes).toEqual({
      'connectors': 'connectors/harbor',
      'connector.name': 'harbor',
      'connector.namespace': 'connectors',
      'configuration.names': 'docker-config',
      'token.expiration': '120m',
    });
    expect(volumeAt(job, buildkit, '/workspace').volume.emptyDir.sizeLimit).toBe('1024Mi');
    expect(volumeAt(job, buildkit, '/home/user/.local/share/buildkit').volume.emptyDir.sizeLimit).toBe('51200Mi');
    expect(volumeAt(job, buildkit, '/run/build-secrets/npmrc')).toEqual({
      mount: { mountPath: '/run/build-secrets/npmrc', name: 'secret-npmrc', readOnly: true },
      volume: { name: 'secret-npmrc', secret: { secretName: 'npm-token', items: [{ key: '.npmrc', path: 'npmrc' }], defaultMode: 0o440 } },
    });
    // the Role lives with the connector and binds the job's service account from the job's namespace
    expect(build.role).toBeDefined();
    const role = objects.find(o => o.kind === 'Role');
    expect(role.metadata.namespace).toBe('connectors');
    expect(role.rules).toEqual([
      { apiGroups: ['connectors.alauda.io'], resourceNames: ['harbor'], resources: ['connectors'], verbs: ['get'] },
      { apiGroups: ['connectors.alauda.io'], resourceNames: ['harbor'], resources: ['connectors/proxy'], verbs: ['*'] },
    ]);
    const binding = objects.find(o => o.kind === 'RoleBinding');
    expect(binding.metadata.namespace).toBe('connectors');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'image-builder', namespace: 'builds' }]);
  });

  test('without a chart namespace, the RBAC objects and the subject follow the namespace the Job is applied to', () => {
    const chart = Testing.chart();
    new OciConnectorBuildJob(chart, 'abc', {
      connector: OciConnector.fromName('harbor', { proxyHost: 'c-harbor.ci.svc.cluster.local', addressing: ProxyAddressing.HOST_ONLY }),
      context: BuildContext.fromConfigMap('dockerfile'),
      destinations: ['harbor.example.cn/test/abc:v1'],
      createRbac: true,
      serviceAccountName: 'image-builder',
    });
    const objects = synth(chart);
    expect(objects.find(o => o.kind === 'Role').metadata.namespace).toBeUndefined();
    const binding = objects.find(o => o.kind === 'RoleBinding');
    expect(binding.metadata.namespace).toBeUndefined();
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'image-builder' }]);
  });

  test('HOST_ONLY addressing reproduces the seed\'s proxy reference', () => {
    const { build } = connectorBuild({
      connector: OciConnector.fromName('harbor', { addressing: ProxyAddressing.HOST_ONLY }),
      destinations: ['harbor.example.cn/test/test-cjt:v1'],
    }, namespacedChart('default'));
    expect(build.proxyReferences.map(String)).toEqual(['c-harbor.default.svc.cluster.local/test/test-cjt:v1']);
  });

  test('a connector in another namespace is addressed and mounted by its namespace', () => {
    const { build, job } = connectorBuild({ connector: OciConnector.fromName('harbor', { namespace: 'shared' }) });
    expect(build.proxyReferences.map(String)).toEqual(['c-harbor.shared.svc.cluster.local/namespaces/shared/connectors/harbor/test/abc:v1']);
    expect(job.spec.template.spec.volumes.find((v: any) => v.name === 'registry-config').csi.volumeAttributes).toMatchObject({
      'connectors': 'shared/harbor',
      'connector.namespace': 'shared',
    });
  });

  test('a host-only connector with an explicit proxy host needs no namespace', () => {
    const { build } = connectorBuild({
      connector: OciConnector.fromName('harbor', { proxyHost: 'c-harbor.default.svc.cluster.local', addressing: ProxyAddressing.HOST_ONLY }),
    }, Testing.chart());
    expect(build.proxyReferences.map(String)).toEqual(['c-harbor.default.svc.cluster.local/test/abc:v1']);
  });

  test.each<[VolumeAttributeStyle, string[]]>([
    [VolumeAttributeStyle.CURRENT, ['connectors', 'configuration.names', 'token.expiration']],
    [VolumeAttributeStyle.LEGACY, ['connector.name', 'configuration.names', 'token.expiration']],
    [VolumeAttributeStyle.BOTH, ['connectors', 'connector.name', 'configuration.names', 'token.expiration']],
  ])('volume attribute style %s', (style, keys) => {
    const { job } = connectorBuild({ connector: OciConnector.fromName('harbor', { volumeAttributeStyle: style }) });
    for (const name of ['registry-config', 'buildkitd-config']) {
      const volume = job.spec.template.spec.volumes.find((v: any) => v.name === name);
      expect(Object.keys(volume.csi.volumeAttributes).sort()).toEqual([...keys].sort());
    }
  });

  test('the token outlives a custom deadline by 10 minutes, rounded up to whole minutes', () => {
    const { job } = connectorBuild({ activeDeadline: Duration.seconds(2730) });
    expect(job.spec.template.spec.volumes.find((v: any) => v.name === 'registry-config').csi.volumeAttributes['token.expiration']).toBe('56m');
  });

  test('rootless: uid 1000, Unconfined seccomp and AppArmor, its own state and docker config paths', () => {
    // WHEN
    const { build, job } = connectorBuild({ mode: BuildkitMode.ROOTLESS });
    const buildkit = container(job, 'buildkit');

    // THEN: still privileged under Pod Security, and it says so
    expect(build.podSecurityLevel).toBe(PodSecurityLevel.PRIVILEGED);
    expect(buildkit.image).toBe(ToolImages.BUILDKIT_ROOTLESS);
    expect(buildkit.securityContext).toEqual({
      allowPrivilegeEscalation: true,
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 1000,
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'Unconfined' },
    });
    expect(job.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/buildkit']).toBe('unconfined');
    expect(envOf(buildkit)).toMatchObject({
      BUILDKITD_FLAGS: '--oci-worker-no-process-sandbox --config /etc/buildkit/buildkitd.toml',
      DOCKER_CONFIG: '/home/user/.docker',
    });
    expect(volumeAt(job, buildkit, '/home/user/.docker').mount.readOnly).toBe(true);
    expect(volumeAt(job, buildkit, '/home/user/.local/share/buildkit').volume.name).toBe('buildkit-state');
    expect(job.spec.template.spec.securityContext).toMatchObject({ fsGroup: 65532, runAsNonRoot: false });
  });

  test('a git context is cloned by BuildKit at the ref and sub-directory', () => {
    const { job } = connectorBuild({
      context: BuildContext.fromGit('https://github.com/acme/abc.git', { ref: 'v1.0.0', subPath: 'services/abc' }),
      dockerfile: 'build/Dockerfile',
    });
    expect(containerNames(job)).toEqual({ init: [], main: ['buildkit'] });
    expect(buildctlFlags(job).slice(2, 4)).toEqual(['--opt=filename=build/Dockerfile', '--opt=context=https://github.com/acme/abc.git#v1.0.0:services/abc']);
  });

  test('a git context without ref or sub-directory has no fragment', () => {
    const { job } = connectorBuild({ context: BuildContext.fromGit('https://github.com/acme/abc.git') });
    expect(buildctlFlags(job)).toContain('--opt=context=https://github.com/acme/abc.git');
  });

  test('cache NONE exports and imports nothing', () => {
    const { job } = connectorBuild({ cache: CacheMode.NONE });
    expect(buildctlFlags(job).filter(f => f.includes('cache'))).toEqual([]);
  });

  test('Docker Hub short names keep their normalized repository behind the proxy', () => {
    const { build } = connectorBuild({ destinations: ['acme/abc:1'] });
    expect(build.proxyReferences.map(String)).toEqual([`${PROXY}/acme/abc:1`]);
  });

  test('a literal "$" in build args survives kubelet expansion', () => {
    const { job } = connectorBuild({ buildArgs: { GREETING: 'cost $(5)' } });
    expect(buildctlFlags(job)).toContain('--opt=build-arg:GREETING=cost $$(5)');
  });

  test('registries compare case-insensitively, Docker Hub aliases alike', () => {
    const { build } = connectorBuild({
      connector: OciConnector.fromName('hub', { registry: 'https://index.docker.io' }),
      destinations: ['registry-1.docker.io/acme/abc:1', 'acme/abc:2', 'Docker.IO/acme/abc:3'],
    });
    // every Docker Hub alias is written docker.io, as docker pull names it
    expect(build.imageReferences.map(String)).toEqual(['docker.io/acme/abc:1', 'docker.io/acme/abc:2', 'docker.io/acme/abc:3']);
    const upper = connectorBuild({ connector: OciConnector.fromName('harbor', { registry: 'HARBOR.example.cn' }) });
    expect(upper.build.proxyReferences).toEqual([`${PROXY}/test/abc:v1`]);
  });

  test('without any namespace, the proxy references use the pod\'s, from the downward API', () => {
    // WHEN
    const { build, job } = connectorBuild({
      destinations: ['harbor.example.cn/test/abc:v1', 'harbor.example.cn/test/abc:v2'],
      cache: CacheMode.REGISTRY,
      cacheRef: 'harbor.example.cn/test/abc:cache',
      buildArgs: { PRICE: '$(POD_NAMESPACE)' },
    }, Testing.chart());
    const buildkit = container(job, 'buildkit');

    // THEN: POD_NAMESPACE comes first, so kubelet expands it in the later env values and in the args
    const proxy = 'c-harbor.$(POD_NAMESPACE).svc.cluster.local/namespaces/$(POD_NAMESPACE)/connectors/harbor';
    expect(build.proxyReferences).toEqual([`${proxy}/test/abc:v1`, `${proxy}/test/abc:v2`]);
    expect(buildkit.env[0]).toEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(envOf(buildkit).PROXY_DESTINATIONS).toBe(`${proxy}/test/abc:v1 ${proxy}/test/abc:v2`);
    expect(buildctlFlags(job)).toEqual(expect.arrayContaining([
      // a user's "$(…)" stays literal
      '--opt=build-arg:PRICE=$$(POD_NAMESPACE)',
      `--output=type=image,"name=${proxy}/test/abc:v1,${proxy}/test/abc:v2",push=true`,
      `--import-cache=type=registry,ref=${proxy}/test/abc:cache`,
    ]));
    // connectors-csi defaults the connector's namespace to the pod's: no namespace attribute
    expect(volumeAt(job, buildkit, '/root/.docker').volume.csi.volumeAttributes).toEqual({
      'connectors': 'harbor', 'connector.name': 'harbor', 'configuration.names': 'registry-config', 'token.expiration': '70m',
    });
  });

  test('with a known namespace, no POD_NAMESPACE', () => {
    const { job } = connectorBuild();
    expect(Object.keys(envOf(container(job, 'buildkit')))).not.toContain('POD_NAMESPACE');
  });

  test('a private git context: the token is a mounted file, passed as GIT_AUTH_TOKEN.<host>', () => {
    // WHEN
    const { job } = connectorBuild({
      context: BuildContext.fromGit('https://git.example.com:8443/acme/abc.git', { tokenSecret: 'git-token', tokenKey: 'pat' }),
    });
    const buildkit = container(job, 'buildkit');

    // THEN: the Secret key as a file readable by the pod's fsGroup; no token variable, no token in the YAML
    expect(buildctlFlags(job)).toContain('--secret=id=GIT_AUTH_TOKEN.git.example.com:8443,src=/run/git-auth-token/token');
    expect(volumeAt(job, buildkit, '/run/git-auth-token')).toEqual({
      mount: { mountPath: '/run/git-auth-token', name: 'git-auth-token', readOnly: true },
      volume: { name: 'git-auth-token', secret: { secretName: 'git-token', items: [{ key: 'pat', path: 'token' }], defaultMode: 0o440 } },
    });
    expect(Object.keys(envOf(buildkit))).not.toContain('GIT_TOKEN');
  });

  test('createRbac alone grants get on the connector, not its proxy', () => {
    const chart = namespacedChart();
    connectorBuild({ createRbac: true, serviceAccountName: 'image-builder' }, chart);
    expect(synth(chart).find(o => o.kind === 'Role').rules).toEqual([
      { apiGroups: ['connectors.alauda.io'], resourceNames: ['harbor'], resources: ['connectors'], verbs: ['get'] },
    ]);
  });

  test('same input, byte-identical YAML', () => {
    const yaml = () => {
      const app = new App();
      const chart = new Chart(app, 'test', { namespace: 'builds' });
      new OciConnectorBuildJob(chart, 'abc', {
        connector: OciConnector.fromName('harbor'),
        context: BuildContext.fromConfigMap('dockerfile'),
        destinations: ['h.io/a/b:1', 'h.io/a/b:2'],
        buildArgs: { B: '2', A: '1' },
        mode: BuildkitMode.ROOTLESS,
      });
      return app.synthYaml();
    };
    expect(yaml()).toBe(yaml());
  });

  describe('fails when', () => {
    test.each<[string, Partial<OciConnectorBuildJobProps>, RegExp]>([
      ['the connector is missing', { connector: undefined as any }, /^connector: got undefined; expected an OciConnector such as OciConnector.fromName\("harbor"\)$/],
      ['the context is missing', { context: undefined as any }, /^context: got undefined; expected a BuildContext/],
      ['a destination is on another registry than the connector\'s', { connector: OciConnector.fromName('harbor', { registry: 'harbor.example.cn' }), destinations: ['quay.io/test/abc:v1'] },
        /^destinations\[0\]: got "quay.io\/test\/abc:v1"; expected a reference on the connector's registry "harbor.example.cn"; the proxy only injects credentials for it$/],
      ['the cache ref is on another registry than the connector\'s',
        { connector: OciConnector.fromName('harbor', { registry: 'harbor.example.cn' }), cache: CacheMode.REGISTRY, cacheRef: 'quay.io/test/abc:cache' },
        /^cacheRef: got "quay.io\/test\/abc:cache"; expected a reference on the connector's registry/],
      ['destinations is empty', { destinations: [] }, /^destinations: got \[\]; expected at least one image reference with a tag$/],
      ['a destination has no tag', { destinations: ['harbor.example.cn/test/abc'] }, /^destinations\[0\]: .*explicit tag/],
      ['a platform has no os', { platforms: ['amd64'] }, /^platforms\[0\]: got "amd64"; expected os\/arch\[\/variant\] such as "linux\/amd64" or "linux\/arm\/v7"$/],
      ['a platform has too many parts', { platforms: ['linux/amd64', 'linux/arm/v7/x'] }, /^platforms\[1\]: got "linux\/arm\/v7\/x"/],
      ['cache REGISTRY has no ref', { cache: CacheMode.REGISTRY }, /^cacheRef: got undefined; expected a cache image reference such as "harbor.example.com\/team\/app:buildcache" with cache: CacheMode.REGISTRY$/],
      ['a cache ref is given without cache REGISTRY', { cacheRef: 'harbor.example.cn/test/abc:cache' }, /^cacheRef: got "harbor.example.cn\/test\/abc:cache"; expected no cacheRef unless cache is CacheMode.REGISTRY$/],
      ['the cache ref has a digest', { cache: CacheMode.REGISTRY, cacheRef: `h.io/a/b@sha256:${'a'.repeat(64)}` }, /^cacheRef: .*without "@sha256:"/],
      ['a git context URL does not end in .git', { context: BuildContext.fromGit('https://github.com/acme/abc') },
        /^context: got "https:\/\/github.com\/acme\/abc"; expected a git URL ending in ".git" with OciConnectorBuildJob/],
      ['the context is in S3', { context: BuildContext.fromS3('s3://acme-contexts/abc.tar.gz') },
        /^context: got "s3"; expected a context OciConnectorBuildJob can use: BuildContext.fromUrl\(\), fromLocalDirectory\(\), fromConfigMap\(\), fromPersistentVolumeClaim\(\) or fromGit\(\); KanikoBuildJob reads fromS3\(\), fromGcs\(\) too$/],
      ['the context is in GCS', { context: BuildContext.fromGcs('gs://acme-contexts/abc.tar.gz') }, /^context: got "gcs"; expected a context OciConnectorBuildJob/],
      ['the git context sends a username BuildKit cannot send', { context: BuildContext.fromGit('https://bitbucket.org/acme/abc.git', { tokenSecret: 'git-token', username: 'acme' }) },
        /^context: got "https:\/\/bitbucket.org\/acme\/abc.git"; expected BuildContext.fromGit without username \("acme"\) with OciConnectorBuildJob: BuildKit sends the token alone \(build secret GIT_AUTH_TOKEN.<host>\), with no user name; use KanikoBuildJob for hosts that check it$/],
      ['a destination is on another registry than destinations[0]', { destinations: ['harbor.example.cn/test/abc:v1', 'quay.io/test/abc:v1'] },
        /^destinations\[1\]: got "quay.io\/test\/abc:v1"; expected a reference on the registry of destinations\[0\] \("harbor.example.cn"\); a connector proxies one registry \(its spec.address\)$/],
      ['the cache ref is on another registry than destinations[0]', { cache: CacheMode.REGISTRY, cacheRef: 'quay.io/test/abc:cache' },
        /^cacheRef: got "quay.io\/test\/abc:cache"; expected a reference on the registry of destinations\[0\] \("harbor.example.cn"\)/],
      ['two destinations map to the same proxy reference', { destinations: ['harbor.example.cn/test/abc:v1', 'HARBOR.example.cn/test/abc:v1'] },
        /^destinations\[1\]: got "HARBOR.example.cn\/test\/abc:v1"; expected a destination of its own on the proxy; it maps to "c-harbor.builds.svc.cluster.local\/namespaces\/builds\/connectors\/harbor\/test\/abc:v1" like destinations\[0\]$/],
      ['a platform is listed twice', { platforms: ['linux/amd64', 'linux/arm64', 'linux/amd64'] },
        /^platforms\[2\]: got "linux\/amd64"; expected each platform once; this one is listed twice$/],
      ['the termination message would exceed 4096 bytes', { destinations: Array.from({ length: 15 }, (_, i) => `harbor.example.cn/team/service-${i}:1.0.0`) },
        /^destinations: got \[.*\]; expected fewer or shorter destinations: their termination message \("<reference>@sha256:<64 hex>" per destination and per proxy reference\) needs 4\d{3} bytes, over the kubelet's 4096$/],
      ['grantConnectorProxy is set without createRbac', { grantConnectorProxy: true },
        /^grantConnectorProxy: got true; expected createRbac: true; the grant is a rule of the Role createRbac creates$/],
      ['a ConfigMap dockerfile is not a key', { dockerfile: 'docker/Dockerfile' }, /^dockerfile: got "docker\/Dockerfile"; expected a key of the context ConfigMap/],
      ['the dockerfile escapes the context', { dockerfile: '../Dockerfile' }, /^dockerfile: got "..\/Dockerfile"; expected a relative path/],
      ['the target is invalid', { target: 'a b' }, /^target: got "a b"; expected a Dockerfile stage name/],
      ['a build arg key is invalid', { buildArgs: { 'BAD-KEY': '1' } }, /^buildArgs key: got "BAD-KEY"/],
      ['a secret id is not a DNS label', { secrets: [{ id: 'NPM_RC', secretName: 'npm' }] }, /^secrets\[0\].id: got "NPM_RC"; expected a DNS label/],
      ['a secret id is too long for its volume name', { secrets: [{ id: 'a'.repeat(57), secretName: 'npm' }] }, /^secrets\[0\].id: got "a{57}"; expected at most 56/],
      ['a secret id is listed twice', { secrets: [{ id: 'npmrc', secretName: 'a' }, { id: 'npmrc', secretName: 'b' }] }, /^secrets\[1\].id: got "npmrc"; expected each id once/],
      ['a secret name is invalid', { secrets: [{ id: 'npmrc', secretName: 'Npm' }] }, /^secrets\[0\].secretName: got "Npm"/],
      ['a secret key is invalid', { secrets: [{ id: 'npmrc', secretName: 'npm', key: 'a/b' }] }, /^secrets\[0\].key: got "a\/b"/],
      ['the token expires before the deadline', { connector: OciConnector.fromName('harbor', { tokenExpiration: Duration.minutes(30) }) },
        /^connector tokenExpiration: got "30m"; expected more than the Job's activeDeadline \(3600s\); the mounted credentials would expire mid-build$/],
      ['createRbac has no service account', { createRbac: true },
        /^createRbac: got true; expected a serviceAccountName to bind the Role to/],
      ['the BuildKit image is unpinned', { toolImages: { buildkit: 'moby/buildkit' } }, /^toolImages.buildkit: got "moby\/buildkit"; expected an image pinned/],
      ['the rootless image uses latest', { toolImages: { buildkitRootless: 'moby/buildkit:latest' } }, /^toolImages.buildkitRootless: .*never an implicit or explicit "latest"/],
    ])('%s', (_, props, message) => {
      expect(() => connectorBuild(props)).toThrow(message);
    });

    test('the Role would live in another namespace than the pod, which is unknown', () => {
      const chart = Testing.chart();
      expect(() => connectorBuild({
        connector: OciConnector.fromName('harbor', { namespace: 'shared' }),
        createRbac: true,
        serviceAccountName: 'builder',
      }, chart)).toThrow(/^createRbac: got true; expected the chart's namespace: the Role lives in the connector's namespace "shared" and must name the pod's$/);
    });

    test('the termination message fits only with a short pod namespace', () => {
      // 14 destinations fit with the chart's 6-character namespace, not with the pod's, counted at 63 characters
      const destinations = Array.from({ length: 14 }, (_, i) => `harbor.example.cn/team/service-${i}:1.0.0`);
      expect(() => connectorBuild({ destinations })).not.toThrow();
      expect(() => connectorBuild({ destinations }, Testing.chart())).toThrow(/^destinations: got .*needs \d+ bytes, over the kubelet's 4096$/);
    });
  });
});
