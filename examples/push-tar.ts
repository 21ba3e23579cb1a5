/**
 * Seed 000's push-tar flow: download a pre-built image tarball over https (sha256 checked), detect whether
 * it is an OCI or a `docker save` archive, push it to Harbor and copy the pushed digest to a second tag.
 * A second Job pushes an archive that already sits on a PersistentVolumeClaim.
 */
import { App, Chart, Size } from 'cdk8s';
import { ArchiveFormat, ImageArchive, JobName, RegistryCredentials, TarPushJob } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'push-tar', { namespace: 'image-builds' });
  const harbor = RegistryCredentials.fromUsernamePassword('harbor-credentials');
  new TarPushJob(chart, 'api', {
    name: JobName.contentHashed('push-api-1-4-0'),
    archive: ImageArchive.fromUrl('https://artifacts.example.com/images/api-1.4.0.tar', {
      sha256: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
    }),
    destinations: ['harbor.example.com/platform/api:1.4.0', 'harbor.example.com/platform/api:stable'],
    credentials: harbor,
    archiveSizeLimit: Size.gibibytes(4),
  });
  new TarPushJob(chart, 'worker', {
    name: JobName.contentHashed('push-worker-2-0-1'),
    archive: ImageArchive.fromPersistentVolumeClaim('image-archives', 'worker/worker-2.0.1.oci.tar', { format: ArchiveFormat.OCI_ARCHIVE }),
    destinations: ['harbor.example.com/platform/worker:2.0.1'],
    credentials: harbor,
  });
  return chart;
}
