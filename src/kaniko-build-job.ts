import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { cacheRepositoryOf, checkBuildContext, withCommit } from './_build';
import { addKanikoJob, kanikoFlags } from './_kaniko';
import { addKanikoFanOut } from './_kaniko-fan-out';
import { checkPlatforms } from './_platforms';
import { parseDestinations } from './_refs';
import { checkRelativePath, checkWholeSeconds } from './_validate';
import { BuildContext } from './build-context';
import { BuildJobOptions } from './build-job-options';
import { IImageJob, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';

/** Registry layer cache for kaniko (`--cache=true --cache-repo`). */
export interface KanikoCacheOptions {
  /**
   * The repository that holds cached layers, e.g. `registry.internal:5000/build/api-cache`.
   *
   * Some registries reject nested repositories such as `<repository>/cache` (ECR needs each repository
   * created first; Harbor allows them): name one explicitly there.
   *
   * @default - `<first destination's repository>/cache`, in the first destination's registry
   */
  readonly repository?: string;

  /**
   * How long a cached layer stays valid (`--cache-ttl`).
   *
   * @default - kaniko's default, two weeks (336h)
   */
  readonly ttl?: Duration;
}

/** Props of `KanikoBuildJob`. */
export interface KanikoBuildJobProps extends BuildJobOptions {
  /**
   * The build context, from any source: `BuildContext.fromUrl()` (the classic Job YAMLs' `BUILD_CONTEXT_URL`), `fromGit()`,
   * `fromLocalDirectory()`, `fromConfigMap()`, `fromPersistentVolumeClaim()`, `fromS3()` or `fromGcs()`.
   */
  readonly context: BuildContext;

  /**
   * A registry layer cache. `cache: {}` caches in `<first destination's repository>/cache`.
   *
   * @default - no cache; every layer is rebuilt
   */
  readonly cache?: KanikoCacheOptions;

  /**
   * Extra kaniko flags, e.g. `['--compressed-caching=false']`. Flags this construct manages from its props
   * (context, dockerfile, destinations, digest files, build args, target, labels, cache, insecure registries)
   * are refused. A flag the construct sets as a default (`--snapshot-mode`, `--push-retry`,
   * `--image-download-retry`, `--skip-unused-stages`, `--log-format`, `--log-timestamp`, `--verbosity`)
   * replaces that default. `--ignore-path=/product_uuid` (a fix for kind clusters) is always set; more
   * `--ignore-path` flags add to it. Anything that is not a flag of the kaniko executor is refused, so a typo
   * fails at synth time rather than in the pod.
   *
   * @default - none
   */
  readonly extraArgs?: string[];

  /**
   * Target platforms as `linux/<arch>[/<variant>]`, each once, e.g. `['linux/amd64', 'linux/arm64']`. kaniko builds one
   * architecture per run, so this fans out into plain Jobs (no controller):
   *
   * - one kaniko Job per platform (`platformJobs`), named `<Job name>-<arch>[-<variant>]` (then the content hash, as
   *   every Job), scheduled on nodes labelled `kubernetes.io/arch: <arch>` and `kubernetes.io/os: linux`, built with
   *   `--custom-platform=<platform>` and pushed to `<first destination's tag>-<arch>[-<variant>]` in the first
   *   destination's repository (`platformReferences`), never promoted;
   * - the assembly Job (`job`, the one to watch): its `wait-for-platforms` init container polls the Kubernetes API
   *   until every per-platform Job is Complete and reads the exact digest from each Job's succeeded pod's termination
   *   message, then buildah adds each image by digest to one image index and pushes it (`manifest push --all`) to every
   *   destination; `promotion` copies that index by digest (`skopeo copy --all`).
   *
   * The assembly runs as a ServiceAccount of its own (synthesized with a Role and a RoleBinding): it may `get` exactly
   * the per-platform Jobs (by name) and `list` pods in the namespace, which exposes the pods' specs and statuses
   * (never Secret values: only their names). Only `wait-for-platforms` gets the token (a projected
   * `serviceAccountToken` with the namespace's `kube-root-ca.crt`); the pod keeps `automountServiceAccountToken: false`.
   * `serviceAccountName`, when set, is used by the per-platform Jobs only.
   *
   * The assembly's termination message holds `<destination>@<index digest>` per destination, then one line per
   * platform, `<os/arch[/variant]> <first destination's repository>@sha256:<manifest digest>`, whose first token has
   * no `@`. When one platform's Job fails (after its `backoffLimit`), the assembly ends Failed naming the platform and
   * its Job, nothing reaches the destinations, and the other per-platform tags may exist. Its `activeDeadline` bounds
   * the wait. To run again, delete the failed Jobs (their names are content-hashed: an unchanged build keeps them) and
   * re-apply. Every Job fits Pod Security `baseline`. `argoCd`, an architecture or OS `nodeSelector`, non-Linux
   * platforms and a `--custom-platform` in `extraArgs` are refused.
   *
   * @default - one kaniko Job for the node's platform (or a `--custom-platform` in `extraArgs`); a single image, no index
   */
  readonly platforms?: string[];
}

/**
 * Builds an image from a Dockerfile with kaniko, without Docker or privileged containers, and optionally
 * promotes the exact digest it pushed to final registries: the classic hand-written build Job (`build-from-context-job.yaml`), done right.
 *
 * Pod: [compose-*-auth] → [fetch-context] → kaniko (`build`), then with `promotion` a skopeo container
 * (`promote`). kaniko runs as root with no privilege escalation and RuntimeDefault seccomp: the pod fits
 * Pod Security `baseline`. It writes `<destination>@<digest>` lines to its termination message; the
 * promoter does the same for every final destination.
 */
export class KanikoBuildJob extends Construct implements IImageJob {
  /**
   * The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover. With
   * `platforms`, the assembly Job (see `platformJobs`).
   *
   * A cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses; `ApiObject.of(x.job).addJsonPatch(…)`
   * patches it from any version.
   */
  public readonly job: kplus.Job;

  /**
   * Every reference the Job pushes to, in push order: with `platforms`, where the image index goes (the per-platform
   * tags are in `platformReferences`).
   */
  public readonly imageReferences: ImageReference[];

  /** kaniko runs as root with no privilege escalation and RuntimeDefault seccomp: `baseline`. */
  public readonly podSecurityLevel = PodSecurityLevel.BASELINE;

  /** The references kaniko pushes to. */
  public readonly buildDestinations: ImageReference[];

  /** The references the image is promoted to (empty without `promotion`). */
  public readonly promotionDestinations: ImageReference[];

  /** The platforms of a fan-out, in the order given (empty: one kaniko Job, a single image). */
  public readonly platforms: string[];

  /**
   * With `platforms`, the per-platform kaniko Jobs in the order of `platforms` (`job` is then the assembly Job);
   * empty otherwise. Like `job`, each is an escape hatch: `ApiObject.of(x.platformJobs[i]).addJsonPatch(…)`.
   */
  public readonly platformJobs: kplus.Job[];

  /**
   * With `platforms`, what each per-platform Job pushes (`<first destination>-<arch>[-<variant>]`), in the order of
   * `platforms`; empty otherwise. These tags are not in `imageReferences`, which lists where the image index goes.
   */
  public readonly platformReferences: ImageReference[];

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props what to build and where to push it
   */
  constructor(scope: Construct, id: string, props: KanikoBuildJobProps) {
    super(scope, id);
    const context = checkBuildContext(props.context);
    const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    this.buildDestinations = parseDestinations('destinations', props.destinations);
    this.promotionDestinations = props.promotion ? parseDestinations('promotion.destinations', props.promotion.destinations) : [];
    this.imageReferences = [...this.buildDestinations, ...this.promotionDestinations];
    this.platforms = checkPlatforms(props.platforms ?? []);
    const cacheRepository = props.cache ? cacheRepositoryOf(props.cache.repository, this.buildDestinations[0], 'kaniko') : undefined;
    const inputs = { ...props, buildArgs: withCommit(props.buildArgs, props.commitSha), platformsManaged: this.platforms.length > 0 };
    const kaniko = kanikoFlags(inputs, cacheRepository ? [
      '--cache=true',
      `--cache-repo=${cacheRepository}`,
      ...(props.cache?.ttl ? [`--cache-ttl=${checkWholeSeconds('cache.ttl', props.cache.ttl, 1)}s`] : []),
    ] : []);
    const spec = {
      context, dockerfile, buildDestinations: this.buildDestinations, promotionDestinations: this.promotionDestinations, cacheRepository, kaniko,
    };

    if (this.platforms.length === 0) {
      this.job = addKanikoJob(this, props, spec).job;
      this.platformJobs = [];
      this.platformReferences = [];
    } else {
      const fanOut = addKanikoFanOut(this, props, { ...spec, platforms: this.platforms });
      this.job = fanOut.job;
      this.platformJobs = fanOut.platformJobs;
      this.platformReferences = fanOut.platformReferences;
    }
  }
}
