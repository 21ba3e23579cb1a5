import { checkDownloadUrl, checkObjectName, checkRelativePath, checkSha256, invalid } from './_validate';

/** The layout of an image archive. */
export enum ArchiveFormat {
  /**
   * Detect at run time: a tar with a `manifest.json` is read as a `docker save` archive, else one with an
   * `oci-layout` entry as an OCI archive. Docker 25+ `docker save` writes both; its OCI index may name
   * platforms whose blobs it left out, so its `manifest.json` (what it really holds) wins. Name
   * `OCI_ARCHIVE` to push such an archive's OCI manifest and keep its digest.
   */
  AUTO = 'auto',
  /** A `docker save` archive (skopeo `docker-archive:`). The registry computes a new manifest digest on push. */
  DOCKER_ARCHIVE = 'docker-archive',
  /** An OCI image layout in a tar (skopeo `oci-archive:`). Its manifest, and so its digest, is pushed unchanged. */
  OCI_ARCHIVE = 'oci-archive',
}

/** Options for `ImageArchive.fromUrl()`. */
export interface UrlImageArchiveOptions {
  /**
   * The expected sha256 of the archive (64 hex characters, as `sha256sum` prints it). Nothing is pushed if
   * the download differs.
   *
   * @default - the download is not verified (https still protects it in transit)
   */
  readonly sha256?: string;

  /**
   * The archive's layout.
   *
   * @default ArchiveFormat.AUTO
   */
  readonly format?: ArchiveFormat;

  /**
   * Allow a plain `http://` URL.
   *
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
}

/** Options for `ImageArchive.fromPersistentVolumeClaim()`. */
export interface PvcImageArchiveOptions {
  /**
   * The archive's layout.
   *
   * @default ArchiveFormat.AUTO
   */
  readonly format?: ArchiveFormat;
}

/** Where an image archive comes from. */
export enum ImageArchiveSource {
  /** Downloaded over https. */
  URL = 'url',
  /** A file on a PersistentVolumeClaim, mounted read-only. */
  PERSISTENT_VOLUME_CLAIM = 'persistent-volume-claim',
}

/**
 * A pre-built image tarball (`docker save` or OCI archive) to push: the classic Job YAMLs' `IMAGE_TAR_URL`.
 */
export class ImageArchive {
  /**
   * An archive downloaded over https (the classic Job YAMLs' `IMAGE_TAR_URL`), retried on refused connections,
   * timeouts and 5xx answers (not 404), and checked against `sha256` before anything is pushed.
   *
   * @param url the archive's address; credentials in the URL are refused (they would land in the YAML)
   * @param options checksum, format and transport options
   */
  public static fromUrl(url: string, options: UrlImageArchiveOptions = {}): ImageArchive {
    const allowInsecureHttp = options.allowInsecureHttp ?? false;
    checkDownloadUrl('ImageArchive.fromUrl url', url, allowInsecureHttp);
    if (options.sha256 !== undefined) {
      checkSha256('ImageArchive.fromUrl sha256', options.sha256);
    }
    return new ImageArchive(ImageArchiveSource.URL, url, checkFormat('ImageArchive.fromUrl format', options.format), options.sha256, allowInsecureHttp);
  }

  /**
   * An archive already in the cluster, on a PersistentVolumeClaim in the Job's namespace. The claim is
   * mounted read-only; the file must be readable by uid or gid 65532.
   *
   * @param claimName the PersistentVolumeClaim's name
   * @param path the archive's path inside the volume, e.g. `images/api-1.4.0.tar`
   * @param options format options
   */
  public static fromPersistentVolumeClaim(claimName: string, path: string, options: PvcImageArchiveOptions = {}): ImageArchive {
    checkObjectName('ImageArchive.fromPersistentVolumeClaim claimName', claimName);
    checkRelativePath('ImageArchive.fromPersistentVolumeClaim path', path);
    return new ImageArchive(ImageArchiveSource.PERSISTENT_VOLUME_CLAIM, path, checkFormat('ImageArchive.fromPersistentVolumeClaim format', options.format),
      undefined, false, claimName);
  }

  /** Where the archive comes from. */
  public readonly source: ImageArchiveSource;

  /** The URL, or the path inside the claim. */
  public readonly location: string;

  /** The archive's layout. */
  public readonly format: ArchiveFormat;

  /**
   * The expected sha256 of a downloaded archive.
   *
   * @default - not verified
   */
  public readonly sha256?: string;

  /** Whether a plain-http URL is allowed. */
  public readonly allowInsecureHttp: boolean;

  /**
   * The PersistentVolumeClaim holding the archive.
   *
   * @default - not on a claim (downloaded)
   */
  public readonly claimName?: string;

  private constructor(
    source: ImageArchiveSource,
    location: string,
    format: ArchiveFormat,
    sha256: string | undefined,
    allowInsecureHttp: boolean,
    claimName?: string,
  ) {
    this.source = source;
    this.location = location;
    this.format = format;
    this.sha256 = sha256;
    this.allowInsecureHttp = allowInsecureHttp;
    this.claimName = claimName;
  }
}

function checkFormat(prop: string, format: ArchiveFormat | undefined): ArchiveFormat {
  const value = format ?? ArchiveFormat.AUTO;
  if (!Object.values(ArchiveFormat).includes(value)) {
    invalid(prop, value, `expected one of ${Object.values(ArchiveFormat).join(', ')}`);
  }
  return value;
}
