import { Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { FETCH_ARCHIVE_SCRIPT } from './_scripts';
import { Env } from './_skopeo';
import { invalid } from './_validate';
import { ArchiveFormat, ImageArchive, ImageArchiveSource } from './image-archive';

/** Where the pushing container finds the archive. */
export interface ArchiveBinding {
  /** ARCHIVE_PATH, ARCHIVE_FORMAT and, when the format is detected by an init container, ARCHIVE_FORMAT_FILE. */
  readonly env: Env;
  readonly mounts: Mount[];
}

/**
 * Wires an archive into the pod. With `fetchInInit`, an init container `fetch-archive` downloads (URL) or
 * inspects (claim, format AUTO) it, and the pusher reads it read-only. Without, the pusher gets the download
 * variables (IMAGE_TAR_URL, IMAGE_TAR_SHA256) and does it itself (UnifiedImageJob's single main container).
 */
export function bindArchive(pod: ImageJobPod, archive: ImageArchive, sizeLimit: Size, fetchInInit: boolean): ArchiveBinding {
  const value = kplus.EnvValue.fromValue;
  const download: Env = archive.source === ImageArchiveSource.URL ? [
    ['IMAGE_TAR_URL', value(archive.location)],
    ...(archive.sha256 ? [['IMAGE_TAR_SHA256', value(archive.sha256)] as [string, kplus.EnvValue]] : []),
    ...(archive.allowInsecureHttp ? [['ALLOW_INSECURE_HTTP', value('true')] as [string, kplus.EnvValue]] : []),
  ] : [];
  const trust = archive.source === ImageArchiveSource.URL ? pod.downloadTrust(archive.location) : { env: [], mounts: [] };
  const source = archive.source === ImageArchiveSource.URL
    ? { path: '/archive/image.tar', mount: { path: '/archive', volume: pod.emptyDir('archive', sizeLimit) } }
    : { path: `/archive-source/${archive.location}`, mount: { path: '/archive-source', volume: pod.claimVolume('archive-source', archive.claimName!), readOnly: true } };
  const location: Env = [['ARCHIVE_PATH', value(source.path)], ['ARCHIVE_FORMAT', value(archive.format)]];

  if (!fetchInInit) {
    return { env: [...download, ...trust.env, ...location], mounts: [source.mount, ...trust.mounts] };
  }
  const detect = archive.format === ArchiveFormat.AUTO;
  if (download.length === 0 && !detect) {
    return { env: location, mounts: [{ ...source.mount, readOnly: true }] };
  }
  // the format file lives beside a downloaded archive, or on a small emptyDir next to a read-only claim
  const info = archive.source === ImageArchiveSource.URL
    ? { file: '/archive/format', mount: source.mount }
    : { file: '/archive-info/format', mount: { path: '/archive-info', volume: pod.emptyDir('archive-info', Size.mebibytes(1)) } };
  const formatFile: Env = detect ? [['ARCHIVE_FORMAT_FILE', value(info.file)]] : [];
  pod.addContainer({
    name: 'fetch-archive',
    image: pod.images.downloadHelper,
    script: FETCH_ARCHIVE_SCRIPT,
    env: [...download, ...trust.env, ...location, ...formatFile],
    mounts: dedupe([source.mount, info.mount, ...trust.mounts]),
    profile: ContainerProfile.RESTRICTED,
    resources: HELPER_RESOURCES,
  }, true);
  return { env: [...location, ...formatFile], mounts: dedupe([source.mount, info.mount]).map(m => ({ ...m, readOnly: true })) };
}

/** A size limit that renders as whole mebibytes, at least 1Mi. */
export function checkSizeLimit(prop: string, size: Size): Size {
  const mebibytes = size.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
  if (!Number.isInteger(mebibytes) || mebibytes < 1) {
    invalid(prop, `${mebibytes}Mi`, 'expected a whole number of mebibytes, at least Size.mebibytes(1)');
  }
  return size;
}

function dedupe(mounts: Mount[]): Mount[] {
  return mounts.filter((mount, i) => mounts.findIndex(m => m.path === mount.path) === i);
}
