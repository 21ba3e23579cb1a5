import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { cacheRepositoryOf, checkBuildContext, DIGEST_FILE, finishBuildPod, prepareBuildPod, requireContextSource, withCommit } from './_build';
import { addBuildkitContainer, BUILDKIT_SOURCES, buildkitLayout, checkSecrets } from './_buildkit';
import { buildkitAnnotationAttributes } from './_oci-annotations';
import { checkPlatforms } from './_platforms';
import { escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { parseDestinations } from './_refs';
import { BUILDKIT_DIRECT_BUILD_SCRIPT } from './_scripts';
import { checkBuildTerminationMessage } from './_termination-message';
import { checkOneOf, checkRegistryHost, checkRelativePath, invalid } from './_validate';
import { BuildContext } from './build-context';
import { BuildJobOptions } from './build-job-options';
import { BuildkitMode, BuildkitSecret, CacheMode } from './buildkit-options';
import { IImageJob, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';

/** Where the CA bundles of the registries are mounted, `<dir>/<host>/ca.crt`, for the script's buildkitd.toml. */
const REGISTRY_CA_DIR = '/etc/buildkit-certs';

/** A BuildKit layer cache: a separate cache image in a registry, or metadata inline in the pushed image. */
export interface BuildkitCacheOptions {
  /**
   * `CacheMode.REGISTRY` exports every stage's layers (`mode=max`) to `<repository>:buildcache` and imports them
   * before the build; `CacheMode.INLINE` embeds cache metadata in the pushed image and imports it from the first
   * destination. `CacheMode.NONE` is refused: leave `cache` out for no cache.
   *
   * @default CacheMode.REGISTRY
   */
  readonly mode?: CacheMode;

  /**
   * The repository of the cache image with `CacheMode.REGISTRY` (tagged `buildcache`), e.g.
   * `registry.internal:5000/build/api-cache`. Refused with `CacheMode.INLINE`.
   *
   * @default - `<first destination's repository>/cache`, in the first destination's registry
   */
  readonly repository?: string;
}

/** Props of `BuildkitBuildJob`. */
export interface BuildkitBuildJobProps extends BuildJobOptions {
  /**
   * The build context: `BuildContext.fromUrl()`, `fromLocalDirectory()`, `fromConfigMap()`,
   * `fromPersistentVolumeClaim()`, or `fromGit()` for a repository with a URL ending in `.git` (BuildKit clones it
   * itself; a private one's `tokenSecret` key is mounted as a file and passed as the build secret
   * `GIT_AUTH_TOKEN.<host>`, without `username`). S3 and GCS contexts are kaniko-only.
   */
  readonly context: BuildContext;

  /**
   * Target platforms as `os/arch[/variant]` (`--opt platform=`), each once, e.g. `['linux/amd64', 'linux/arm64']`:
   * BuildKit builds each and pushes one image index, whose digest is recorded and promoted (`skopeo copy --all`).
   * The build container's termination message then has, after the destination lines, one
   * `<os/arch[/variant]> <first destination's repository>@<manifest digest>` line per platform of the pushed index.
   * Platforms other than the node's run their `RUN` steps under QEMU: BuildKit's own `buildkit-qemu-<arch>`
   * helpers, which the default BuildKit images ship, or QEMU registered with binfmt_misc on the node with the `F`
   * flag (see the README's "Multi-architecture images").
   *
   * @default - the node's platform; a single image, no index
   */
  readonly platforms?: string[];

  /**
   * A layer cache. `cache: {}` exports and imports a registry cache at `<first destination's repository>/cache:buildcache`.
   *
   * @default - no cache; every layer is rebuilt
   */
  readonly cache?: BuildkitCacheOptions;

  /**
   * Build secrets, each mounted from a Secret as a file (mode 0440) and passed as
   * `--secret id=<id>,src=<file>`: never in the YAML, args or image.
   *
   * @default - none
   */
  readonly secrets?: BuildkitSecret[];

  /**
   * How BuildKit runs. Both modes need Pod Security `privileged` (`podSecurityLevel`).
   *
   * @default BuildkitMode.ROOTLESS
   */
  readonly mode?: BuildkitMode;

  /**
   * Size limit of the emptyDir holding BuildKit's state (base images, layers, cache) during the build.
   *
   * @default Size.gibibytes(20)
   */
  readonly stateSizeLimit?: Size;
}

/**
 * Builds an image from a Dockerfile with BuildKit (`buildctl-daemonless.sh`, rootless by default), pushes it with
 * ordinary registry credentials, and optionally promotes the exact digest it pushed: with `platforms`, one image
 * index for every platform.
 *
 * Pod: [compose-*-auth] → [fetch-context] → BuildKit (`build`), then with `promotion` a skopeo container
 * (`promote`). The credentials are BuildKit's docker `config.json`; registries in `insecureRegistries` are
 * written into a `buildkitd.toml` (plain http, unverified certificate) by the container's script, and so is each
 * registry's CA bundle from `certificateAuthorities` (`ca = [...]`). It writes
 * `<destination>@<digest>` lines to its termination message (the index digest for several platforms, followed by
 * one `<os/arch[/variant]> <repository>@<manifest digest>` line per platform) and the digest to a file the
 * promoter copies by. Rootless BuildKit needs Unconfined seccomp and AppArmor, privileged
 * BuildKit a privileged container: Pod Security `privileged` either way.
 */
export class BuildkitBuildJob extends Construct implements IImageJob {
  /** The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover. */
  public readonly job: kplus.Job;

  /** Every reference the Job pushes to, in push order. */
  public readonly imageReferences: ImageReference[];

  /** Rootless: Unconfined seccomp/AppArmor; privileged: a privileged container. Both are `privileged`. */
  public readonly podSecurityLevel = PodSecurityLevel.PRIVILEGED;

  /** The references BuildKit pushes to. */
  public readonly buildDestinations: ImageReference[];

  /** The references the image is promoted to (empty without `promotion`). */
  public readonly promotionDestinations: ImageReference[];

  /** How BuildKit runs. */
  public readonly mode: BuildkitMode;

  /** The platforms built, in the order given (empty: the node's platform). */
  public readonly platforms: string[];

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props what to build and where to push it
   */
  constructor(scope: Construct, id: string, props: BuildkitBuildJobProps) {
    super(scope, id);
    const context = requireContextSource('BuildkitBuildJob', checkBuildContext(props.context), BUILDKIT_SOURCES);
    const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    this.mode = checkOneOf('mode', props.mode ?? BuildkitMode.ROOTLESS, BuildkitMode);
    this.platforms = checkPlatforms(props.platforms ?? []);
    this.buildDestinations = parseDestinations('destinations', props.destinations);
    this.promotionDestinations = props.promotion ? parseDestinations('promotion.destinations', props.promotion.destinations) : [];
    this.imageReferences = [...this.buildDestinations, ...this.promotionDestinations];
    const insecureRegistries = (props.insecureRegistries ?? []).map((host, i) => checkRegistryHost(`insecureRegistries[${i}]`, host));
    const cache = resolveCache(props.cache, this.buildDestinations[0]);
    const secrets = checkSecrets(props.secrets ?? []);
    checkBuildTerminationMessage(props.destinations, this.buildDestinations, this.platforms);

    const pod = new ImageJobPod(this, props, 'buildkit-build', this.podSecurityLevel);
    this.job = pod.job;
    const build = prepareBuildPod(pod, props, {
      context,
      dockerfile,
      buildDestinations: this.buildDestinations,
      promotionDestinations: this.promotionDestinations,
      cacheRepository: cache.repository,
    });
    const { first, firstEnv, firstReference, others, buildAuth, binding, results } = build;
    const layout = buildkitLayout(this.mode);
    const state = pod.emptyDir('buildkit-state', props.stateSizeLimit ?? Size.gibibytes(20));
    const registries = [...new Set([...this.buildDestinations.map(d => d.registry), ...(cache.repository ? [cache.repository.registry] : [])])];
    const registryCas = pod.registryCas(registries, REGISTRY_CA_DIR);
    const configMounts: Mount[] = [
      ...(buildAuth ? [{ path: layout.dockerConfig, volume: buildAuth, readOnly: true }] : []),
      ...registryCas.map(ca => ca.mount),
    ];
    const value = kplus.EnvValue.fromValue;
    addBuildkitContainer(pod, {
      construct: 'BuildkitBuildJob',
      name: 'build',
      mode: this.mode,
      context,
      binding,
      dockerfile,
      inputs: { ...props, buildArgs: withCommit(props.buildArgs, props.commitSha), platforms: this.platforms },
      secrets,
      results,
      state,
      configMounts,
      daemonFlags: [],
      outputNames: [firstReference, ...others.map(ref => escapeKubeletExpansion(ref.toString()))],
      // the annotations Kargo reads (revision, source, created when given); escaped for kubelet
      outputAnnotations: escapeKubeletExpansion(buildkitAnnotationAttributes(props)),
      cacheArgs: cache.args,
      script: BUILDKIT_DIRECT_BUILD_SCRIPT,
      envBefore: [],
      env: [
        ...firstEnv,
        ['DESTINATIONS', value(this.buildDestinations.map(String).join(' '))],
        ['DIGEST_FILE', value(DIGEST_FILE)],
        ['BUILDKITD_CONFIG', value(`${layout.state}/buildkitd.toml`)],
        // the script reads the pushed index's entries from BuildKit's content store, in its state directory
        ...(this.platforms.length > 0
          ? [['PLATFORMS', value(this.platforms.join(','))], ['BUILDKIT_STATE_DIR', value(layout.state)]] as [string, kplus.EnvValue][]
          : []),
        ...(insecureRegistries.length > 0 ? [['INSECURE_REGISTRIES', value(insecureRegistries.join(' '))] as [string, kplus.EnvValue]] : []),
        ...(registryCas.length > 0 ? [['REGISTRY_CA_DIR', value(REGISTRY_CA_DIR)] as [string, kplus.EnvValue]] : []),
      ],
      init: props.promotion !== undefined,
      resources: props.resources,
    });

    finishBuildPod(pod, props, build, !insecureRegistries.includes(first.registry));
  }
}

/** The cache flags and the cache repository (for credentials), from `cache`. */
function resolveCache(cache: BuildkitCacheOptions | undefined, first: ImageReference): { args: string[]; repository?: ImageReference } {
  if (cache === undefined) {
    return { args: [] };
  }
  const mode = checkOneOf('cache.mode', cache.mode ?? CacheMode.REGISTRY, CacheMode);
  if (mode === CacheMode.NONE) {
    invalid('cache.mode', mode, 'expected CacheMode.REGISTRY or CacheMode.INLINE; leave cache out for no cache');
  }
  if (mode === CacheMode.INLINE) {
    if (cache.repository !== undefined) {
      invalid('cache.repository', cache.repository, 'expected no repository with CacheMode.INLINE: the cache travels in the pushed image');
    }
    const firstRef = escapeKubeletExpansion(first.toString());
    return { args: ['--export-cache=type=inline', `--import-cache=type=registry,ref=${firstRef}`] };
  }
  const repository = cacheRepositoryOf(cache.repository, first, 'BuildKit');
  const ref = escapeKubeletExpansion(`${repository}:buildcache`);
  return { args: [`--export-cache=type=registry,ref=${ref},mode=max,ignore-error=true`, `--import-cache=type=registry,ref=${ref}`], repository };
}
