import { Size } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { ArchiveFormat, ImageArchive, PodSecurityLevel, RegistryCredentials, TarPushJob, TarPushJobProps, ToolImages } from '../src';
import { container, containerNames, envOf, newChart, RESTRICTED_SECURITY_CONTEXT, synthJob, volumeAt } from './util';
import { PUSH_ARCHIVE_SCRIPT, FETCH_ARCHIVE_SCRIPT } from '../src/_scripts';

const SHA = 'c'.repeat(64);

function tarPush(props: Partial<TarPushJobProps> = {}) {
  const chart = newChart();
  const pusher = new TarPushJob(chart, 'api', {
    archive: ImageArchive.fromUrl('https://artifacts.example.com/api.tar'),
    destinations: ['harbor.example.com/platform/api:1.4.0'],
    ...props,
  });
  return { chart, pusher, job: synthJob(chart) };
}

describe('TarPushJob', () => {
  test('defaults', () => {
    // WHEN
    const { pusher, job } = tarPush();
    const fetch = container(job, 'fetch-archive');
    const push = container(job, 'push');

    // THEN
    expect(containerNames(job)).toEqual({ init: ['fetch-archive'], main: ['push'] });
    expect(pusher.podSecurityLevel).toBe(PodSecurityLevel.RESTRICTED);
    expect(pusher.imageReferences.map(String)).toEqual(['harbor.example.com/platform/api:1.4.0']);
    expect(job.metadata.labels['app.kubernetes.io/component']).toBe('tar-push');
    expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(fetch.image).toBe(ToolImages.DOWNLOAD_HELPER);
    expect(fetch.command[2]).toBe(FETCH_ARCHIVE_SCRIPT);
    expect(envOf(fetch)).toEqual({
      IMAGE_TAR_URL: 'https://artifacts.example.com/api.tar',
      ARCHIVE_PATH: '/archive/image.tar',
      ARCHIVE_FORMAT: 'auto',
      ARCHIVE_FORMAT_FILE: '/archive/format',
    });
    expect(push.image).toBe(ToolImages.SKOPEO);
    expect(push.command[2]).toBe(PUSH_ARCHIVE_SCRIPT);
    expect(envOf(push)).toEqual({
      ARCHIVE_PATH: '/archive/image.tar',
      ARCHIVE_FORMAT: 'auto',
      ARCHIVE_FORMAT_FILE: '/archive/format',
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
    // archive size limit 10Gi for the download and for skopeo's temp directory
    expect(volumeAt(job, fetch, '/archive').volume).toEqual({ name: 'archive', emptyDir: { sizeLimit: '10240Mi' } });
    expect(volumeAt(job, push, '/archive').mount.readOnly).toBe(true);
    expect(volumeAt(job, push, '/tmp').volume.emptyDir.sizeLimit).toBe('10240Mi');
    for (const c of [fetch, push]) {
      expect(c.securityContext).toEqual(RESTRICTED_SECURITY_CONTEXT);
    }
    expect(job).toMatchSnapshot();
  });

  test('all options', () => {
    // WHEN
    const { job } = tarPush({
      archive: ImageArchive.fromUrl('http://artifacts.internal/api.tar', { sha256: SHA, format: ArchiveFormat.DOCKER_ARCHIVE, allowInsecureHttp: true }),
      destinations: ['harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable', 'mirror.example.org/api:1.4.0'],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      retryTimes: 6,
      destinationTlsVerify: false,
      archiveSizeLimit: Size.gibibytes(3),
    });

    // THEN
    expect(containerNames(job)).toEqual({ init: ['compose-destination-auth', 'fetch-archive'], main: ['push'] });
    expect(envOf(container(job, 'fetch-archive'))).toEqual({
      IMAGE_TAR_URL: 'http://artifacts.internal/api.tar',
      IMAGE_TAR_SHA256: SHA,
      ALLOW_INSECURE_HTTP: 'true',
      ARCHIVE_PATH: '/archive/image.tar',
      ARCHIVE_FORMAT: 'docker-archive',
    });
    expect(envOf(container(job, 'push'))).toMatchObject({
      ARCHIVE_FORMAT: 'docker-archive',
      ADDITIONAL_DESTINATIONS: 'harbor.example.com/platform/api:stable mirror.example.org/api:1.4.0',
      RETRY_TIMES: '6',
      DEST_TLS_VERIFY: 'false',
      DEST_AUTH_FILE: '/auth/destination/config.json',
    });
    expect(envOf(container(job, 'push')).ARCHIVE_FORMAT_FILE).toBeUndefined();
    expect(envOf(container(job, 'compose-destination-auth')).AUTH_REGISTRIES).toBe('harbor.example.com mirror.example.org');
    expect(volumeAt(job, container(job, 'push'), '/tmp').volume.emptyDir.sizeLimit).toBe('3072Mi');
  });

  test('an archive on a claim is mounted read-only; a known format needs no init container', () => {
    const { job } = tarPush({ archive: ImageArchive.fromPersistentVolumeClaim('archives', 'api/api.oci.tar', { format: ArchiveFormat.OCI_ARCHIVE }) });
    expect(containerNames(job)).toEqual({ init: [], main: ['push'] });
    const push = container(job, 'push');
    expect(envOf(push)).toMatchObject({ ARCHIVE_PATH: '/archive-source/api/api.oci.tar', ARCHIVE_FORMAT: 'oci-archive' });
    const source = volumeAt(job, push, '/archive-source');
    expect(source.mount.readOnly).toBe(true);
    expect(source.volume).toEqual({ name: 'archive-source', persistentVolumeClaim: { claimName: 'archives', readOnly: true } });
  });

  test('skopeo can unpack an OCI archive under a read-only root: /var/tmp is the writable tmp volume', () => {
    // containers/image stages an oci-archive under /var/tmp whatever TMPDIR says; the e2e tier caught this.
    const { job } = tarPush({ archive: ImageArchive.fromUrl('https://artifacts.example.com/api.tar', { format: ArchiveFormat.OCI_ARCHIVE }) });
    const push = container(job, 'push');
    expect(push.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(volumeAt(job, push, '/var/tmp').volume).toEqual(volumeAt(job, push, '/tmp').volume);
    expect(volumeAt(job, push, '/var/tmp').mount.readOnly).toBeFalsy();
  });

  test('an archive on a claim with format AUTO is inspected by an init container', () => {
    const { job } = tarPush({ archive: ImageArchive.fromPersistentVolumeClaim('archives', 'api.tar') });
    expect(containerNames(job)).toEqual({ init: ['fetch-archive'], main: ['push'] });
    const inspect = container(job, 'fetch-archive');
    expect(envOf(inspect)).toEqual({ ARCHIVE_PATH: '/archive-source/api.tar', ARCHIVE_FORMAT: 'auto', ARCHIVE_FORMAT_FILE: '/archive-info/format' });
    expect(volumeAt(job, inspect, '/archive-source').mount.readOnly).toBe(true);
    expect(volumeAt(job, inspect, '/archive-info').volume.emptyDir).toEqual({ sizeLimit: '1Mi' });
    expect(volumeAt(job, container(job, 'push'), '/archive-info').mount.readOnly).toBe(true);
  });

  test('the push script pushes once, verifies, then copies the pushed digest to the other destinations', () => {
    expect(PUSH_ARCHIVE_SCRIPT).toContain('run_skopeo copy "$@" "$push_format:$push_path" "docker://$push_first"');
    expect(PUSH_ARCHIVE_SCRIPT).toContain('verify_served "$push_first" "$source_digest"');
    expect(PUSH_ARCHIVE_SCRIPT).toContain('pinned_source="$(repository_of "$push_first")@$source_digest"');
  });

  describe('fails when', () => {
    test.each<[string, Partial<TarPushJobProps>, RegExp]>([
      ['the archive is missing', { archive: undefined as any }, /^archive: got undefined; expected an ImageArchive/],
      ['destinations is empty', { destinations: [] }, /^destinations: got \[\]; expected at least one image reference with a tag$/],
      ['a destination is invalid', { destinations: ['harbor.example.com/Platform/api:1'] }, /^destinations\[0\]: .*lower-case/],
      ['retryTimes is too large', { retryTimes: 101 }, /^retryTimes: got 101; expected a whole number from 0 to 100$/],
      ['the archive size limit is not whole mebibytes', { archiveSizeLimit: Size.kibibytes(1536) }, /^archiveSizeLimit: got "1.5Mi"; expected a whole number of mebibytes, at least Size.mebibytes\(1\)$/],
      ['the archive size limit is zero', { archiveSizeLimit: Size.mebibytes(0) }, /^archiveSizeLimit: got "0Mi"/],
    ])('%s', (_, props, message) => {
      expect(() => tarPush(props)).toThrow(message);
    });
  });
});
