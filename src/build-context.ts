import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { FETCH_CONTEXT_SCRIPT } from './_scripts';
import { checkDownloadUrl, checkObjectName, checkRelativePath, checkSha256, invalid } from './_validate';

/** Options for `BuildContext.fromUrl()`. */
export interface UrlBuildContextOptions {
  /**
   * The expected sha256 of the archive (64 hex characters, as `sha256sum` prints it). The build stops
   * before anything runs if the download differs.
   *
   * @default - the download is not verified (https still protects it in transit)
   */
  readonly sha256?: string;

  /**
   * Allow a plain `http://` URL. Without a `sha256`, anyone on the network path could change what is built.
   *
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
}

/** Options for `BuildContext.fromGit()`. */
export interface GitBuildContextOptions {
  /**
   * The branch, tag, full ref (`refs/heads/main`, `refs/pull/42/head`) or commit to build.
   *
   * @default - the remote's default branch
   */
  readonly ref?: string;

  /**
   * The directory inside the repository to use as the build context (kaniko `--context-sub-path`).
   *
   * @default - the repository root
   */
  readonly subPath?: string;
}

/** Where a build context comes from. */
export enum BuildContextSource {
  /** A `.tar.gz` archive downloaded over https by an init container. */
  URL = 'url',
  /** A git repository cloned over https by the builder itself. */
  GIT = 'git',
  /** An existing ConfigMap whose keys are the context's files. */
  CONFIG_MAP = 'config-map',
}

/**
 * Where a builder finds its context: a directory the pod prepares, or a git repository the builder clones.
 *
 * @internal
 */
export interface ContextBinding {
  /** The context root inside the builder container, when the pod prepares the files. */
  readonly directory?: string;
  /** The repository to clone, when the builder fetches the context itself. */
  readonly git?: GitLocation;
  /** Volumes the builder mounts. */
  readonly mounts: Mount[];
}

/**
 * A git repository at a ref, optionally a sub-directory of it.
 *
 * @internal
 */
export interface GitLocation {
  readonly url: string;
  readonly ref?: string;
  readonly subPath?: string;
}

/**
 * Options of a context binding.
 *
 * @internal
 */
export interface ContextBindOptions {
  /** Size limit of the workspace emptyDir holding a downloaded context. */
  readonly workspaceSizeLimit: Size;
  /** The Dockerfile's path relative to the context root (seed 000's `DOCKERFILE_PATH`). */
  readonly dockerfile: string;
}

const GIT_REF = /^(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$/;

/**
 * The files a Dockerfile is built from.
 *
 * Values reach the pod as environment variables (seed 000's `BUILD_CONTEXT_URL`) or kaniko flags, never
 * as shell text.
 */
export abstract class BuildContext {
  /**
   * A gzip-compressed tar archive (`.tar.gz`) fetched over https: seed 000's `BUILD_CONTEXT_URL`.
   *
   * An init container downloads it (retrying refused connections, timeouts and 5xx answers, not 404),
   * checks its sha256 when given, and unpacks it into an emptyDir the builder reads.
   *
   * @param url the archive's address; credentials in the URL are refused (they would land in the YAML)
   * @param options checksum and transport options
   */
  public static fromUrl(url: string, options: UrlBuildContextOptions = {}): BuildContext {
    const allowInsecureHttp = options.allowInsecureHttp ?? false;
    checkDownloadUrl('BuildContext.fromUrl url', url, allowInsecureHttp);
    if (options.sha256 !== undefined) {
      checkSha256('BuildContext.fromUrl sha256', options.sha256);
    }
    return new UrlContext(url, options.sha256, allowInsecureHttp);
  }

  /**
   * A git repository cloned over https by kaniko itself (its `git://` context), so no init container is
   * needed. For a private repository, see the kaniko documentation on `GIT_USERNAME` / `GIT_PASSWORD`.
   *
   * @param url the repository's https address, e.g. `https://github.com/acme/api.git`
   * @param options ref and sub-directory
   */
  public static fromGit(url: string, options: GitBuildContextOptions = {}): BuildContext {
    checkDownloadUrl('BuildContext.fromGit url', url, false);
    if (url.includes('#') || url.includes('?')) {
      invalid('BuildContext.fromGit url', url, 'expected a repository URL without "#" or "?"; give the ref as the ref option');
    }
    if (options.ref !== undefined && !GIT_REF.test(options.ref)) {
      invalid('BuildContext.fromGit ref', options.ref, 'expected a branch, tag, refs/… name or commit: letters, digits, ".", "_", "-" and "/", no ".."');
    }
    if (options.subPath !== undefined) {
      checkRelativePath('BuildContext.fromGit subPath', options.subPath);
    }
    return new GitContext(url, options.ref, options.subPath);
  }

  /**
   * An existing ConfigMap in the Job's namespace whose keys are the context's files, mounted read-only as
   * the context directory: seed 004 keeps its Dockerfile this way. Suits small contexts (a ConfigMap holds
   * at most 1 MiB). ConfigMap keys cannot contain "/", so every file sits at the context root and
   * `dockerfile` must be a key.
   *
   * @param name the ConfigMap's name, e.g. `dockerfile`
   */
  public static fromConfigMap(name: string): BuildContext {
    return new ConfigMapContext(checkObjectName('BuildContext.fromConfigMap name', name));
  }

  /** Where the context comes from. */
  public abstract readonly source: BuildContextSource;

  /** The context's address: URL of the archive or repository, or the ConfigMap's name. */
  public abstract readonly location: string;

  /**
   * Adds what the context needs to the pod and tells the builder how to reach it.
   *
   * @internal
   */
  public abstract _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding;

  /**
   * The download settings of a URL context, for builders that download it themselves.
   *
   * @internal
   */
  public _urlSettings(): UrlSettings | undefined {
    return undefined;
  }
}

/**
 * What a builder needs to download a URL context itself.
 *
 * @internal
 */
export interface UrlSettings {
  readonly location: string;
  readonly sha256?: string;
  readonly allowInsecureHttp: boolean;
}

class UrlContext extends BuildContext {
  public readonly source = BuildContextSource.URL;

  constructor(public readonly location: string, private readonly sha256: string | undefined, private readonly allowInsecureHttp: boolean) {
    super();
  }

  public _urlSettings(): UrlSettings {
    return { location: this.location, sha256: this.sha256, allowInsecureHttp: this.allowInsecureHttp };
  }

  public _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding {
    const workspace = pod.emptyDir('workspace', options.workspaceSizeLimit);
    const value = kplus.EnvValue.fromValue;
    pod.addContainer({
      name: 'fetch-context',
      image: pod.images.downloadHelper,
      script: FETCH_CONTEXT_SCRIPT,
      env: [
        ['BUILD_CONTEXT_URL', value(this.location)],
        ...(this.sha256 ? [['BUILD_CONTEXT_SHA256', value(this.sha256)] as [string, kplus.EnvValue]] : []),
        ...(this.allowInsecureHttp ? [['ALLOW_INSECURE_HTTP', value('true')] as [string, kplus.EnvValue]] : []),
        ['DOCKERFILE_PATH', value(options.dockerfile)],
        ['CONTEXT_DIR', value('/workspace/context')],
      ],
      mounts: [{ path: '/workspace', volume: workspace }],
      profile: ContainerProfile.RESTRICTED,
      resources: HELPER_RESOURCES,
    }, true);
    return { directory: '/workspace/context', mounts: [{ path: '/workspace', volume: workspace }] };
  }
}

class GitContext extends BuildContext {
  public readonly source = BuildContextSource.GIT;

  constructor(public readonly location: string, private readonly ref: string | undefined, private readonly subPath: string | undefined) {
    super();
  }

  public _bind(): ContextBinding {
    return { git: { url: this.location, ref: this.ref, subPath: this.subPath }, mounts: [] };
  }
}

class ConfigMapContext extends BuildContext {
  public readonly source = BuildContextSource.CONFIG_MAP;

  constructor(public readonly location: string) {
    super();
  }

  public _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding {
    if (options.dockerfile.includes('/')) {
      invalid('dockerfile', options.dockerfile, 'expected a key of the context ConfigMap: BuildContext.fromConfigMap puts every key at the context root');
    }
    const volume = pod.configMapVolume('context', this.location);
    return { directory: '/workspace', mounts: [{ path: '/workspace', volume, readOnly: true }] };
  }
}
