import { readdirSync, realpathSync } from 'fs';
import { basename, join } from 'path';
import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { cacheRepositoryOf, withCommit } from './_build';
import { provideCredentials } from './_credentials';
import { checkJobName } from './_job-name';
import { kanikoFlags, kanikoTrust } from './_kaniko';
import { kplusResources } from './_kplus-props';
import { BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { combineDestinations } from './_refs';
import { FETCH_CONTEXT_SCRIPT, KANIKO_INDEXED_BUILD_SCRIPT } from './_scripts';
import { byBytes, isDirectory, isFile } from './_tar';
import { checkInteger, checkRelativePath, checkWholeSeconds, invalid, TEMPLATE_FIELD } from './_validate';
import { BuildContext } from './build-context';
import { ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { ImageTag, ImageTagValues } from './image-tag';
import { KanikoBuildJob, KanikoCacheOptions } from './kaniko-build-job';
import { RegistryCredentials } from './registry-credentials';

/** How `KanikoBuildBatch` lays its builds out. */
export enum KanikoBatchShape {
  /** One `KanikoBuildJob` per context: independent Jobs, each retried and inspected on its own. */
  JOBS = 'jobs',
  /**
   * One Indexed Job (`completionMode: Indexed`): pod `i` builds context `i` (by `JOB_COMPLETION_INDEX`),
   * at most `parallelism` at a time, spread over the cluster by the scheduler.
   */
  INDEXED = 'indexed',
}

/** Props of `KanikoBuildBatch`. */
export interface KanikoBuildBatchProps extends ImageJobOptions {
  /**
   * A directory whose sub-directories are build contexts (the `Docker/` directory of a monorepo built with
   * kaniko). Every direct sub-directory is a context and must hold a recognised file (see `dockerfile`) or be
   * listed in `skip`: a directory that is neither fails the synthesis, and the error lists every such directory
   * and why. Plain files in the directory are not contexts and are ignored.
   *
   * @default - only `contexts`
   */
  readonly contextsDirectory?: string;

  /**
   * The context directories to build, instead of discovering them: paths relative to `contextsDirectory`
   * when it is set, otherwise to the working directory of the synthesis. Each must hold a recognised file
   * (see `dockerfile`).
   *
   * @default - every sub-directory of `contextsDirectory` not listed in `skip`
   */
  readonly contexts?: string[];

  /**
   * Sub-directories of `contextsDirectory` that are not build contexts (documentation, shared files), by
   * name. Each must exist. Only with discovery: refused together with `contexts`.
   *
   * @default - every sub-directory is a context
   */
  readonly skip?: string[];

  /**
   * Settings of single contexts, keyed by directory name (as in `contextNames`), e.g.
   * `{ legacy: { dockerfile: 'build/Dockerfile.legacy', tags: ['1.9'] } }`. A key that names no context fails.
   *
   * @default - every context uses the batch's settings
   */
  readonly contextOverrides?: { [directory: string]: KanikoBatchContextOptions };

  /** Registry hosts every image is pushed to, e.g. `['harbor.example.com']`. */
  readonly registries: string[];

  /**
   * The repository path before each image name, e.g. `vcity/grim`.
   *
   * @default - the image name is the whole repository
   */
  readonly repositoryPrefix?: string;

  /**
   * Tags of every image. Each may be an `ImageTag` template such as `v{{date}}-{{shortSha}}`, rendered once
   * with `tagValues`.
   */
  readonly tags: string[];

  /**
   * Values for the tag templates.
   *
   * @default - CI variables, then git (see `ImageTagValues`)
   */
  readonly tagValues?: ImageTagValues;

  /**
   * The image name of a context: a template with `{{name}}` (the directory name, lower-cased and reduced to
   * the characters a repository allows), `{{directory}}` (the directory name as is) and `{{env:NAME}}`.
   *
   * @default "{{name}}"
   */
  readonly imageNameFor?: string;

  /**
   * The Dockerfile's path inside every context (a context's `contextOverrides` entry may still name its own).
   *
   * @default - discovered in each context: the one of `Dockerfile`, `dockerfile` (kaniko's
   * `--dockerfile=dockerfile` in a monorepo) and `Containerfile` (podman, buildah) that it holds. A context
   * holding two of them fails unless they are the same file (a symlink); name one in `contextOverrides`.
   */
  readonly dockerfile?: string;

  /**
   * `.dockerignore` patterns added to each context's own `.dockerignore`.
   *
   * @default - only each context's `.dockerignore`
   */
  readonly exclude?: string[];

  /**
   * The largest packed archive of each context, in bytes (see `LocalDirectoryBuildContextOptions.maxArchiveBytes`):
   * raise it up to `BuildContext.LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES` when the ConfigMaps are applied server-side.
   *
   * @default BuildContext.LOCAL_DIRECTORY_MAX_BYTES (184 KiB, safe for plain `kubectl apply`)
   */
  readonly maxArchiveBytes?: number;

  /**
   * Credentials for the registries and the cache, each only for its own registries (see
   * `BuildJobOptions.credentials`). For private base images the `config.json` needs their registry too: list
   * it in the docker-config Secret's `auths`, or in `fromUsernamePassword()`'s `additionalRegistries`.
   *
   * @default RegistryCredentials.anonymous()
   */
  readonly credentials?: RegistryCredentials;

  /**
   * A registry layer cache, per image (`<first destination's repository>/cache`) unless a shared
   * `repository` is given.
   *
   * @default - no cache
   */
  readonly cache?: KanikoCacheOptions;

  /**
   * Build arguments for every context.
   *
   * @default - none
   */
  readonly buildArgs?: { [key: string]: string };

  /**
   * Image labels for every context.
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * Registries reached over plain http (`--insecure-registry`).
   *
   * @default - every registry uses https with a verified certificate
   */
  readonly insecureRegistries?: string[];

  /**
   * Extra kaniko flags for every build (see `KanikoBuildJobProps.extraArgs`).
   *
   * @default - none
   */
  readonly extraArgs?: string[];

  /**
   * The commit the images are built from: the `BUILD_COMMIT_SHA` build arg and the manifest annotation
   * `org.opencontainers.image.revision`.
   *
   * @default - the commit a tag template used, otherwise none
   */
  readonly commitSha?: string;

  /**
   * The source repository's URL, written as every image's `org.opencontainers.image.source` annotation
   * (see `BuildJobOptions.sourceUrl`).
   *
   * @default - no source annotation
   */
  readonly sourceUrl?: string;

  /**
   * Every image's `org.opencontainers.image.created` annotation (see `BuildJobOptions.imageCreated`).
   *
   * @default - no annotation; Kargo orders by the build time kaniko writes into the image config
   */
  readonly imageCreated?: string;

  /**
   * One Job per context, or one Indexed Job for all.
   *
   * @default KanikoBatchShape.JOBS
   */
  readonly shape?: KanikoBatchShape;

  /**
   * INDEXED only: how many contexts build at once. Separate Jobs (JOBS) all start when applied, so it is
   * refused there. With INDEXED, `backoffLimit` counts failed pods across all contexts.
   *
   * @default 2
   */
  readonly parallelism?: number;

  /**
   * Size limit of each pod's workspace (the unpacked context).
   *
   * @default Size.gibibytes(2)
   */
  readonly contextSizeLimit?: Size;
}

/** Settings of one context of a `KanikoBuildBatch` (see `KanikoBuildBatchProps.contextOverrides`). */
export interface KanikoBatchContextOptions {
  /**
   * The Dockerfile's path inside this context.
   *
   * @default - the batch's `dockerfile`, else the file discovered in the context
   */
  readonly dockerfile?: string;

  /**
   * Build arguments of this context, added to the batch's `buildArgs` (a key given in both takes this value).
   * Only with `KanikoBatchShape.JOBS`: the Indexed pods share one set of kaniko flags.
   *
   * @default - the batch's `buildArgs`
   */
  readonly buildArgs?: { [key: string]: string };

  /**
   * Tags of this context's image, instead of the batch's `tags`; templates as in `tags`.
   *
   * @default - the batch's `tags`
   */
  readonly tags?: string[];

  /**
   * This context's image name (under `repositoryPrefix`), instead of rendering `imageNameFor`.
   *
   * @default - `imageNameFor` rendered for the directory
   */
  readonly imageName?: string;
}

/** The file names discovery recognises, in the order the documentation gives. */
const RECOGNISED_DOCKERFILES = ['Dockerfile', 'dockerfile', 'Containerfile'];

/** One context of the batch. */
interface Planned {
  readonly directory: string;
  readonly name: string;
  readonly dockerfile: string;
  readonly context: BuildContext;
  readonly imageName: string;
  readonly destinations: string[];
  readonly buildArgs?: { [key: string]: string };
}

const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * A monorepo's build contexts: every context under a directory, built and pushed by kaniko without Docker on the
 * machine that synthesizes. Each context is packed like `BuildContext.fromLocalDirectory()` into its own
 * ConfigMap; the images share registries, tags, credentials and cache settings, and each gets its own name
 * (`imageNameFor`); `contextOverrides` changes one context's Dockerfile, build args, tags or image name.
 *
 * Discovery builds every sub-directory of `contextsDirectory` with its `Dockerfile`, `dockerfile` or
 * `Containerfile`; a sub-directory with none of them (or two different ones) fails the synthesis, listed with
 * every other such directory and why, unless it is in `skip`. Nothing is left out silently.
 *
 * Two shapes: JOBS composes one `KanikoBuildJob` per context; INDEXED is a single Job with one completion
 * per context, whose pods unpack the context at their `JOB_COMPLETION_INDEX` and run kaniko's debug image
 * (it needs a shell to pick that context's destinations). Both fit Pod Security `baseline`.
 *
 * Job names (`name`): with JOBS, a base or exact name gets `-<image name>` per Job; with INDEXED the one Job's
 * name has no "." and leaves room for its pods' hostnames `<name>-<last index>` (checked at synth time).
 */
export class KanikoBuildBatch extends Construct {
  /** Every image reference the batch pushes, context by context. */
  public readonly plannedImages: string[];

  /** The context directory names, in build (and index) order. */
  public readonly contextNames: string[];

  /** The image name of each context, in the order of `contextNames`. */
  public readonly imageNames: string[];

  /**
   * The Jobs: one per context (JOBS) or one (INDEXED).
   *
   * cdk8s-plus-28 `Job`s whatever cdk8s-plus version your app uses; `ApiObject.of(job).addJsonPatch(…)` patches
   * them from any version.
   */
  public readonly jobs: kplus.Job[];

  /** The shape of the batch. */
  public readonly shape: KanikoBatchShape;

  /** kaniko runs as root with no privilege escalation and RuntimeDefault seccomp: `baseline`. */
  public readonly podSecurityLevel = PodSecurityLevel.BASELINE;

  /**
   * @param scope the chart or construct to add the Jobs to
   * @param id the construct id; it is part of every generated name, so keep it stable
   * @param props the contexts and where their images go
   */
  constructor(scope: Construct, id: string, props: KanikoBuildBatchProps) {
    super(scope, id);
    this.shape = props.shape ?? KanikoBatchShape.JOBS;
    if (!Object.values(KanikoBatchShape).includes(this.shape)) {
      invalid('shape', this.shape, 'expected KanikoBatchShape.JOBS or KanikoBatchShape.INDEXED');
    }
    if (this.shape === KanikoBatchShape.JOBS && props.parallelism !== undefined) {
      invalid('parallelism', props.parallelism, 'expected no parallelism with KanikoBatchShape.JOBS: separate Jobs all start when applied; use KanikoBatchShape.INDEXED');
    }
    const dockerfile = props.dockerfile !== undefined ? checkRelativePath('dockerfile', props.dockerfile) : undefined;
    const overrides = props.contextOverrides ?? {};
    const tags = checkTags('tags', props.tags, props.tagValues);
    const overrideTags = Object.entries(overrides).flatMap(([name, o]) => o.tags !== undefined ? checkTags(`contextOverrides.${name}.tags`, o.tags, props.tagValues) : []);
    const commitSha = props.commitSha ?? [...tags, ...overrideTags].filter(t => t._usesCommit).map(t => t.commitSha).find(sha => sha !== undefined);
    const planned = this.plan(props, dockerfile, tags.map(String));
    this.contextNames = planned.map(p => p.name);
    this.imageNames = planned.map(p => p.imageName);
    this.plannedImages = planned.flatMap(p => p.destinations);

    if (this.shape === KanikoBatchShape.JOBS) {
      this.jobs = planned.map(p => new KanikoBuildJob(this, kubernetesSafe(p.imageName), {
        ...props,
        name: checkJobName(props.name)?._withSuffix(kubernetesSafe(p.imageName)),
        context: p.context,
        dockerfile: p.dockerfile,
        buildArgs: p.buildArgs,
        destinations: p.destinations,
        commitSha,
      }).job);
    } else {
      this.jobs = [this.indexedJob(props, planned, commitSha)];
    }
  }

  /** Finds the contexts, packs them, names their images and checks no two share a name. */
  private plan(props: KanikoBuildBatchProps, dockerfile: string | undefined, tags: string[]): Planned[] {
    const overrides = props.contextOverrides ?? {};
    const directories = props.contexts !== undefined
      ? explicitContexts(props, dockerfile)
      : discoverContexts(props, dockerfile);
    const names = new Set(directories.map(d => basename(d.directory)));
    for (const key of Object.keys(overrides).sort(byBytes)) {
      if (!names.has(key)) {
        invalid(`contextOverrides.${key}`, overrides[key], `names no context; expected one of ${JSON.stringify([...names])}`);
      }
    }
    const template = props.imageNameFor ?? '{{name}}';
    const prefix = checkRepositoryPrefix(props.repositoryPrefix);
    const seen = new Map<string, string>();
    // JOBS: each image name is also a construct id and a Job name part, where only "-" survives
    const seenIds = new Map<string, { name: string; imageName: string }>();
    return directories.map(({ directory, dockerfile: found }) => {
      const name = basename(directory);
      const override = overrides[name] ?? {};
      const imageName = override.imageName !== undefined
        ? checkImageName(`contextOverrides.${name}.imageName`, override.imageName)
        : renderImageName(template, name);
      const previous = seen.get(imageName);
      if (previous !== undefined) {
        invalid('imageNameFor', template, `contexts "${previous}" and "${name}" both map to the image name "${imageName}"; rename a directory or use a template that tells them apart`);
      }
      seen.set(imageName, name);
      if (this.shape === KanikoBatchShape.JOBS) {
        const id = kubernetesSafe(imageName);
        const clash = seenIds.get(id);
        if (clash !== undefined) {
          invalid('imageNameFor', template, `contexts "${clash.name}" and "${name}" map to the image names "${clash.imageName}" and "${imageName}", which both give the Job name part "${id}" with KanikoBatchShape.JOBS (only "-" is kept); rename a directory, use a template that tells them apart, or use KanikoBatchShape.INDEXED`);
        }
        seenIds.set(id, { name, imageName });
      } else if (override.buildArgs !== undefined) {
        invalid(`contextOverrides.${name}.buildArgs`, override.buildArgs, 'expected no per-context build args with KanikoBatchShape.INDEXED (its pods share one set of kaniko flags); use KanikoBatchShape.JOBS');
      }
      const repository = prefix ? `${prefix}/${imageName}` : imageName;
      const contextTags = override.tags !== undefined ? override.tags.map(t => String(ImageTag.fromTemplate(t, props.tagValues))) : tags;
      return {
        directory,
        name,
        dockerfile: found,
        imageName,
        context: BuildContext.fromLocalDirectory(directory, { exclude: props.exclude, maxArchiveBytes: props.maxArchiveBytes }),
        destinations: combineDestinations(props.registries, repository, contextTags, { registries: 'registries', references: `destinations of context "${name}"` }),
        buildArgs: override.buildArgs !== undefined ? { ...props.buildArgs, ...override.buildArgs } : props.buildArgs,
      };
    });
  }

  /** One Indexed Job: unpack context i, then kaniko with context i's destinations. */
  private indexedJob(props: KanikoBuildBatchProps, planned: Planned[], commitSha: string | undefined): kplus.Job {
    // the Indexed pods share DOCKERFILE_PATH: every context must use the same path
    const dockerfile = planned[0].dockerfile;
    const other = planned.find(p => p.dockerfile !== dockerfile);
    if (other !== undefined) {
      invalid('shape', this.shape, `expected contexts with one Dockerfile path for KanikoBatchShape.INDEXED; "${planned[0].name}" uses "${dockerfile}" and "${other.name}" uses "${other.dockerfile}": use KanikoBatchShape.JOBS, or set dockerfile or contextOverrides`);
    }
    const parallelism = checkInteger('parallelism', props.parallelism ?? 2, 1, 1000);
    const firsts = planned.map(p => ImageReference._parseFor('destinations', p.destinations[0]));
    const cacheRepos = props.cache ? firsts.map(first => cacheRepositoryOf(props.cache!.repository, first, 'kaniko')) : [];
    const buildArgs = withCommit(props.buildArgs, commitSha);
    const kaniko = kanikoFlags({ ...props, buildArgs, commitSha }, props.cache?.ttl ? [`--cache-ttl=${checkWholeSeconds('cache.ttl', props.cache.ttl, 1)}s`] : []);
    for (const p of planned) {
      if (/\s/.test(p.destinations.join(''))) {
        invalid('destinations', p.destinations, 'expected references without white space');
      }
    }

    const pod = new ImageJobPod(this, props, 'kaniko-build-batch', this.podSecurityLevel, planned.length);
    const registries = [...new Set(planned.flatMap(p => p.destinations.map(d => ImageReference._parseFor('destinations', d).registry)))];
    const auth = provideCredentials(pod, props.credentials, 'build', registries, cacheRepos.map(r => ({ prop: 'cache.repository', registry: r.registry })));
    const workspace = pod.emptyDir('workspace', props.contextSizeLimit ?? Size.gibibytes(2));
    const archives: Mount[] = planned.map((p, i) => {
      const packed = p.context._packed(dockerfile)!;
      const volume = pod.contextArchiveVolume(`context-${i}`, packed.sha256, { 'context.tar.gz': packed.archive.toString('base64') });
      return { path: `/context-archives/${i}`, volume, readOnly: true };
    });
    const value = kplus.EnvValue.fromValue;
    pod.addContainer({
      name: 'fetch-context',
      image: pod.images.downloadHelper,
      script: FETCH_CONTEXT_SCRIPT,
      env: [
        ['BUILD_CONTEXT_ARCHIVES', value(archives.map(a => `${a.path}/context.tar.gz`).join('\n'))],
        ['DOCKERFILE_PATH', value(dockerfile)],
        ['CONTEXT_DIR', value('/workspace/context')],
      ],
      mounts: [...archives, { path: '/workspace', volume: workspace }],
      profile: ContainerProfile.RESTRICTED,
      resources: HELPER_RESOURCES,
    }, true);

    const results = pod.emptyDir('results', Size.mebibytes(1));
    const trust = kanikoTrust(pod, [...registries, ...cacheRepos.map(r => r.registry)]);
    const mounts: Mount[] = [{ path: '/workspace', volume: workspace }, { path: '/results', volume: results }, ...trust.mounts];
    if (auth) {
      mounts.push({ path: '/kaniko/.docker', volume: auth, readOnly: true });
    }
    pod.addContainer({
      name: 'build',
      image: pod.images.kanikoDebug,
      shell: '/busybox/sh',
      script: KANIKO_INDEXED_BUILD_SCRIPT,
      args: [
        // $0 of the script; the shared flags follow as "$@", the context's destinations are added by it
        'build',
        '--context=dir:///workspace/context',
        '--dockerfile=/workspace/context/$(DOCKERFILE_PATH)',
        '--digest-file=/results/digest',
        '--image-name-with-digest-file=/dev/termination-log',
        ...trust.flags.map(escapeKubeletExpansion),
        ...kaniko.flags.map(escapeKubeletExpansion),
      ],
      env: [
        ['DOCKERFILE_PATH', value(dockerfile)],
        ['CONTEXT_NAMES', value(planned.map(p => p.name).join('\n'))],
        ['INDEXED_DESTINATIONS', value(planned.map(p => p.destinations.join(' ')).join('\n'))],
        ...(cacheRepos.length > 0 ? [['INDEXED_CACHE_REPOS', value(cacheRepos.map(String).join('\n'))] as [string, kplus.EnvValue]] : []),
        ['DOCKER_CONFIG', value('/kaniko/.docker')],
      ],
      mounts,
      profile: ContainerProfile.ROOT_BUILDER,
      // kaniko's errors go to its log only
      messageFromLogsOnError: true,
      resources: kplusResources(props.resources, BUILDER_RESOURCES),
    }, false);
    pod.setDefaultContainer('build');
    ApiObject.of(pod.job).addJsonPatch(
      JsonPatch.add('/spec/completionMode', 'Indexed'),
      JsonPatch.add('/spec/completions', planned.length),
      JsonPatch.add('/spec/parallelism', Math.min(parallelism, planned.length)),
    );
    return pod.job;
  }
}

function checkTags(prop: string, tags: string[] | undefined, values: ImageTagValues | undefined): ImageTag[] {
  if (!tags || tags.length === 0) {
    invalid(prop, tags ?? [], 'expected at least one tag or ImageTag template');
  }
  return tags.map(tag => ImageTag.fromTemplate(tag, values));
}

/** A context directory and the Dockerfile path it uses. */
interface Found {
  readonly directory: string;
  readonly dockerfile: string;
}

/**
 * The Dockerfile of a context: its override, else the batch's `dockerfile`, else the one recognised file it holds
 * (two that are the same file count once). Returns why not, when there is none.
 */
function dockerfileIn(directory: string, name: string, props: KanikoBuildBatchProps, dockerfile: string | undefined): string | { reason: string } {
  const override = props.contextOverrides?.[name]?.dockerfile;
  const wanted = override !== undefined ? checkRelativePath(`contextOverrides.${name}.dockerfile`, override) : dockerfile;
  if (wanted !== undefined) {
    return isFile(join(directory, wanted)) ? wanted : { reason: `no ${wanted}` };
  }
  // exact names from the listing: on a case-insensitive file system "Dockerfile" would also find "dockerfile"
  const entries = readdirSync(directory);
  const found = RECOGNISED_DOCKERFILES.filter(file => entries.includes(file) && isFile(realFile(join(directory, file))));
  const distinct = [...new Set(found.map(file => realFile(join(directory, file))))];
  if (found.length === 0) {
    return { reason: `none of ${RECOGNISED_DOCKERFILES.join(', ')}` };
  }
  if (distinct.length > 1) {
    return { reason: `both ${found.join(' and ')}; name one in contextOverrides.${name}.dockerfile` };
  }
  return found[0];
}

/** The file a path resolves to (following symlinks), or the path itself when it does not resolve. */
function realFile(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function discoverContexts(props: KanikoBuildBatchProps, dockerfile: string | undefined): Found[] {
  const parent = props.contextsDirectory;
  if (parent === undefined) {
    return invalid('contextsDirectory', parent, 'expected a directory of build contexts, or a list of contexts');
  }
  if (!isDirectory(parent)) {
    invalid('contextsDirectory', parent, 'expected an existing directory');
  }
  const names = readdirSync(parent).sort(byBytes).filter(name => isDirectory(join(parent, name)));
  const skip = props.skip ?? [];
  skip.forEach((name, i) => {
    if (!names.includes(name)) {
      invalid(`skip[${i}]`, name, `expected a sub-directory of ${JSON.stringify(parent)}; found ${JSON.stringify(names)}`);
    }
  });
  const found: Found[] = [];
  const refused: string[] = [];
  for (const name of names.filter(n => !skip.includes(n))) {
    const result = dockerfileIn(join(parent, name), name, props, dockerfile);
    if (typeof result === 'string') {
      found.push({ directory: join(parent, name), dockerfile: result });
    } else {
      refused.push(`"${name}" (${result.reason})`);
    }
  }
  if (refused.length > 0) {
    invalid('contextsDirectory', parent, `expected every sub-directory to be a build context or listed in skip; not contexts: ${refused.join(', ')}`);
  }
  if (found.length === 0) {
    invalid('contextsDirectory', parent, 'expected at least one sub-directory that is a build context; found none');
  }
  return found;
}

function explicitContexts(props: KanikoBuildBatchProps, dockerfile: string | undefined): Found[] {
  const contexts = props.contexts!;
  const parent = props.contextsDirectory;
  if (props.skip !== undefined) {
    invalid('skip', props.skip, 'expected skip only when contexts are discovered; remove skip or contexts');
  }
  if (contexts.length === 0) {
    invalid('contexts', contexts, 'expected at least one context directory');
  }
  return contexts.map((context, i) => {
    const dir = parent !== undefined ? join(parent, context) : context;
    if (!isDirectory(dir)) {
      invalid(`contexts[${i}]`, context, 'expected an existing directory');
    }
    const result = dockerfileIn(dir, basename(dir), props, dockerfile);
    if (typeof result !== 'string') {
      invalid(`contexts[${i}]`, context, `expected a build context directory; it holds ${result.reason}`);
    }
    return { directory: dir, dockerfile: result };
  });
}

/** The repository prefix without trailing slashes, each component a repository component. */
function checkRepositoryPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '') {
    return undefined;
  }
  const trimmed = prefix.replace(/\/+$/, '');
  if (!trimmed.split('/').every(component => REPOSITORY_COMPONENT.test(component))) {
    invalid('repositoryPrefix', prefix, 'expected repository path components of lower-case letters and digits separated by ".", "_", "__" or "-", joined by "/"');
  }
  return trimmed;
}

function checkImageName(prop: string, imageName: string): string {
  if (typeof imageName !== 'string' || !imageName.split('/').every(component => REPOSITORY_COMPONENT.test(component))) {
    invalid(prop, imageName, 'expected a repository name: lower-case letters and digits separated by ".", "_", "__", "-" or "/"');
  }
  return imageName;
}

/** An image name as a construct id and name part: generated Kubernetes names allow only "-" besides letters and digits. */
function kubernetesSafe(imageName: string): string {
  return imageName.replace(/[^a-z0-9-]+/g, '-');
}

/** The default image name of a directory: lower-cased, other characters folded to "-". */
function repositoryName(directory: string): string {
  return directory.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[._-]+$/g, '').replace(/[._-]*([._-])[._-]*/g, '$1');
}

function renderImageName(template: string, directory: string): string {
  if (typeof template !== 'string') {
    invalid('imageNameFor', template, 'expected a template string such as "{{name}}"');
  }
  const rendered = template.replace(TEMPLATE_FIELD, (_, field: string) => {
    if (field === 'name') {
      return repositoryName(directory);
    }
    if (field === 'directory') {
      return directory;
    }
    if (field.startsWith('env:')) {
      const value = process.env[field.slice(4)];
      if (value === undefined || value === '') {
        invalid('imageNameFor', template, `needs {{${field}}}, which has no value: set ${field.slice(4)}`);
      }
      return value;
    }
    return invalid('imageNameFor', template, `has unknown field {{${field}}}; expected name, directory or env:NAME`);
  });
  if (!rendered.split('/').every(component => REPOSITORY_COMPONENT.test(component))) {
    invalid('imageNameFor', template, `rendered "${rendered}" for context "${directory}", which is not a repository name: lower-case letters and digits separated by ".", "_", "__", "-" or "/"`);
  }
  return rendered;
}
