import { describe, expect, test } from 'vitest';
import { JobName, PodSecurityLevel, RegistryCredentials, SkopeoPromoteJob, SkopeoPromoteJobProps, ToolImages } from '../src';
import { container, containerNames, envOf, newChart, RESTRICTED_SECURITY_CONTEXT, synthJob, volumeAt } from './util';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const SOURCE = `staging.example.com/platform/api@${DIGEST}`;

function promote(props: Partial<SkopeoPromoteJobProps> = {}) {
  const chart = newChart();
  const promoter = new SkopeoPromoteJob(chart, 'api', { source: SOURCE, destinations: ['harbor.example.com/platform/api:1.4.0'], ...props });
  return { chart, promoter, job: synthJob(chart) };
}

describe('SkopeoPromoteJob', () => {
  test('defaults', () => {
    // WHEN
    const { promoter, job } = promote();
    const pod = job.spec.template.spec;
    const skopeo = container(job, 'promote');

    // THEN
    expect(containerNames(job)).toEqual({ init: [], main: ['promote'] });
    expect(promoter.podSecurityLevel).toBe(PodSecurityLevel.RESTRICTED);
    expect(promoter.source.toString()).toBe(SOURCE);
    expect(promoter.imageReferences.map(String)).toEqual(['harbor.example.com/platform/api:1.4.0']);
    expect(job.metadata.labels['app.kubernetes.io/component']).toBe('skopeo-promote');
    expect(job.spec.backoffLimit).toBe(1);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({ fsGroup: 65532, fsGroupChangePolicy: 'OnRootMismatch', runAsNonRoot: true });
    expect(skopeo.image).toBe(ToolImages.SKOPEO);
    expect(envOf(skopeo)).toEqual({
      SOURCE_IMAGE: SOURCE,
      HARBOR_REGISTRY: 'harbor.example.com',
      HARBOR_PROJECT: 'platform',
      HARBOR_IMAGE_NAME: 'api',
      HARBOR_IMAGE_TAG: '1.4.0',
      COPY_ALL_PLATFORMS: 'true',
      PRESERVE_DIGESTS: 'true',
      RETRY_TIMES: '3',
      SOURCE_TLS_VERIFY: 'true',
      DEST_TLS_VERIFY: 'true',
      HOME: '/tmp',
      TMPDIR: '/tmp',
    });
    expect(skopeo.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    expect(skopeo.resources).toEqual({
      requests: { 'cpu': '100m', 'memory': '128Mi', 'ephemeral-storage': '1Gi' },
      limits: { memory: '1024Mi' },
    });
    expect(volumeAt(job, skopeo, '/tmp').volume).toEqual({ name: 'tmp', emptyDir: { sizeLimit: '1024Mi' } });
    expect(job).toMatchSnapshot();
  });

  test('all options', () => {
    // WHEN
    const { job } = promote({
      source: 'staging.example.com:8443/platform/api:1.4.0-rc1',
      sourceCredentials: RegistryCredentials.fromDockerConfigSecret('staging-pull', 'config.json'),
      destinations: ['harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable', 'mirror.example.org/api:1.4.0'],
      destinationCredentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      copyAllPlatforms: false,
      preserveDigests: false,
      retryTimes: 0,
      sourceTlsVerify: false,
      destinationTlsVerify: false,
    });
    const skopeo = container(job, 'promote');

    // THEN
    expect(containerNames(job)).toEqual({ init: ['compose-destination-auth'], main: ['promote'] });
    expect(envOf(skopeo)).toEqual({
      SOURCE_IMAGE: 'staging.example.com:8443/platform/api:1.4.0-rc1',
      HARBOR_REGISTRY: 'harbor.example.com',
      HARBOR_PROJECT: 'platform',
      HARBOR_IMAGE_NAME: 'api',
      HARBOR_IMAGE_TAG: '1.4.0',
      ADDITIONAL_DESTINATIONS: 'harbor.example.com/platform/api:stable mirror.example.org/api:1.4.0',
      COPY_ALL_PLATFORMS: 'false',
      PRESERVE_DIGESTS: 'false',
      RETRY_TIMES: '0',
      SOURCE_TLS_VERIFY: 'false',
      DEST_TLS_VERIFY: 'false',
      SOURCE_AUTH_FILE: '/auth/source/config.json',
      DEST_AUTH_FILE: '/auth/destination/config.json',
      HOME: '/tmp',
      TMPDIR: '/tmp',
    });
    expect(volumeAt(job, skopeo, '/auth/source').volume.secret).toEqual({
      secretName: 'staging-pull', items: [{ key: 'config.json', path: 'config.json' }], defaultMode: 0o440,
    });
    expect(envOf(container(job, 'compose-destination-auth')).AUTH_REGISTRIES).toBe('harbor.example.com mirror.example.org');
  });

  test('the script copies by digest with --all and --preserve-digests and verifies every destination', () => {
    const script: string = container(promote().job, 'promote').command[2];
    expect(script).toContain('set -- "$@" --all');
    expect(script).toContain('set -- "$@" --preserve-digests');
    expect(script).toContain('pinned_source="$(repository_of "$source_ref")@$source_digest"');
    expect(script).toContain('verification failed');
    expect(script).toContain('>>"$termination_log"');
  });

  test('a Docker Hub source is normalized', () => {
    const { job } = promote({ source: 'nginx:1.27' });
    expect(envOf(container(job, 'promote')).SOURCE_IMAGE).toBe('docker.io/library/nginx:1.27');
  });

  describe('fails when', () => {
    test.each<[string, Partial<SkopeoPromoteJobProps>, RegExp]>([
      ['the source is invalid', { source: 'Staging/API' }, /^source: got "Staging\/API"/],
      ['the source is empty', { source: '' }, /^source: got ""/],
      ['the source has neither tag nor digest', { source: 'staging.example.com/platform/api' },
        /^source: got "staging.example.com\/platform\/api"; expected a source with a tag \(":1.4.0"\) or a digest \("@sha256:…"\); an implicit ":latest" is never assumed$/],
      ['destinations is empty', { destinations: [] }, /^destinations: got \[\]; expected at least one image reference with a tag$/],
      ['destinations is missing', { destinations: undefined as any }, /^destinations: got \[\]/],
      ['a destination has no tag', { destinations: ['harbor.example.com/p/api'] }, /^destinations\[0\]: .*explicit tag/],
      ['retryTimes is negative', { retryTimes: -1 }, /^retryTimes: got -1; expected a whole number from 0 to 100$/],
      ['the Job name is too long', { name: JobName.exact(`promote-${'x'.repeat(60)}`) }, /^name: got "promote-x+"; expected a Kubernetes name of at most 63/],
    ])('%s', (_, props, message) => {
      expect(() => promote(props)).toThrow(message);
    });
  });
});
