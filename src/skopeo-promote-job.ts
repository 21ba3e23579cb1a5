import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { provideCredentials } from './_credentials';
import { kplusResources } from './_kplus-props';
import { ImageJobPod } from './_pod';
import { parseDestinations } from './_refs';
import { PROMOTE_SCRIPT } from './_scripts';
import { addSkopeoContainer, SKOPEO_RESOURCES } from './_skopeo';
import { checkInteger, invalid } from './_validate';
import { IImageJob, ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { RegistryCredentials } from './registry-credentials';

/** Props of `SkopeoPromoteJob`. */
export interface SkopeoPromoteJobProps extends ImageJobOptions {
  /**
   * The image to promote. Give it by digest (`…/api@sha256:<64 hex>`): that is immutable. A tag is resolved
   * once when the Job starts, and every destination then receives that one digest. A source with neither tag
   * nor digest is refused: an implicit `:latest` is never assumed.
   *
   * @example "registry.internal:5000/build/api@sha256:0b5d…"
   */
  readonly source: string;

  /**
   * Credentials for the source registry.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly sourceCredentials?: RegistryCredentials;

  /**
   * Where to copy the image, each with a tag. The first travels in the classic Job YAMLs' `HARBOR_REGISTRY` /
   * `HARBOR_PROJECT` / `HARBOR_IMAGE_NAME` / `HARBOR_IMAGE_TAG`.
   */
  readonly destinations: string[];

  /**
   * Credentials for every destination registry.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly destinationCredentials?: RegistryCredentials;

  /**
   * Copy every platform of a multi-platform index (`--all`), so every destination serves the source's
   * digest. With `false`, skopeo copies only one platform's manifest of an index (the platform the promote
   * container runs on) and every destination serves that manifest's digest, not the index's; a
   * single-platform source is copied as it is.
   *
   * @default true
   */
  readonly copyAllPlatforms?: boolean;

  /**
   * Fail rather than let the copy change any manifest (`--preserve-digests`), and check what every
   * destination received: the source's digest with `copyAllPlatforms`, otherwise the digest of the one
   * platform's manifest the first copy selected (the same for every destination). With `false`, skopeo may
   * convert manifests and the digests are recorded as each registry reports them.
   *
   * @default true
   */
  readonly preserveDigests?: boolean;

  /**
   * How often skopeo retries a failed registry operation (`--retry-times`).
   *
   * @default 3
   */
  readonly retryTimes?: number;

  /**
   * Require https with a verified certificate for the source.
   *
   * @default true
   */
  readonly sourceTlsVerify?: boolean;

  /**
   * Require https with a verified certificate for the destinations.
   *
   * @default true
   */
  readonly destinationTlsVerify?: boolean;
}

/**
 * Copies one image by digest to one or more registries with skopeo and verifies every destination: the
 * promoter of the classic hand-written build Job, usable on its own (for Kargo promotions, releases, mirroring).
 *
 * Pod: [compose-*-auth] → `promote` (skopeo, non-root, read-only root filesystem, no capabilities,
 * RuntimeDefault seccomp, no service-account token): Pod Security `restricted`. The termination message
 * lists `<destination>@<digest>` for every destination.
 */
export class SkopeoPromoteJob extends Construct implements IImageJob {
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

  /** The parsed source reference. */
  public readonly source: ImageReference;

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props what to promote and where to
   */
  constructor(scope: Construct, id: string, props: SkopeoPromoteJobProps) {
    super(scope, id);
    this.source = ImageReference._parseFor('source', props.source);
    if (!this.source.tag && !this.source.digest) {
      invalid('source', props.source, 'expected a source with a tag (":1.4.0") or a digest ("@sha256:…"); an implicit ":latest" is never assumed');
    }
    this.imageReferences = parseDestinations('destinations', props.destinations);
    const retryTimes = checkInteger('retryTimes', props.retryTimes ?? 3, 0, 100);

    const pod = new ImageJobPod(this, props, 'skopeo-promote', this.podSecurityLevel);
    this.job = pod.job;
    const sourceAuth = provideCredentials(pod, props.sourceCredentials, 'source', [this.source.registry]);
    const destinationAuth = provideCredentials(pod, props.destinationCredentials, 'destination',
      this.imageReferences.map(d => d.registry));
    addSkopeoContainer(pod, {
      name: 'promote',
      script: PROMOTE_SCRIPT,
      sourceEnv: [['SOURCE_IMAGE', kplus.EnvValue.fromValue(this.source.toString())]],
      sourceRegistry: this.source.registry,
      destinations: this.imageReferences,
      settings: {
        copyAllPlatforms: props.copyAllPlatforms ?? true,
        preserveDigests: props.preserveDigests ?? true,
        retryTimes,
        sourceTlsVerify: props.sourceTlsVerify ?? true,
        destinationTlsVerify: props.destinationTlsVerify ?? true,
        sourceAuth,
        destinationAuth,
      },
      resources: kplusResources(props.resources, SKOPEO_RESOURCES),
      tmpSizeLimit: Size.gibibytes(1),
    });
    pod.setDefaultContainer('promote');
  }
}
