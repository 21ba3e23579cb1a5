import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { provideCredentials } from './_credentials';
import { ImageJobPod } from './_pod';
import { PROMOTE_SCRIPT } from './_scripts';
import { addSkopeoContainer, Env, SKOPEO_RESOURCES } from './_skopeo';
import { flagSpellings, ToolFlags } from './_tool-flags';
import { checkEnvName, checkInteger, checkLabelKey, checkNoNul, checkTarget, invalid, sortedEntries } from './_validate';
import { BuildContext, BuildContextSource, ContextBinding } from './build-context';
import { BuildJobOptions } from './build-job-options';
import { ImageReference } from './image-reference';
import { PushDestinationOptions } from './push-destinations';

/**
 * Pieces every Dockerfile builder (`KanikoBuildJob`, `BuildahBuildJob`, the unified build) shares: context
 * and commit checks, the build-arg/target/label flags both tools spell the same way, the cache repository,
 * and the skopeo promoter that copies the digest the builder recorded.
 */

/** Where builders write the bare digest of what they pushed, for the promoter. */
export const RESULTS_DIR = '/results';
export const DIGEST_FILE = `${RESULTS_DIR}/digest`;

/** The build inputs both builders accept with the same flag spelling. */
export interface BuildInputs {
  readonly buildArgs?: { [key: string]: string };
  readonly target?: string;
  readonly labels?: { [key: string]: string };
}

/** Fails unless a context was given (jsii callers can pass null). */
export function checkBuildContext(context: BuildContext | undefined): BuildContext {
  if (!context) {
    invalid('context', context, 'expected a BuildContext such as BuildContext.fromUrl("https://…/context.tar.gz")');
  }
  return context;
}

/** The factory of each context source, in the order errors list them. */
const FACTORIES: [BuildContextSource, string][] = [
  [BuildContextSource.URL, 'fromUrl()'],
  [BuildContextSource.LOCAL_DIRECTORY, 'fromLocalDirectory()'],
  [BuildContextSource.CONFIG_MAP, 'fromConfigMap()'],
  [BuildContextSource.PERSISTENT_VOLUME_CLAIM, 'fromPersistentVolumeClaim()'],
  [BuildContextSource.GIT, 'fromGit()'],
  [BuildContextSource.S3, 'fromS3()'],
  [BuildContextSource.GCS, 'fromGcs()'],
];

/** The sources a builder reads as a directory in the pod: downloaded, unpacked or mounted. */
export const DIRECTORY_SOURCES = [
  BuildContextSource.URL, BuildContextSource.LOCAL_DIRECTORY, BuildContextSource.CONFIG_MAP, BuildContextSource.PERSISTENT_VOLUME_CLAIM,
];

/**
 * Fails unless `context` comes from one of `allowed`, in one line for every construct:
 * `context: got "<source>"; expected a context <construct> can use: BuildContext.fromX(), …`.
 */
export function requireContextSource(construct: string, context: BuildContext, allowed: BuildContextSource[]): BuildContext {
  if (!(context instanceof BuildContext) || !allowed.includes(context.source)) {
    refuseContextSource(construct, context, allowed);
  }
  return context;
}

/** The one-line refusal of `requireContextSource`, for a builder that found out while binding the context. */
export function refuseContextSource(construct: string, context: BuildContext, allowed: BuildContextSource[]): never {
  const names = FACTORIES.filter(([source]) => allowed.includes(source)).map(([, name]) => name);
  const others = FACTORIES.filter(([source]) => !allowed.includes(source)).map(([, name]) => name);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
  return invalid('context', context instanceof BuildContext ? context.source : context,
    `expected a context ${construct} can use: BuildContext.${list}${others.length > 0 ? `; KanikoBuildJob reads ${others.join(', ')} too` : ''}`);
}

/**
 * `--build-arg=K=V`, `--target=T` and `--label=K=V`, validated, keys sorted (kaniko and buildah parse these alike).
 * Values with a line break are refused: almost always an accident (a file read with its trailing newline),
 * invisible in the image config once built, and `UnifiedImageJob` passes kaniko flags one per line.
 */
export function buildInputFlags(inputs: BuildInputs): string[] {
  return [
    ...singleLines('buildArgs', sortedEntries('buildArgs', inputs.buildArgs, checkEnvName)).map(([k, v]) => `--build-arg=${k}=${v}`),
    ...(inputs.target !== undefined ? [`--target=${checkTarget('target', inputs.target)}`] : []),
    ...singleLines('labels', sortedEntries('labels', inputs.labels, checkLabelKey)).map(([k, v]) => `--label=${k}=${v}`),
  ];
}

/** Refuses a value with a line break (see `buildInputFlags`). */
export function singleLines(prop: string, entries: [string, string][]): [string, string][] {
  for (const [key, value] of entries) {
    if (/[\r\n]/.test(value)) {
      invalid(`${prop}.${key}`, value, 'expected a value without line breaks (trim a trailing newline; a multi-line label or build arg is refused by every builder here)');
    }
  }
  return entries;
}

/** Adds BUILD_COMMIT_SHA to the build args when the commit is known and the user did not set it. */
export function withCommit(buildArgs: { [key: string]: string } | undefined, commitSha: string | undefined): { [key: string]: string } | undefined {
  if (commitSha === undefined) {
    return buildArgs;
  }
  if (!/^[a-f0-9]{7,64}$/.test(commitSha)) {
    invalid('commitSha', commitSha, 'expected a commit SHA of lower-case hexadecimal characters');
  }
  return { BUILD_COMMIT_SHA: commitSha, ...buildArgs };
}

/** The cache repository: the one given, or `<first destination's repository>/cache`; never tagged. */
export function cacheRepositoryOf(repository: string | undefined, first: ImageReference, tool: string): ImageReference {
  const ref = ImageReference._parseFor('cache.repository', repository ?? `${first.name}/cache`);
  if (ref.tag || ref.digest) {
    invalid('cache.repository', repository, `expected a repository without tag or digest; ${tool} tags cached layers itself`);
  }
  return ref;
}

/**
 * The names of the build container's variables for its first destination. With a promotion it is the intermediate
 * registry, named as the classic build Job YAML names it; without, it is a final destination and the names say so
 * (an operator debugging in the cluster must not read a final registry as an intermediate one).
 */
export const INTERMEDIATE_NAMES = { registry: 'INTERMEDIATE_REGISTRY_URL', image: 'BUILD_IMAGE_NAME', tag: 'BUILD_IMAGE_TAG' };
export const DESTINATION_NAMES = { registry: 'DESTINATION_REGISTRY', image: 'DESTINATION_IMAGE_NAME', tag: 'DESTINATION_IMAGE_TAG' };

/** What a Dockerfile builder's pod holds before its build container is added. */
export interface BuildPod {
  /** The first destination (the intermediate one with a promotion, otherwise a final one). */
  readonly first: ImageReference;
  /** The first destination as the build container's variables (see INTERMEDIATE_NAMES, DESTINATION_NAMES). */
  readonly firstEnv: Env;
  /** The first destination as kubelet `$(VAR)` references to `firstEnv`, for a tool's arguments. */
  readonly firstReference: string;
  /** The other destinations. */
  readonly others: ImageReference[];
  /** The builder's docker config directory, undefined when anonymous. */
  readonly buildAuth?: kplus.Volume;
  /** Where the context is and what the builder mounts for it. */
  readonly binding: ContextBinding;
  /** The volume for RESULTS_DIR, where the builder writes DIGEST_FILE. */
  readonly results: kplus.Volume;
  /** The promotion destinations (empty without promotion). */
  readonly promotionDestinations: ImageReference[];
  /** The promotion credentials, undefined without promotion or when anonymous. */
  readonly promotionAuth?: kplus.Volume;
}

/** What `prepareBuildPod` needs besides the props. */
export interface BuildPodSpec {
  readonly context: BuildContext;
  readonly dockerfile: string;
  readonly buildDestinations: ImageReference[];
  readonly promotionDestinations: ImageReference[];
  readonly cacheRepository?: ImageReference;
}

/**
 * Adds what every Dockerfile builder's pod shares, in a fixed order (so the YAML is stable): the build and
 * promotion credentials, the bound context and the results volume.
 */
export function prepareBuildPod(pod: ImageJobPod, props: BuildJobOptions, spec: BuildPodSpec): BuildPod {
  const [first, ...others] = spec.buildDestinations;
  const { buildAuth, promotionAuth } = provideBuildCredentials(pod, props, spec.buildDestinations, spec.promotionDestinations, spec.cacheRepository);
  const binding = spec.context._bind(pod, { workspaceSizeLimit: props.contextSizeLimit ?? Size.gibibytes(2), dockerfile: spec.dockerfile });
  const results = pod.emptyDir('results', Size.mebibytes(1));
  const { firstEnv, firstReference } = firstDestinationEnv(first, props.promotion !== undefined);
  return { first, firstEnv, firstReference, others, buildAuth, promotionDestinations: spec.promotionDestinations, promotionAuth, binding, results };
}

/** The credentials of a builder's pod: for its destinations (and cache), and for the promotion's destinations. */
export function provideBuildCredentials(
  pod: ImageJobPod, props: BuildJobOptions, buildDestinations: ImageReference[], promotionDestinations: ImageReference[],
  cacheRepository?: ImageReference,
): { buildAuth?: kplus.Volume; promotionAuth?: kplus.Volume } {
  const cache = cacheRepository ? [{ prop: 'cache.repository', registry: cacheRepository.registry }] : [];
  const buildAuth = provideCredentials(pod, props.credentials, 'build', buildDestinations.map(d => d.registry), cache);
  const promotionAuth = props.promotion
    ? provideCredentials(pod, props.promotion.credentials, 'promotion', promotionDestinations.map(d => d.registry))
    : undefined;
  return { buildAuth, promotionAuth };
}

/** The first destination as the build container's variables (see INTERMEDIATE_NAMES) and as kubelet references to them. */
export function firstDestinationEnv(first: ImageReference, promoted: boolean): { firstEnv: Env; firstReference: string } {
  const names = promoted ? INTERMEDIATE_NAMES : DESTINATION_NAMES;
  const value = kplus.EnvValue.fromValue;
  return {
    firstEnv: [[names.registry, value(first.registry)], [names.image, value(first.repository)], [names.tag, value(first.tag!)]],
    firstReference: `$(${names.registry})/$(${names.image}):$(${names.tag})`,
  };
}

/** What the promoter needs from a builder's pod. */
export type PromotedBuild = Pick<BuildPod, 'first' | 'buildAuth' | 'promotionDestinations' | 'promotionAuth' | 'results'>;

/**
 * Ends a Dockerfile builder's pod: with `promotion`, the promoter copies the recorded digest (the builder
 * was added as an init container), and it becomes the default container; without, `builder` is.
 */
export function finishBuildPod(
  pod: ImageJobPod, props: BuildJobOptions, build: PromotedBuild, sourceTlsVerify: boolean, builder = 'build',
): void {
  if (props.promotion) {
    addPromotion(pod, {
      promotion: props.promotion,
      first: build.first,
      destinations: build.promotionDestinations,
      sourceTlsVerify,
      sourceAuth: build.buildAuth,
      destinationAuth: build.promotionAuth,
      results: build.results,
    });
  }
  pod.setDefaultContainer(props.promotion ? 'promote' : builder);
}

/** What the promoter needs from a builder. */
interface PromotionSpec {
  readonly promotion: PushDestinationOptions;
  /** The builder's first destination: the promotion copies `<its repository>@<recorded digest>`. */
  readonly first: ImageReference;
  readonly destinations: ImageReference[];
  readonly sourceTlsVerify: boolean;
  readonly sourceAuth?: kplus.Volume;
  readonly destinationAuth?: kplus.Volume;
  /** The volume mounted at RESULTS_DIR, holding DIGEST_FILE. */
  readonly results: kplus.Volume;
}

/** Adds the `promote` container: skopeo copies the digest in DIGEST_FILE to every promotion destination. */
function addPromotion(pod: ImageJobPod, spec: PromotionSpec): void {
  const value = kplus.EnvValue.fromValue;
  addSkopeoContainer(pod, {
    name: 'promote',
    script: PROMOTE_SCRIPT,
    sourceEnv: [
      [INTERMEDIATE_NAMES.registry, value(spec.first.registry)],
      [INTERMEDIATE_NAMES.image, value(spec.first.repository)],
      [INTERMEDIATE_NAMES.tag, value(spec.first.tag!)],
      ['SOURCE_DIGEST_FILE', value(DIGEST_FILE)],
    ],
    sourceRegistry: spec.first.registry,
    destinations: spec.destinations,
    settings: {
      copyAllPlatforms: true,
      preserveDigests: true,
      retryTimes: checkInteger('promotion.retryTimes', spec.promotion.retryTimes ?? 3, 0, 100),
      sourceTlsVerify: spec.sourceTlsVerify,
      destinationTlsVerify: spec.promotion.destinationTlsVerify ?? true,
      sourceAuth: spec.sourceAuth,
      destinationAuth: spec.destinationAuth,
    },
    resources: SKOPEO_RESOURCES,
    tmpSizeLimit: Size.gibibytes(1),
    extraMounts: [{ path: RESULTS_DIR, volume: spec.results, readOnly: true }],
  });
}

/**
 * Refuses flags that are not flags of the tool (`tool`, from `_tool-flags`) and flags a construct manages
 * (`managed` maps each to the prop that sets it), and returns the default flags the user overrides; a default may
 * be overridden once. Arguments not starting with "-" and a letter are values of the flag before them.
 */
export function checkExtraArgs(
  extraArgs: string[], tool: ToolFlags, managed: { [flag: string]: string }, defaults: string[], example: string,
): Set<string> {
  const overridden = new Set<string>();
  const known = flagSpellings(tool);
  extraArgs.forEach((arg, i) => {
    if (typeof arg !== 'string' || arg.length === 0) {
      invalid(`extraArgs[${i}]`, arg, `expected a non-empty string such as "${example}"`);
    }
    checkNoNul(`extraArgs[${i}]`, arg);
    if (!/^--?[A-Za-z]/.test(arg)) {
      return; // the value of the previous flag
    }
    const flag = arg.split('=')[0];
    const owner = managed[flag];
    if (owner) {
      invalid(`extraArgs[${i}]`, arg, `expected a flag this construct does not manage; ${flag} is set from ${owner}`);
    }
    if (!known.has(flag)) {
      invalid(`extraArgs[${i}]`, arg, `expected a flag of ${tool.tool}; ${flag} is not one (flags as of ${tool.source})`);
    }
    if (defaults.includes(flag)) {
      if (overridden.has(flag)) {
        invalid(`extraArgs[${i}]`, arg, `expected ${flag} at most once`);
      }
      overridden.add(flag);
    }
  });
  return overridden;
}
