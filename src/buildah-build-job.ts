import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkSizeLimit } from './_archive';
import {
  buildInputFlags, cacheRepositoryOf, checkBuildContext, checkExtraArgs, DIGEST_FILE, DIRECTORY_SOURCES, finishBuildPod, prepareBuildPod,
  requireContextSource, RESULTS_DIR, withCommit,
} from './_build';
import { BUILDAH_STORAGE_ROOT, buildahWorkspace } from './_buildah';
import { kplusResources } from './_kplus-props';
import { ociAnnotationFlags, ociAnnotations } from './_oci-annotations';
import { checkPlatforms } from './_platforms';
import { BUILDAH_RUN_CAPABILITIES, BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { parseDestinations } from './_refs';
import { BUILDAH_BUILD_SCRIPT } from './_scripts';
import { checkBuildTerminationMessage } from './_termination-message';
import { BUILDAH_BUD_FLAGS } from './_tool-flags';
import { checkOneOf, checkRegistryHost, checkRelativePath, checkWholeSeconds, invalid } from './_validate';
import { BuildContext } from './build-context';
import { BuildJobOptions } from './build-job-options';
import { IImageJob, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';

/** Where buildah keeps images and layers while it builds (`--storage-driver`). */
export enum BuildahStorageDriver {
  /**
   * Plain directories: every layer is a full copy. Slow and disk-hungry, but works on any node filesystem
   * without mounting anything.
   */
  VFS = 'vfs',
  /**
   * The kernel's overlayfs (not fuse-overlayfs, so no `/dev/fuse` is needed): much faster and smaller than
   * vfs. Needs a node kernel with overlay support and a storage emptyDir on a filesystem that can be an
   * overlay upper directory (ext4 or xfs, not overlayfs itself, as on some nested test clusters).
   */
  OVERLAY = 'overlay',
}

/** The manifest and config format buildah writes (`--format`). */
export enum BuildahImageFormat {
  /** OCI image manifest and config. */
  OCI = 'oci',
  /** Docker v2 schema 2, for registries or tools that predate OCI images. Needed for `HEALTHCHECK`, `SHELL`, `ONBUILD`. */
  DOCKER = 'docker',
}

/** A registry layer cache for buildah (`--layers --cache-from --cache-to`). */
export interface BuildahCacheOptions {
  /**
   * The repository that holds cached layers, e.g. `registry.internal:5000/build/api-cache`.
   *
   * @default - `<first destination's repository>/cache`, in the first destination's registry
   */
  readonly repository?: string;

  /**
   * Only reuse cached layers younger than this (`--cache-ttl`).
   *
   * @default - no limit; any cached layer is reused
   */
  readonly ttl?: Duration;
}

/** Props of `BuildahBuildJob`. */
export interface BuildahBuildJobProps extends BuildJobOptions {
  /**
   * The build context: `BuildContext.fromUrl()` (the classic Job YAMLs' `BUILD_CONTEXT_URL`), `fromLocalDirectory()`,
   * `fromConfigMap()` or `fromPersistentVolumeClaim()`. Git, S3 and GCS contexts are refused: buildah reads a
   * directory, and the pod would need a git or cloud client to fill one.
   */
  readonly context: BuildContext;

  /**
   * Target platforms as `os/arch[/variant]`, each once, e.g. `['linux/amd64', 'linux/arm64']`: buildah builds each
   * (`--platform` with `--manifest`) into one image index and pushes it with `buildah manifest push --all`; the
   * index digest is recorded, reported and promoted (`skopeo copy --all`) like a single image's; the build
   * container's termination message then has, after the destination lines, one
   * `<os/arch[/variant]> <first destination's repository>@<manifest digest>` line per platform of the index as the
   * first destination serves it (read back by digest with `buildah manifest add --all`). `RUN` steps for
   * a platform other than the node's run under QEMU, which must be registered with binfmt_misc on the node with the
   * `F` flag (see the README's "Multi-architecture images"). `extraArgs` may then not set `--platform`, `--arch`,
   * `--os` or `--variant`.
   *
   * @default - the node's platform (or a `--platform` in `extraArgs`); a single image, no index
   */
  readonly platforms?: string[];

  /**
   * Where buildah stores layers while it builds.
   *
   * @default BuildahStorageDriver.VFS
   */
  readonly storageDriver?: BuildahStorageDriver;

  /**
   * The image format (`--format`).
   *
   * @default BuildahImageFormat.OCI
   */
  readonly format?: BuildahImageFormat;

  /**
   * Commit a layer per Dockerfile instruction (`--layers`), as docker does, instead of one layer for all the
   * instructions after `FROM`. Always on with `cache`.
   *
   * @default false
   */
  readonly layers?: boolean;

  /**
   * A registry layer cache. `cache: {}` caches in `<first destination's repository>/cache`. Turns on `layers`.
   *
   * @default - no cache; every layer is rebuilt
   */
  readonly cache?: BuildahCacheOptions;

  /**
   * Extra `buildah bud` flags, e.g. `['--platform=linux/arm64']`. Flags this construct manages from its props
   * (context, dockerfile, destinations, image id, isolation, storage, build args, target, labels, format,
   * layers, cache, credentials, TLS) are refused, and so is anything that is not a `buildah bud` flag (the
   * options of buildah's `buildah-build` man page), so a typo fails at synth time rather than in the pod.
   *
   * @default - none
   */
  readonly extraArgs?: string[];

  /**
   * Size limit of the emptyDir at `/var/lib/containers` holding buildah's storage (base images, layers,
   * temporary files). With vfs every layer is a full copy of the file system below it.
   *
   * @default Size.gibibytes(20)
   */
  readonly storageSizeLimit?: Size;
}

/** buildah bud flags owned by props or by the script; `extraArgs` may not set them. */
const BUILDAH_MANAGED_FLAGS: { [flag: string]: string } = {
  '--file': 'dockerfile',
  '-f': 'dockerfile',
  '--tag': 'destinations',
  '-t': 'destinations',
  '--manifest': 'destinations',
  '--output': 'destinations',
  '-o': 'destinations',
  '--iidfile': 'the digest contract',
  '--isolation': 'the chroot isolation this Job is confined for',
  '--userns': 'the chroot isolation this Job is confined for',
  '--storage-driver': 'storageDriver',
  '--root': 'storageDriver',
  '--runroot': 'storageDriver',
  '--build-arg': 'buildArgs',
  '--target': 'target',
  '--label': 'labels',
  '--format': 'format',
  '--layers': 'layers',
  '--cache-from': 'cache',
  '--cache-to': 'cache',
  '--cache-ttl': 'cache',
  '--authfile': 'credentials',
  '--creds': 'credentials',
  '--tls-verify': 'insecureRegistries',
  '--cert-dir': 'insecureRegistries',
};

/** buildah bud flags that choose a platform: `platforms` owns them when set. */
const PLATFORM_FLAGS: { [flag: string]: string } = {
  '--platform': 'platforms',
  '--arch': 'platforms',
  '--os': 'platforms',
  '--variant': 'platforms',
  '--all-platforms': 'platforms',
};

/**
 * Builds an image from a Dockerfile with buildah (`buildah bud --isolation chroot`), pushes it with
 * `--digestfile`, and optionally promotes that exact digest to final registries: the maintained alternative
 * to kaniko (archived upstream), and the engine of an Image Factory builder.
 *
 * Pod: [compose-*-auth] → [fetch-context] → buildah (`build`), then with `promotion` a skopeo container
 * (`promote`). buildah runs as root with every capability dropped except the ones its RUN steps get plus
 * SYS_ADMIN (for its mount namespace), RuntimeDefault seccomp and no AppArmor confinement: the pod needs Pod
 * Security `privileged` (SYS_ADMIN and Unconfined AppArmor are outside `baseline`), although it is not a
 * privileged container. It writes `<destination>@<digest>` lines to its termination message (with `platforms`,
 * followed by one `<os/arch[/variant]> <repository>@<manifest digest>` line per platform); the promoter
 * writes `<destination>@<digest>` for every final destination.
 */
export class BuildahBuildJob extends Construct implements IImageJob {
  /**
   * The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover.
   *
   * A cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses; `ApiObject.of(x.job).addJsonPatch(…)`
   * patches it from any version.
   */
  public readonly job: kplus.Job;

  /** Every reference the Job pushes to, in push order. */
  public readonly imageReferences: ImageReference[];

  /**
   * `privileged`: buildah adds SYS_ADMIN (outside `baseline`'s capability list) and runs without AppArmor
   * confinement (the runtime's default AppArmor profile denies `mount`). No `privileged: true`, no host namespaces.
   */
  public readonly podSecurityLevel = PodSecurityLevel.PRIVILEGED;

  /** The references buildah pushes to. */
  public readonly buildDestinations: ImageReference[];

  /** The references the image is promoted to (empty without `promotion`). */
  public readonly promotionDestinations: ImageReference[];

  /** Where buildah stores layers. */
  public readonly storageDriver: BuildahStorageDriver;

  /** The platforms built into one index, in the order given (empty: a single image). */
  public readonly platforms: string[];

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props what to build and where to push it
   */
  constructor(scope: Construct, id: string, props: BuildahBuildJobProps) {
    super(scope, id);
    const context = requireContextSource('BuildahBuildJob', checkBuildContext(props.context), DIRECTORY_SOURCES);
    const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    this.buildDestinations = parseDestinations('destinations', props.destinations);
    this.promotionDestinations = props.promotion ? parseDestinations('promotion.destinations', props.promotion.destinations) : [];
    this.imageReferences = [...this.buildDestinations, ...this.promotionDestinations];
    this.storageDriver = checkOneOf('storageDriver', props.storageDriver ?? BuildahStorageDriver.VFS, BuildahStorageDriver);
    const format = checkOneOf('format', props.format ?? BuildahImageFormat.OCI, BuildahImageFormat);
    const insecureRegistries = (props.insecureRegistries ?? []).map((host, i) => checkRegistryHost(`insecureRegistries[${i}]`, host));
    const cacheRepository = props.cache ? cacheRepositoryOf(props.cache.repository, this.buildDestinations[0], 'buildah') : undefined;
    const extraArgs = props.extraArgs ?? [];
    this.platforms = checkPlatforms(props.platforms ?? []);
    checkBuildTerminationMessage(props.destinations, this.buildDestinations, this.platforms);
    checkExtraArgs(extraArgs, BUILDAH_BUD_FLAGS, this.platforms.length > 0 ? { ...BUILDAH_MANAGED_FLAGS, ...PLATFORM_FLAGS } : BUILDAH_MANAGED_FLAGS,
      [], '--platform=linux/arm64');
    const flags = [
      `--format=${format}`,
      ...(props.layers || cacheRepository ? ['--layers'] : []),
      ...(cacheRepository ? [`--cache-from=${cacheRepository}`, `--cache-to=${cacheRepository}`] : []),
      ...(props.cache?.ttl ? [`--cache-ttl=${checkWholeSeconds('cache.ttl', props.cache.ttl, 1)}s`] : []),
      ...buildInputFlags({ ...props, buildArgs: withCommit(props.buildArgs, props.commitSha) }),
      // created: by the script, at run time, unless imageCreated fixes it (IMAGE_CREATED)
      ...ociAnnotationFlags({ commitSha: props.commitSha, sourceUrl: props.sourceUrl }),
      ...extraArgs,
    ];
    for (const [prop, given] of [['sourceUrl', props.sourceUrl], ['imageCreated', props.imageCreated]]) {
      if (given !== undefined && format === BuildahImageFormat.DOCKER) {
        invalid(prop!, given, 'expected format: BuildahImageFormat.OCI as well: Docker v2 manifests carry no annotations, so buildah would drop it');
      }
    }
    const imageCreated = ociAnnotations({ imageCreated: props.imageCreated }).map(([, created]) => created)[0];
    const storageSizeLimit = checkSizeLimit('storageSizeLimit', props.storageSizeLimit ?? Size.gibibytes(20));

    const pod = new ImageJobPod(this, props, 'buildah-build', this.podSecurityLevel);
    this.job = pod.job;
    const build = prepareBuildPod(pod, props, {
      context, dockerfile, buildDestinations: this.buildDestinations, promotionDestinations: this.promotionDestinations, cacheRepository,
    });
    const { first, firstEnv, others, buildAuth, binding, results } = build;

    const workspace = buildahWorkspace(pod, this.storageDriver, storageSizeLimit, insecureRegistries, buildAuth);
    const mounts: Mount[] = [...binding.mounts, { path: RESULTS_DIR, volume: results }, ...workspace.mounts];
    const value = kplus.EnvValue.fromValue;
    const env: [string, kplus.EnvValue][] = [
      ['CONTEXT_DIR', value(binding.directory!)], // a directory source (requireContextSource)
      ['DOCKERFILE_PATH', value(dockerfile)],
      ...firstEnv,
      ...(others.length > 0 ? [['ADDITIONAL_DESTINATIONS', value(others.map(String).join(' '))] as [string, kplus.EnvValue]] : []),
      ['DIGEST_FILE', value(DIGEST_FILE)],
      ...(this.platforms.length > 0 ? [['PLATFORMS', value(this.platforms.join(','))] as [string, kplus.EnvValue]] : []),
      ...(imageCreated ? [['IMAGE_CREATED', value(imageCreated)] as [string, kplus.EnvValue]] : []),
      ...workspace.storageEnv,
      ['CONTAINERS_CONF', value(`${BUILDAH_STORAGE_ROOT}/containers.conf`)],
      ['RUN_CAPABILITIES', value(BUILDAH_RUN_CAPABILITIES.join(' '))],
      ...workspace.registryEnv,
    ];
    pod.addContainer({
      name: 'build',
      image: pod.images.buildah,
      script: BUILDAH_BUILD_SCRIPT,
      // $0 of the script; the bud flags follow as "$@"
      args: ['buildah-build', ...flags.map(escapeKubeletExpansion)],
      env,
      mounts,
      profile: ContainerProfile.BUILDAH_BUILDER,
      resources: kplusResources(props.resources, BUILDER_RESOURCES),
      registries: [...new Set([...this.buildDestinations.map(d => d.registry), ...(cacheRepository ? [cacheRepository.registry] : [])])],
    }, props.promotion !== undefined);
    pod.unconfineAppArmor('build');

    finishBuildPod(pod, props, build, !insecureRegistries.includes(first.registry));
  }
}
