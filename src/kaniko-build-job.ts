import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { provideCredentials } from './_credentials';
import { BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { addPromoter, SKOPEO_RESOURCES } from './_promotion';
import { parseDestinations } from './_refs';
import { checkEnvName, checkInteger, checkLabelKey, checkRegistryHost, checkRelativePath, checkTarget, checkWholeSeconds, invalid, sortedEntries } from './_validate';
import { BuildContext, ContextBinding } from './build-context';
import { IImageJob, ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { RegistryCredentials } from './registry-credentials';

/** Registry layer cache for kaniko (`--cache=true --cache-repo`). */
export interface KanikoCacheOptions {
  /**
   * The repository that holds cached layers, e.g. `registry.internal:5000/build/api-cache`. Always explicit:
   * some registries (ECR) reject the nested `<destination>/cache` kaniko would infer.
   */
  readonly repository: string;

  /**
   * How long a cached layer stays valid (`--cache-ttl`).
   *
   * @default - kaniko's default, two weeks (336h)
   */
  readonly ttl?: Duration;
}

/** Copies the built image, by digest, to its final registries. */
export interface KanikoPromotionOptions {
  /** Final destinations, each with a tag, e.g. `harbor.example.com/platform/api:1.4.0`. */
  readonly destinations: string[];

  /**
   * Credentials for the final destinations.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly credentials?: RegistryCredentials;

  /**
   * How often skopeo retries a failed registry operation (`--retry-times`).
   *
   * @default 3
   */
  readonly retryTimes?: number;

  /**
   * Require https with a verified certificate for the final destinations.
   *
   * @default true
   */
  readonly destinationTlsVerify?: boolean;
}

/** Props of `KanikoBuildJob`. */
export interface KanikoBuildJobProps extends ImageJobOptions {
  /** The build context: `BuildContext.fromUrl()` (seed 000's `BUILD_CONTEXT_URL`) or `BuildContext.fromGit()`. */
  readonly context: BuildContext;

  /**
   * The Dockerfile's path relative to the context root (seed 000's `DOCKERFILE_PATH`).
   *
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;

  /**
   * Where kaniko pushes the image, each with a tag. The first travels in seed 000's
   * `INTERMEDIATE_REGISTRY_URL` / `BUILD_IMAGE_NAME` / `BUILD_IMAGE_TAG`; every one is pushed.
   */
  readonly destinations: string[];

  /**
   * Credentials for the destinations (and for private base images and the cache).
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly credentials?: RegistryCredentials;

  /**
   * Build arguments (`--build-arg KEY=VALUE`). Values are visible in the Job YAML: never pass secrets here.
   *
   * @default - none
   */
  readonly buildArgs?: { [key: string]: string };

  /**
   * The Dockerfile stage to build (`--target`).
   *
   * @default - the last stage
   */
  readonly target?: string;

  /**
   * Labels written into the image config (`--label KEY=VALUE`), e.g. `org.opencontainers.image.revision`.
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * A registry layer cache.
   *
   * @default - no cache; every layer is rebuilt
   */
  readonly cache?: KanikoCacheOptions;

  /**
   * Registries (`host[:port]`) reached over plain http (`--insecure-registry`). When the first destination's
   * registry is listed, the promotion also reads it without TLS.
   *
   * @default - every registry uses https with a verified certificate
   */
  readonly insecureRegistries?: string[];

  /**
   * Extra kaniko flags, e.g. `['--compressed-caching=false']`. Flags this construct manages from its props
   * (context, dockerfile, destinations, digest files, build args, target, labels, cache, insecure registries)
   * are refused. A flag the construct sets as a default (`--snapshot-mode`, `--push-retry`,
   * `--image-download-retry`, `--skip-unused-stages`, `--log-format`, `--log-timestamp`, `--verbosity`)
   * replaces that default. `--ignore-path=/product_uuid` (a fix for kind clusters) is always set; more
   * `--ignore-path` flags add to it.
   *
   * @default - none
   */
  readonly extraArgs?: string[];

  /**
   * Promote the built image by digest to final registries. kaniko then runs as an init container and a
   * skopeo container copies `<first destination>@<digest kaniko recorded>` to every promotion destination.
   *
   * @default - no promotion; kaniko is the main container
   */
  readonly promotion?: KanikoPromotionOptions;

  /**
   * Size limit of the emptyDir holding a downloaded context (archive and unpacked files).
   *
   * @default Size.gibibytes(2)
   */
  readonly contextSizeLimit?: Size;
}

/** kaniko defaults for builds in a Job (see docs: redo snapshots, retries, plain-text logs). */
const KANIKO_DEFAULT_FLAGS: [string, string][] = [
  ['--snapshot-mode', 'redo'],
  ['--push-retry', '3'],
  ['--image-download-retry', '3'],
  ['--skip-unused-stages', 'true'],
  ['--log-format', 'text'],
  ['--log-timestamp', 'true'],
  ['--verbosity', 'info'],
];

/** Flags owned by props; `extraArgs` may not set them. */
const KANIKO_MANAGED_FLAGS: { [flag: string]: string } = {
  '--context': 'context',
  '-c': 'context',
  '--context-sub-path': 'context',
  '--dockerfile': 'dockerfile',
  '-f': 'dockerfile',
  '--destination': 'destinations',
  '-d': 'destinations',
  '--no-push': 'destinations',
  '--tar-path': 'destinations',
  '--digest-file': 'the digest contract',
  '--image-name-with-digest-file': 'the digest contract',
  '--image-name-tag-with-digest-file': 'the digest contract',
  '--build-arg': 'buildArgs',
  '--target': 'target',
  '--label': 'labels',
  '--cache': 'cache',
  '--cache-repo': 'cache',
  '--cache-ttl': 'cache',
  '--insecure-registry': 'insecureRegistries',
};

const DIGEST_FILE = '/results/digest';

/**
 * Builds an image from a Dockerfile with kaniko, without Docker or privileged containers, and optionally
 * promotes the exact digest it pushed to final registries: seed 000's `build-from-context-job.yaml`, done right.
 *
 * Pod: [compose-*-auth] → [fetch-context] → kaniko (`build`), then with `promotion` a skopeo container
 * (`promote`). kaniko runs as root with no privilege escalation and RuntimeDefault seccomp: the pod fits
 * Pod Security `baseline`. It writes `<destination>@<digest>` lines to its termination message; the
 * promoter does the same for every final destination.
 */
export class KanikoBuildJob extends Construct implements IImageJob {
  /** The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover. */
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
    if (!props.context) {
      invalid('context', props.context, 'expected a BuildContext such as BuildContext.fromUrl("https://…/context.tar.gz")');
    }
    const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    this.buildDestinations = parseDestinations('destinations', props.destinations);
    this.promotionDestinations = props.promotion ? parseDestinations('promotion.destinations', props.promotion.destinations) : [];
    this.imageReferences = [...this.buildDestinations, ...this.promotionDestinations];
    const insecureRegistries = (props.insecureRegistries ?? []).map((host, i) => checkRegistryHost(`insecureRegistries[${i}]`, host));
    const cacheRepository = props.cache ? checkCache(props.cache) : undefined;
    const flagArgs = [
      ...sortedEntries('buildArgs', props.buildArgs, checkEnvName).map(([k, v]) => `--build-arg=${k}=${v}`),
      ...(props.target !== undefined ? [`--target=${checkTarget('target', props.target)}`] : []),
      ...sortedEntries('labels', props.labels, checkLabelKey).map(([k, v]) => `--label=${k}=${v}`),
    ];
    const extraArgs = props.extraArgs ?? [];
    const overridden = checkExtraArgs(extraArgs);

    const pod = new ImageJobPod(this, props, 'kaniko-build', this.podSecurityLevel);
    this.job = pod.job;
    const [first, ...others] = this.buildDestinations;

    const buildRegistries = [...this.buildDestinations.map(d => d.registry), ...(cacheRepository ? [cacheRepository.registry] : [])];
    const buildAuth = provideCredentials(pod, props.credentials ?? RegistryCredentials.anonymous(), 'build', buildRegistries);
    const promotionAuth = props.promotion
      ? provideCredentials(pod, props.promotion.credentials ?? RegistryCredentials.anonymous(), 'promotion', this.promotionDestinations.map(d => d.registry))
      : undefined;
    const binding = props.context._bind(pod, { workspaceSizeLimit: props.contextSizeLimit ?? Size.gibibytes(2), dockerfile });

    const results = pod.emptyDir('results', Size.mebibytes(1));
    const value = kplus.EnvValue.fromValue;
    const mounts: Mount[] = [...binding.mounts, { path: '/results', volume: results }];
    if (buildAuth) {
      mounts.push({ path: '/kaniko/.docker', volume: buildAuth, readOnly: true });
    }
    const args = [
      ...kanikoContextArgs(binding),
      '--destination=$(INTERMEDIATE_REGISTRY_URL)/$(BUILD_IMAGE_NAME):$(BUILD_IMAGE_TAG)',
      ...others.map(d => `--destination=${d}`),
      `--digest-file=${DIGEST_FILE}`,
      '--image-name-with-digest-file=/dev/termination-log',
      ...flagArgs.map(escapeKubeletExpansion),
      ...(cacheRepository ? ['--cache=true', `--cache-repo=${cacheRepository}`] : []),
      ...(props.cache?.ttl ? [`--cache-ttl=${checkWholeSeconds('cache.ttl', props.cache.ttl, 1)}s`] : []),
      ...insecureRegistries.map(host => `--insecure-registry=${host}`),
      ...KANIKO_DEFAULT_FLAGS.filter(([flag]) => !overridden.has(flag)).map(([flag, v]) => `${flag}=${v}`),
      '--ignore-path=/product_uuid',
      ...extraArgs.map(escapeKubeletExpansion),
    ];
    pod.addContainer({
      name: 'build',
      image: pod.images.kaniko,
      command: ['/kaniko/executor'],
      args,
      env: [
        ['DOCKERFILE_PATH', value(dockerfile)],
        ['INTERMEDIATE_REGISTRY_URL', value(first.registry)],
        ['BUILD_IMAGE_NAME', value(first.repository)],
        ['BUILD_IMAGE_TAG', value(first.tag!)],
        ['DOCKER_CONFIG', value('/kaniko/.docker')],
      ],
      mounts,
      profile: ContainerProfile.ROOT_BUILDER,
      resources: props.resources ?? BUILDER_RESOURCES,
    }, props.promotion !== undefined);

    if (props.promotion) {
      addPromoter(pod, {
        name: 'promote',
        sourceEnv: [
          ['INTERMEDIATE_REGISTRY_URL', value(first.registry)],
          ['BUILD_IMAGE_NAME', value(first.repository)],
          ['BUILD_IMAGE_TAG', value(first.tag!)],
          ['SOURCE_DIGEST_FILE', value(DIGEST_FILE)],
        ],
        destinations: this.promotionDestinations,
        sourceAuth: buildAuth,
        destinationAuth: promotionAuth,
        copyAllPlatforms: true,
        preserveDigests: true,
        retryTimes: checkInteger('promotion.retryTimes', props.promotion.retryTimes ?? 3, 0, 100),
        sourceTlsVerify: !insecureRegistries.includes(first.registry),
        destinationTlsVerify: props.promotion.destinationTlsVerify ?? true,
        resources: SKOPEO_RESOURCES,
        extraMounts: [{ path: '/results', volume: results, readOnly: true }],
      });
    }
    pod.setDefaultContainer(props.promotion ? 'promote' : 'build');
  }
}

/** kaniko's flags for a context: a prepared directory, or its own `git://` clone. */
function kanikoContextArgs(binding: ContextBinding): string[] {
  if (binding.git) {
    const { url, ref, subPath } = binding.git;
    return [
      `--context=git://${url.replace(/^https:\/\//, '')}${ref ? `#${ref}` : ''}`,
      ...(subPath ? [`--context-sub-path=${subPath}`] : []),
      // a relative --dockerfile is resolved inside the cloned context
      '--dockerfile=$(DOCKERFILE_PATH)',
    ];
  }
  return [`--context=dir://${binding.directory}`, `--dockerfile=${binding.directory}/$(DOCKERFILE_PATH)`];
}

function checkCache(cache: KanikoCacheOptions): ImageReference {
  if (!cache.repository) {
    invalid('cache.repository', cache.repository, 'expected a repository for cached layers, e.g. "registry.internal:5000/build/api-cache"');
  }
  const ref = ImageReference._parseFor('cache.repository', cache.repository);
  if (ref.tag || ref.digest) {
    invalid('cache.repository', cache.repository, 'expected a repository without tag or digest; kaniko tags cached layers itself');
  }
  return ref;
}

/** Refuses managed flags and returns the default flags the user overrides. */
function checkExtraArgs(extraArgs: string[]): Set<string> {
  const overridden = new Set<string>();
  const defaults = new Set(KANIKO_DEFAULT_FLAGS.map(([flag]) => flag));
  extraArgs.forEach((arg, i) => {
    if (typeof arg !== 'string' || arg.length === 0) {
      invalid(`extraArgs[${i}]`, arg, 'expected a non-empty string such as "--compressed-caching=false"');
    }
    if (!arg.startsWith('-')) {
      return; // the value of the previous flag
    }
    const flag = arg.split('=')[0];
    const owner = KANIKO_MANAGED_FLAGS[flag];
    if (owner) {
      invalid(`extraArgs[${i}]`, arg, `expected a flag this construct does not manage; ${flag} is set from ${owner}`);
    }
    if (defaults.has(flag)) {
      if (overridden.has(flag)) {
        invalid(`extraArgs[${i}]`, arg, `expected ${flag} at most once`);
      }
      overridden.add(flag);
    }
  });
  return overridden;
}
