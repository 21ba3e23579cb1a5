import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { bindArchive, checkSizeLimit } from './_archive';
import { provideCredentials } from './_credentials';
import { kplusResources } from './_kplus-props';
import { ImageJobPod } from './_pod';
import { parseDestinations } from './_refs';
import { PUSH_ARCHIVE_SCRIPT } from './_scripts';
import { addSkopeoContainer, SKOPEO_RESOURCES } from './_skopeo';
import { checkInteger, invalid } from './_validate';
import { ImageArchive } from './image-archive';
import { IImageJob, ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { PushDestinationOptions } from './push-destinations';

/** Props of `TarPushJob`. */
export interface TarPushJobProps extends ImageJobOptions, PushDestinationOptions {
  /** The image tarball: `ImageArchive.fromUrl()` (the classic Job YAMLs' `IMAGE_TAR_URL`) or `ImageArchive.fromPersistentVolumeClaim()`. */
  readonly archive: ImageArchive;

  /**
   * Size limit of the emptyDir holding a downloaded archive, and of skopeo's temp directory (an OCI archive
   * is unpacked there before the push).
   *
   * @default Size.gibibytes(10)
   */
  readonly archiveSizeLimit?: Size;
}

/**
 * Pushes a pre-built image tarball (`docker save` or OCI archive) to one or more registries: the classic Job YAMLs'
 * `push-tar-job.yaml`, done right.
 *
 * Pod: [compose-destination-auth] → [fetch-archive: download over https with retries, sha256 check, format
 * detection] → `push` (skopeo `--digestfile` to the first destination, then `<first>@<digest>` to the
 * others). Every container is non-root, read-only, capability-free, RuntimeDefault-confined, without a
 * service-account token: Pod Security `restricted`.
 *
 * Digests: an OCI archive keeps its manifest, so the pushed digest is the archive's. A `docker save` archive
 * has no registry manifest; the registry gets a new one and the digest is whatever it computes. Either way
 * the termination message reports what the registry holds, checked after the push.
 */
export class TarPushJob extends Construct implements IImageJob {
  /**
   * The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover.
   *
   * A cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses; `ApiObject.of(x.job).addJsonPatch(…)`
   * patches it from any version.
   */
  public readonly job: kplus.Job;

  /** Every reference the Job pushes to, in push order. */
  public readonly imageReferences: ImageReference[];

  /** Every container is non-root, read-only, capability-free and RuntimeDefault-confined: `restricted`. */
  public readonly podSecurityLevel = PodSecurityLevel.RESTRICTED;

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props the archive and where to push it
   */
  constructor(scope: Construct, id: string, props: TarPushJobProps) {
    super(scope, id);
    if (!(props.archive instanceof ImageArchive)) {
      invalid('archive', props.archive, 'expected an ImageArchive such as ImageArchive.fromUrl("https://…/image.tar")');
    }
    this.imageReferences = parseDestinations('destinations', props.destinations);
    const retryTimes = checkInteger('retryTimes', props.retryTimes ?? 3, 0, 100);
    const sizeLimit = checkSizeLimit('archiveSizeLimit', props.archiveSizeLimit ?? Size.gibibytes(10));

    const pod = new ImageJobPod(this, props, 'tar-push', this.podSecurityLevel);
    this.job = pod.job;
    const destinationAuth = provideCredentials(pod, props.credentials, 'destination',
      this.imageReferences.map(d => d.registry));
    const archive = bindArchive(pod, props.archive, sizeLimit, true);
    addSkopeoContainer(pod, {
      name: 'push',
      script: PUSH_ARCHIVE_SCRIPT,
      sourceEnv: archive.env,
      destinations: this.imageReferences,
      settings: {
        copyAllPlatforms: true,
        preserveDigests: true,
        retryTimes,
        sourceTlsVerify: props.destinationTlsVerify ?? true,
        destinationTlsVerify: props.destinationTlsVerify ?? true,
        destinationAuth,
      },
      resources: kplusResources(props.resources, SKOPEO_RESOURCES),
      tmpSizeLimit: sizeLimit,
      extraMounts: archive.mounts,
    });
    pod.setDefaultContainer('push');
  }
}
