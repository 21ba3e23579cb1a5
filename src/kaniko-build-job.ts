import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { cacheRepositoryOf, checkBuildContext, DIGEST_FILE, finishBuildPod, prepareBuildPod, RESULTS_DIR, withCommit } from './_build';
import { kanikoFlags, kanikoGitTrust, kanikoTrust } from './_kaniko';
import { kplusResources } from './_kplus-props';
import { BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { parseDestinations } from './_refs';
import { checkRelativePath, checkWholeSeconds } from './_validate';
import { BuildContext, ContextBinding } from './build-context';
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
   * The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover.
   *
   * A cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses; `ApiObject.of(x.job).addJsonPatch(…)`
   * patches it from any version.
   */
  public readonly job: kplus.Job;

  /** Every reference the Job pushes to, in push order. */
  public readonly imageReferences: ImageReference[];

  /** kaniko runs as root with no privilege escalation and RuntimeDefault seccomp: `baseline`. */
  public readonly podSecurityLevel = PodSecurityLevel.BASELINE;

  /** The references kaniko pushes to. */
  public readonly buildDestinations: ImageReference[];

  /** The references the image is promoted to (empty without `promotion`). */
  public readonly promotionDestinations: ImageReference[];

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
    const cacheRepository = props.cache ? cacheRepositoryOf(props.cache.repository, this.buildDestinations[0], 'kaniko') : undefined;
    const kaniko = kanikoFlags({ ...props, buildArgs: withCommit(props.buildArgs, props.commitSha) }, cacheRepository ? [
      '--cache=true',
      `--cache-repo=${cacheRepository}`,
      ...(props.cache?.ttl ? [`--cache-ttl=${checkWholeSeconds('cache.ttl', props.cache.ttl, 1)}s`] : []),
    ] : []);

    const pod = new ImageJobPod(this, props, 'kaniko-build', this.podSecurityLevel);
    this.job = pod.job;
    const build = prepareBuildPod(pod, props, {
      context, dockerfile, buildDestinations: this.buildDestinations, promotionDestinations: this.promotionDestinations, cacheRepository,
    });
    const { first, firstEnv, firstReference, others, buildAuth, binding, results } = build;

    const value = kplus.EnvValue.fromValue;
    const trust = kanikoTrust(pod, [...this.buildDestinations.map(d => d.registry), ...(cacheRepository ? [cacheRepository.registry] : [])]);
    const gitTrust = kanikoGitTrust(pod, binding.git);
    const mounts: Mount[] = [...binding.mounts, { path: RESULTS_DIR, volume: results }, ...trust.mounts, ...gitTrust.mounts];
    if (buildAuth) {
      mounts.push({ path: '/kaniko/.docker', volume: buildAuth, readOnly: true });
    }
    const args = [
      ...kanikoContextArgs(binding),
      `--destination=${firstReference}`,
      ...others.map(d => `--destination=${d}`),
      `--digest-file=${DIGEST_FILE}`,
      '--image-name-with-digest-file=/dev/termination-log',
      ...trust.flags.map(escapeKubeletExpansion),
      ...kaniko.flags.map(escapeKubeletExpansion),
    ];
    pod.addContainer({
      name: 'build',
      image: pod.images.kaniko,
      command: ['/kaniko/executor'],
      args,
      env: [
        ['DOCKERFILE_PATH', value(dockerfile)],
        ...firstEnv,
        ['DOCKER_CONFIG', value('/kaniko/.docker')],
        ...binding.env,
        ...gitTrust.env,
      ],
      mounts,
      profile: ContainerProfile.ROOT_BUILDER,
      // kaniko's errors go to its log only
      messageFromLogsOnError: true,
      resources: kplusResources(props.resources, BUILDER_RESOURCES),
    }, props.promotion !== undefined);

    finishBuildPod(pod, props, build, !kaniko.insecureRegistries.includes(first.registry));
  }
}

/** kaniko's flags for a context: a prepared or mounted directory, its own `git://` clone, or an `s3://` / `gs://` archive. */
function kanikoContextArgs(binding: ContextBinding): string[] {
  if (binding.git) {
    const { url, ref, subPath } = binding.git;
    return [
      `--context=git://${url.replace(/^https:\/\//, '')}${gitFragment(ref)}`,
      // a bare branch or tag name: kaniko looks it up among the remote's branches, then its tags
      ...(ref && !ref.startsWith('refs/') && !COMMIT.test(ref) ? [`--git=branch=${ref}`] : []),
      ...(subPath ? [`--context-sub-path=${subPath}`] : []),
      // a relative --dockerfile is resolved inside the cloned context
      '--dockerfile=$(DOCKERFILE_PATH)',
    ];
  }
  if (binding.remote) {
    // kaniko downloads and unpacks the archive itself; the Dockerfile path is relative to it
    return [`--context=${binding.remote}`, '--dockerfile=$(DOCKERFILE_PATH)'];
  }
  return [`--context=dir://${binding.directory}`, `--dockerfile=${binding.directory}/$(DOCKERFILE_PATH)`];
}

const COMMIT = /^[a-f0-9]{40}$/;

/** kaniko's `#ref` or `#ref#commit` suffix: a full ref as is, a commit checked out after cloning the default branch. */
function gitFragment(ref: string | undefined): string {
  if (ref === undefined) {
    return '';
  }
  if (ref.startsWith('refs/')) {
    return `#${ref}`;
  }
  return COMMIT.test(ref) ? `#HEAD#${ref}` : '';
}
