import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Size } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { BuildContext, ImageArchive, PodSecurityLevel, RegistryCredentials, ToolImages, UnifiedImageJob, UnifiedImageJobProps, UnifiedJobMode } from '../src';
import { container, containerNames, envOf, KANIKO_DEFAULT_ARGS, newChart, RESTRICTED_SECURITY_CONTEXT, synthJob, volumeAt } from './util';
import { DETERMINE_ACTION_SCRIPT, UNIFIED_SCRIPT } from '../src/_scripts';

const TOOLS = 'registry.example.com/tools/unified:1.0.0';
const BUILD: Partial<UnifiedImageJobProps> = {
  mode: UnifiedJobMode.BUILD_AND_PUSH,
  context: BuildContext.fromUrl('https://artifacts.example.com/api.tar.gz'),
  intermediateDestination: 'registry.internal:5000/build/api:1.4.0',
};
const PUSH_TAR: Partial<UnifiedImageJobProps> = {
  mode: UnifiedJobMode.PUSH_TAR,
  archive: ImageArchive.fromUrl('https://artifacts.example.com/api.tar'),
};

function unified(props: Partial<UnifiedImageJobProps>) {
  const chart = newChart();
  const construct = new UnifiedImageJob(chart, 'unified', {
    toolsImage: TOOLS,
    destinations: ['harbor.example.com/platform/api:1.4.0'],
    ...props,
  } as UnifiedImageJobProps);
  return { construct, job: synthJob(chart) };
}

describe('UnifiedImageJob', () => {
  test('defaults (build_and_push)', () => {
    // WHEN
    const { construct, job } = unified(BUILD);
    const init = container(job, 'init-determine-action');
    const main = container(job, 'main-task-executor');

    // THEN: seed 000's shape
    expect(containerNames(job)).toEqual({ init: ['init-determine-action'], main: ['main-task-executor'] });
    expect(construct.mode).toBe(UnifiedJobMode.BUILD_AND_PUSH);
    expect(construct.podSecurityLevel).toBe(PodSecurityLevel.BASELINE);
    expect(construct.imageReferences.map(String)).toEqual(['registry.internal:5000/build/api:1.4.0', 'harbor.example.com/platform/api:1.4.0']);
    expect(init.image).toBe(ToolImages.DOWNLOAD_HELPER);
    expect(init.command[2]).toBe(DETERMINE_ACTION_SCRIPT);
    expect(envOf(init)).toEqual({ JOB_TYPE: 'build_and_push', ACTION_FILE: '/pod-info/action_type' });
    expect(main.image).toBe(TOOLS);
    expect(main.command[2]).toBe(UNIFIED_SCRIPT);
    const env = envOf(main);
    expect(env).toMatchObject({
      ACTION_FILE: '/pod-info/action_type',
      BUILD_CONTEXT_URL: 'https://artifacts.example.com/api.tar.gz',
      DOCKERFILE_PATH: 'Dockerfile',
      INTERMEDIATE_REGISTRY_URL: 'registry.internal:5000',
      BUILD_IMAGE_NAME: 'build/api',
      BUILD_IMAGE_TAG: '1.4.0',
      HARBOR_REGISTRY: 'harbor.example.com',
      HARBOR_PROJECT: 'platform',
      HARBOR_IMAGE_NAME: 'api',
      HARBOR_IMAGE_TAG: '1.4.0',
      SOURCE_DIGEST_FILE: '/results/digest',
      CONTEXT_DIR: '/workspace/context',
      SOURCE_TLS_VERIFY: 'true',
      DEST_TLS_VERIFY: 'true',
      RETRY_TIMES: '3',
      DOCKER_CONFIG: '/kaniko/.docker',
    });
    expect(env.IMAGE_TAR_URL).toBeUndefined();
    expect(env.KANIKO_ARGS.split('\n')).toEqual([
      '--image-name-with-digest-file=/dev/termination-log',
      ...KANIKO_DEFAULT_ARGS,
    ]);
    expect(main.securityContext).toMatchObject({ runAsUser: 0, allowPrivilegeEscalation: false, privileged: false });
    expect(main.resources.requests).toEqual({ 'cpu': '1', 'memory': '2048Mi', 'ephemeral-storage': '10Gi' });
    expect(volumeAt(job, main, '/pod-info').mount.readOnly).toBe(true);
    expect(volumeAt(job, main, '/workspace').volume.emptyDir.sizeLimit).toBe('2048Mi');
    expect(job).toMatchSnapshot();
  });

  test('defaults (push_tar)', () => {
    const { construct, job } = unified(PUSH_TAR);
    const main = container(job, 'main-task-executor');
    expect(containerNames(job)).toEqual({ init: ['init-determine-action'], main: ['main-task-executor'] });
    expect(construct.podSecurityLevel).toBe(PodSecurityLevel.RESTRICTED);
    expect(envOf(container(job, 'init-determine-action')).JOB_TYPE).toBe('push_tar');
    const env = envOf(main);
    expect(env).toMatchObject({ IMAGE_TAR_URL: 'https://artifacts.example.com/api.tar', ARCHIVE_PATH: '/archive/image.tar', ARCHIVE_FORMAT: 'auto' });
    expect(env.BUILD_CONTEXT_URL).toBeUndefined();
    expect(env.KANIKO_ARGS).toBeUndefined();
    expect(main.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    expect(volumeAt(job, main, '/archive').volume.emptyDir.sizeLimit).toBe('10240Mi');
    expect(volumeAt(job, main, '/tmp').volume.emptyDir.sizeLimit).toBe('10240Mi');
    // containers/image unpacks an OCI archive under /var/tmp whatever TMPDIR says; the root is read-only
    expect(volumeAt(job, main, '/var/tmp').volume).toEqual(volumeAt(job, main, '/tmp').volume);
  });

  test('all options (build_and_push)', () => {
    const { job } = unified({
      ...BUILD,
      context: BuildContext.fromUrl('https://artifacts.example.com/api.tar.gz', { sha256: 'd'.repeat(64) }),
      dockerfile: 'build/Dockerfile',
      buildCredentials: RegistryCredentials.fromDockerConfigSecret('intermediate'),
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      buildArgs: { VERSION: '1.4.0', PRICE: 'cost $(5)' },
      target: 'runtime',
      insecureRegistries: ['registry.internal:5000'],
      contextSizeLimit: Size.gibibytes(1),
      destinations: ['harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable'],
      retryTimes: 1,
      destinationTlsVerify: false,
    });
    const main = container(job, 'main-task-executor');
    expect(containerNames(job)).toEqual({ init: ['init-determine-action', 'compose-destination-auth'], main: ['main-task-executor'] });
    const env = envOf(main);
    expect(env).toMatchObject({
      BUILD_CONTEXT_SHA256: 'd'.repeat(64),
      DOCKERFILE_PATH: 'build/Dockerfile',
      SOURCE_TLS_VERIFY: 'false',
      DEST_TLS_VERIFY: 'false',
      RETRY_TIMES: '1',
      ADDITIONAL_DESTINATIONS: 'harbor.example.com/platform/api:stable',
      SOURCE_AUTH_FILE: '/auth/source/config.json',
      DEST_AUTH_FILE: '/auth/destination/config.json',
    });
    // a literal "$" survives kubelet expansion of env values
    expect(env.KANIKO_ARGS.split('\n').slice(1, 5)).toEqual([
      '--build-arg=PRICE=cost $$(5)', '--build-arg=VERSION=1.4.0', '--target=runtime', '--insecure-registry=registry.internal:5000',
    ]);
    expect(volumeAt(job, main, '/kaniko/.docker').volume.secret.secretName).toBe('intermediate');
    expect(volumeAt(job, main, '/auth/source').volume.name).toBe('build-auth');
    expect(volumeAt(job, main, '/workspace').volume.emptyDir.sizeLimit).toBe('1024Mi');
  });

  test('push_tar reads an archive on a claim in place', () => {
    const { job } = unified({ mode: UnifiedJobMode.PUSH_TAR, archive: ImageArchive.fromPersistentVolumeClaim('archives', 'api.tar') });
    const main = container(job, 'main-task-executor');
    expect(envOf(main)).toMatchObject({ ARCHIVE_PATH: '/archive-source/api.tar', ARCHIVE_FORMAT: 'auto' });
    expect(envOf(main).IMAGE_TAR_URL).toBeUndefined();
    expect(volumeAt(job, main, '/archive-source').mount.readOnly).toBe(true);
  });

  test('both paths: the mode picks JOB_TYPE, the main container carries both paths\' variables', () => {
    for (const mode of [UnifiedJobMode.BUILD_AND_PUSH, UnifiedJobMode.PUSH_TAR]) {
      // WHEN
      const { construct, job } = unified({ ...BUILD, ...PUSH_TAR, mode, archiveSizeLimit: Size.gibibytes(20) });
      const main = container(job, 'main-task-executor');
      const env = envOf(main);

      // THEN
      expect(construct.mode).toBe(mode);
      expect(construct.jobTypes).toEqual(mode === UnifiedJobMode.BUILD_AND_PUSH
        ? [UnifiedJobMode.BUILD_AND_PUSH, UnifiedJobMode.PUSH_TAR] : [UnifiedJobMode.PUSH_TAR, UnifiedJobMode.BUILD_AND_PUSH]);
      expect(envOf(container(job, 'init-determine-action')).JOB_TYPE).toBe(mode);
      expect(env).toMatchObject({
        BUILD_CONTEXT_URL: 'https://artifacts.example.com/api.tar.gz',
        DOCKERFILE_PATH: 'Dockerfile',
        INTERMEDIATE_REGISTRY_URL: 'registry.internal:5000',
        BUILD_IMAGE_NAME: 'build/api',
        BUILD_IMAGE_TAG: '1.4.0',
        IMAGE_TAR_URL: 'https://artifacts.example.com/api.tar',
        ARCHIVE_PATH: '/archive/image.tar',
        HARBOR_REGISTRY: 'harbor.example.com',
      });
      // kaniko may run: root, and the build's resources; /tmp is as large as the archive path needs
      expect(construct.podSecurityLevel).toBe(PodSecurityLevel.BASELINE);
      expect(main.securityContext.runAsUser).toBe(0);
      expect(volumeAt(job, main, '/tmp').volume.emptyDir.sizeLimit).toBe('20480Mi');
      expect(volumeAt(job, main, '/archive').volume.emptyDir.sizeLimit).toBe('20480Mi');
      expect(construct.imageReferences.map(String)).toEqual(['registry.internal:5000/build/api:1.4.0', 'harbor.example.com/platform/api:1.4.0']);
    }
  });

  describe('init-determine-action, run for real', () => {
    test.each([['build_and_push', 'build'], ['push_tar', 'push_tar']])('JOB_TYPE %s writes %s', (jobType, action) => {
      const dir = mkdtempSync(join(tmpdir(), 'action-'));
      const result = spawnSync('sh', ['-c', DETERMINE_ACTION_SCRIPT], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, JOB_TYPE: jobType, ACTION_FILE: join(dir, 'action_type'), TERMINATION_LOG: join(dir, 'termination-log') },
      });
      expect(result.status).toBe(0);
      expect(readFileSync(join(dir, 'action_type'), 'utf8')).toBe(`${action}\n`);
    });

    test('an unknown JOB_TYPE fails the init container with a clear message', () => {
      const dir = mkdtempSync(join(tmpdir(), 'action-'));
      const result = spawnSync('sh', ['-c', DETERMINE_ACTION_SCRIPT], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, JOB_TYPE: 'deploy', ACTION_FILE: join(dir, 'action_type'), TERMINATION_LOG: join(dir, 'termination-log') },
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("unknown JOB_TYPE 'deploy': expected build_and_push or push_tar");
      expect(readFileSync(join(dir, 'termination-log'), 'utf8')).toContain("unknown JOB_TYPE 'deploy'");
    });
  });

  test('the main script names the variables its action misses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unified-'));
    const actionFile = join(dir, 'action_type');
    spawnSync('sh', ['-c', DETERMINE_ACTION_SCRIPT], { env: { PATH: process.env.PATH, JOB_TYPE: 'build_and_push', ACTION_FILE: actionFile, TERMINATION_LOG: join(dir, 't') } });
    const result = spawnSync('sh', ['-c', UNIFIED_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ACTION_FILE: actionFile, TMPDIR: dir, TERMINATION_LOG: join(dir, 'termination-log'), DOCKERFILE_PATH: 'Dockerfile' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing required environment variable(s): INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG CONTEXT_DIR SOURCE_DIGEST_FILE');
  });

  describe('fails when', () => {
    test.each<[string, Partial<UnifiedImageJobProps>, RegExp]>([
      ['the mode is unknown', { mode: 'build' as UnifiedJobMode }, /^mode: got "build"; expected UnifiedJobMode.BUILD_AND_PUSH or UnifiedJobMode.PUSH_TAR$/],
      ['build_and_push misses its inputs', { mode: UnifiedJobMode.BUILD_AND_PUSH },
        /^mode: got "build_and_push"; expected context and intermediateDestination for this mode; missing: context, intermediateDestination$/],
      ['build_and_push misses the intermediate destination', { ...BUILD, intermediateDestination: undefined }, /missing: intermediateDestination$/],
      ['push_tar misses the archive', { mode: UnifiedJobMode.PUSH_TAR }, /^mode: got "push_tar"; expected archive for this mode; missing: archive$/],
      ['build_and_push is given a push_tar input without the archive', { ...BUILD, archiveSizeLimit: Size.gibibytes(20) },
        /^archiveSizeLimit: got .*; configures JOB_TYPE=push_tar only with archive; give archive or remove archiveSizeLimit$/],
      ['push_tar is given build inputs without context and intermediate destination', { ...PUSH_TAR, dockerfile: 'Dockerfile', buildArgs: { A: '1' } },
        /^dockerfile: got "Dockerfile"; configures JOB_TYPE=build_and_push only with context and intermediateDestination; give context, intermediateDestination or remove dockerfile, buildArgs$/],
      ['the other path is invalid: an intermediate destination without tag', { ...PUSH_TAR, context: BUILD.context, intermediateDestination: 'registry.internal:5000/build/api' },
        /^intermediateDestination: got "registry.internal:5000\/build\/api"; expected a destination with an explicit tag/],
      ['the other path is invalid: not an archive', { ...BUILD, archive: 'https://a.example.com/i.tar' as any }, /^archive: got "https:\/\/a.example.com\/i.tar"; expected an ImageArchive/],
      ['the context is git', { ...BUILD, context: BuildContext.fromGit('https://github.com/acme/api.git') },
        /^context: got "git"; expected a context UnifiedImageJob can use: BuildContext.fromUrl\(\), fromLocalDirectory\(\), fromConfigMap\(\) or fromPersistentVolumeClaim\(\); KanikoBuildJob reads fromGit\(\), fromS3\(\), fromGcs\(\) too$/],
      ['the context is in S3', { ...BUILD, context: BuildContext.fromS3('s3://acme-contexts/api.tar.gz') }, /^context: got "s3"; expected a context UnifiedImageJob can use/],
      ['the context is in GCS', { ...BUILD, context: BuildContext.fromGcs('gs://acme-contexts/api.tar.gz') }, /^context: got "gcs"; expected a context UnifiedImageJob can use/],
      ['the tools image is not pinned', { ...BUILD, toolsImage: 'registry.example.com/tools/unified' }, /^toolsImage: got "registry.example.com\/tools\/unified"; expected an image pinned/],
      ['the tools image is latest', { ...BUILD, toolsImage: 'tools:latest' }, /^toolsImage: .*"latest"/],
      ['the intermediate destination has no tag', { ...BUILD, intermediateDestination: 'registry.internal:5000/build/api' }, /^intermediateDestination: .*explicit tag/],
      ['a build arg value has a line break', { ...BUILD, buildArgs: { A: 'x\ny' } }, /^buildArgs.A: got "x\\ny"; expected a value without line breaks/],
      ['destinations is empty', { ...BUILD, destinations: [] }, /^destinations: got \[\]/],
      ['the archive size limit is fractional', { ...PUSH_TAR, archiveSizeLimit: Size.kibibytes(10) }, /^archiveSizeLimit: got "0.009765625Mi"/],
    ])('%s', (_, props, message) => {
      expect(() => unified(props)).toThrow(message);
    });
  });
});
