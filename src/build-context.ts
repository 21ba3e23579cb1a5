import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { FETCH_CONTEXT_SCRIPT } from './_scripts';
import { packDirectory, PackedDirectory } from './_tar';
import { checkDownloadUrl, checkInteger, checkObjectName, checkSecretKey, checkRelativePath, checkSha256, invalid } from './_validate';

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

  /**
   * The URL serves a gzip-compressed tar archive although its path does not end in `.tar.gz` or `.tgz` (a
   * download endpoint such as `https://ci.example.com/artifacts/42/download`). Without it such a URL is refused:
   * anything else (a `.zip`, a plain `.tar`, a Dockerfile) would fail only in the pod, when it is unpacked.
   *
   * @default false - the URL's path (its query string aside) must end in `.tar.gz` or `.tgz`
   */
  readonly assumeTarGz?: boolean;
}

/** Options for `BuildContext.fromGit()`. */
export interface GitBuildContextOptions {
  /**
   * The branch, tag, full ref (`refs/heads/main`, `refs/pull/42/head`) or full commit SHA (40 hex
   * characters) to build.
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

  /**
   * The Secret holding an access token for a private repository. kaniko reads it from an environment
   * variable filled by a `secretKeyRef` (`GIT_TOKEN`, or `GIT_PASSWORD` with `username`); BuildKit
   * (`OciConnectorBuildJob`) reads it from a file mounted from the Secret, as the build secret
   * `GIT_AUTH_TOKEN.<host>`. Either way the token never appears in the URL, the args or the YAML.
   *
   * @default - no credentials: the repository must be public
   */
  readonly tokenSecret?: string;

  /**
   * The key of `tokenSecret` that holds the token.
   *
   * @default "token"
   */
  readonly tokenKey?: string;

  /**
   * The user name sent with the token. GitHub accepts the token alone; GitLab wants `oauth2` (or the
   * token's user), Bitbucket the account name. With it, kaniko gets `GIT_USERNAME` and `GIT_PASSWORD`.
   * BuildKit's git source has no user name input (it sends the token alone, as Docker documents for
   * `GIT_AUTH_TOKEN`), so `OciConnectorBuildJob` refuses a username rather than drop it.
   *
   * @default - the token alone (kaniko's `GIT_TOKEN`)
   */
  readonly username?: string;
}

/** Options for `BuildContext.fromLocalDirectory()`. */
export interface LocalDirectoryBuildContextOptions {
  /**
   * More `.dockerignore` patterns, applied after the directory's own `.dockerignore` (so they win).
   *
   * @default - only the directory's `.dockerignore`
   */
  readonly exclude?: string[];

  /**
   * The largest packed archive accepted, in bytes. The default suits plain (client-side) `kubectl apply`,
   * which copies the whole ConfigMap into its `kubectl.kubernetes.io/last-applied-configuration` annotation
   * (see `BuildContext.LOCAL_DIRECTORY_MAX_BYTES`). When the ConfigMap is applied with server-side apply
   * (`kubectl apply --server-side`, Argo CD `ServerSideApply=true`) or created directly, raise it up to
   * `BuildContext.LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES`, what a ConfigMap holds.
   *
   * @default BuildContext.LOCAL_DIRECTORY_MAX_BYTES (184 KiB)
   */
  readonly maxArchiveBytes?: number;
}

/**
 * Options for `BuildContext.fromConfigMap()`.
 *
 * A ConfigMap has flat keys (no "/"), so its volume has no sub-directories: `subPath` has nothing to select
 * and is refused rather than ignored. A context with directories belongs in `fromLocalDirectory()` (packed
 * into a ConfigMap by the construct) or `fromPersistentVolumeClaim()` (with its own `subPath`).
 */
export interface ConfigMapBuildContextOptions {
  /**
   * Refused when given: a ConfigMap volume has no sub-directories to start the context from.
   *
   * @default - the context is the ConfigMap's root, the only one it has
   */
  readonly subPath?: string;
}

/** Options for `BuildContext.fromPersistentVolumeClaim()`. */
export interface ClaimBuildContextOptions {
  /**
   * The directory inside the volume that holds the context.
   *
   * @default - the volume's root
   */
  readonly subPath?: string;
}

/** Options for `BuildContext.fromS3()`. */
export interface S3BuildContextOptions {
  /**
   * A Secret holding an AWS shared credentials file (`[default]`, `aws_access_key_id`, `aws_secret_access_key`).
   * It is mounted read-only and named by `AWS_SHARED_CREDENTIALS_FILE`.
   *
   * @default - the pod's own identity (IRSA, EKS Pod Identity or the node role)
   */
  readonly credentialsSecret?: string;

  /**
   * The key of `credentialsSecret` holding the credentials file.
   *
   * @default "credentials"
   */
  readonly credentialsKey?: string;

  /**
   * The bucket's region (`AWS_REGION`).
   *
   * @default - the AWS SDK's lookup (credentials file profile, then the instance metadata)
   */
  readonly region?: string;

  /**
   * The https endpoint of an S3-compatible store such as MinIO (kaniko's `S3_ENDPOINT`); path-style
   * addressing (`S3_FORCE_PATH_STYLE=true`) is then used.
   *
   * @default - AWS S3
   */
  readonly endpoint?: string;
}

/** Options for `BuildContext.fromGcs()`. */
export interface GcsBuildContextOptions {
  /**
   * A Secret holding a service-account key (JSON), mounted read-only and named by
   * `GOOGLE_APPLICATION_CREDENTIALS`.
   *
   * @default - the pod's own identity (GKE Workload Identity or the node's service account)
   */
  readonly credentialsSecret?: string;

  /**
   * The key of `credentialsSecret` holding the JSON key.
   *
   * @default "key.json"
   */
  readonly credentialsKey?: string;
}

/** Where a build context comes from. */
export enum BuildContextSource {
  /** A `.tar.gz` archive downloaded over https by an init container. */
  URL = 'url',
  /** A git repository cloned over https by the builder itself. */
  GIT = 'git',
  /** An existing ConfigMap whose keys are the context's files. */
  CONFIG_MAP = 'config-map',
  /** A directory of the synthesizing machine, packed into a ConfigMap the construct adds to the chart. */
  LOCAL_DIRECTORY = 'local-directory',
  /** A directory on an existing PersistentVolumeClaim, mounted read-only. */
  PERSISTENT_VOLUME_CLAIM = 'persistent-volume-claim',
  /** A `.tar.gz` in an S3 bucket, fetched by kaniko itself. */
  S3 = 's3',
  /** A `.tar.gz` in a Google Cloud Storage bucket, fetched by kaniko itself. */
  GCS = 'gcs',
}

type Env = [string, kplus.EnvValue][];

/**
 * Where a builder finds its context, builder-neutral: a directory (prepared by an init container or
 * mounted), a git repository the builder clones, or an object-storage URL kaniko fetches.
 *
 * @internal
 */
export interface ContextBinding {
  /** The context root inside the builder container, when the pod has the files. */
  readonly directory?: string;
  /** The repository to clone, when the builder fetches the context itself. */
  readonly git?: GitLocation;
  /** A kaniko-native context URL (`s3://…`, `gs://…`). */
  readonly remote?: string;
  /** Environment the builder needs: where the context is, and credentials as Secret references. */
  readonly env: Env;
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
  /** True when credentials reach the builder through `env`. */
  readonly private: boolean;
  /** The Secret key holding the token, for builders that mount it as a file (BuildKit). */
  readonly token?: { readonly secret: string; readonly key: string; readonly username?: string };
}

/**
 * Options of a context binding.
 *
 * @internal
 */
export interface ContextBindOptions {
  /** Size limit of the workspace emptyDir holding a downloaded context. */
  readonly workspaceSizeLimit: Size;
  /** The Dockerfile's path relative to the context root (the classic Job YAMLs' `DOCKERFILE_PATH`). */
  readonly dockerfile: string;
  /**
   * The builder's own script prepares the context (`prepare_context` in UnifiedImageJob's main container):
   * add no init container, return the variables and mounts that script reads instead.
   */
  readonly selfPrepared?: boolean;
}

const GIT_REF = /^(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$/;
const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([^\s$`\\]+)$/;
const GCS_URI = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/([^\s$`\\]+)$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Where a downloaded or unpacked context lives in the workspace emptyDir. */
const WORKSPACE_CONTEXT = '/workspace/context';
/** Where a claim holding the context is mounted, read-only. */
const MOUNTED_CONTEXT = '/context';
/** The key of the packed archive in a local directory's ConfigMap. */
const ARCHIVE_KEY = 'context.tar.gz';

/**
 * The files a Dockerfile is built from.
 *
 * Values reach the pod as environment variables (the classic Job YAMLs' `BUILD_CONTEXT_URL`) or kaniko flags, never
 * as shell text. kaniko builds from every source; BuildKit (`OciConnectorBuildJob`) and the unified image
 * (`UnifiedImageJob`) refuse the ones they cannot read, in a one-line error naming what they support.
 */
export abstract class BuildContext {
  /**
   * The largest packed `.tar.gz` `fromLocalDirectory()` accepts by default: 184 KiB (188,416 bytes), so that
   * plain `kubectl apply` works. Client-side apply stores the whole object, base64 `binaryData` included, in
   * the `kubectl.kubernetes.io/last-applied-configuration` annotation, and the API server caps an object's
   * annotations at 262,144 bytes in total. 188,416 bytes of archive are 251,224 bytes of base64, which leaves
   * 10,920 bytes for the rest of the annotation: its key, the ConfigMap's name, labels and JSON punctuation.
   * (192 KiB would be exactly 262,144 bytes of base64, with no room for anything else.)
   */
  public static readonly LOCAL_DIRECTORY_MAX_BYTES = 184 * 1024;

  /**
   * The largest `maxArchiveBytes` `fromLocalDirectory()` allows: 1,048,562 bytes. The API server refuses a
   * ConfigMap whose keys and values exceed 1 MiB (1,048,576 bytes) together, and the archive's key
   * `context.tar.gz` takes 14. Only for ConfigMaps applied server-side (`kubectl apply --server-side`, Argo CD
   * `ServerSideApply=true`) or created directly: client-side `kubectl apply` fails on them (see
   * `LOCAL_DIRECTORY_MAX_BYTES`). The base64 JSON, about 1.4 MB, still fits etcd's 1.5 MiB request limit.
   */
  public static readonly LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES = 1024 * 1024 - ARCHIVE_KEY.length;

  /**
   * A gzip-compressed tar archive (`.tar.gz`) fetched over https: the classic Job YAMLs' `BUILD_CONTEXT_URL`.
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
    if (!(options.assumeTarGz ?? false) && !/\.(tar\.gz|tgz)$/i.test(new URL(url).pathname)) {
      invalid('BuildContext.fromUrl url', url, 'expected a path ending in .tar.gz or .tgz (a gzip-compressed tar archive); if the URL serves one under another name, set assumeTarGz: true');
    }
    if (options.sha256 !== undefined) {
      checkSha256('BuildContext.fromUrl sha256', options.sha256);
    }
    return new UrlContext(url, options.sha256, allowInsecureHttp);
  }

  /**
   * A git repository cloned over https by the builder itself (kaniko's `git://` context, BuildKit's git
   * source), so no init container is needed. A private repository needs `tokenSecret`.
   *
   * @param url the repository's https address, e.g. `https://github.com/acme/api.git`
   * @param options ref, sub-directory and credentials
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
    let token: GitToken | undefined;
    if (options.tokenSecret !== undefined) {
      const secret = checkObjectName('BuildContext.fromGit tokenSecret', options.tokenSecret);
      const key = checkSecretKey('BuildContext.fromGit tokenKey', options.tokenKey ?? 'token');
      if (options.username !== undefined && !/^[A-Za-z0-9._@-]{1,100}$/.test(options.username)) {
        invalid('BuildContext.fromGit username', options.username, 'expected a user name of letters, digits, ".", "_", "@" and "-"');
      }
      token = { secret, key, username: options.username };
    } else if (options.tokenKey !== undefined || options.username !== undefined) {
      invalid('BuildContext.fromGit tokenSecret', options.tokenSecret, 'expected a tokenSecret with tokenKey or username');
    }
    return new GitContext(url, options.ref, options.subPath, token);
  }

  /**
   * An existing ConfigMap in the Job's namespace whose keys are the context's files, mounted read-only as
   * the context directory: the OCI Connector documentation keeps its Dockerfile this way. Suits small contexts (a ConfigMap holds
   * at most 1 MiB). ConfigMap keys cannot contain "/", so every file sits at the context root and
   * `dockerfile` must be a key; for a context with directories use `fromLocalDirectory()`.
   *
   * @param name the ConfigMap's name, e.g. `dockerfile`
   * @param options none is accepted: `subPath` is refused (see `ConfigMapBuildContextOptions`)
   */
  public static fromConfigMap(name: string, options: ConfigMapBuildContextOptions = {}): BuildContext {
    const checked = checkObjectName('BuildContext.fromConfigMap name', name);
    if (options.subPath !== undefined) {
      invalid('BuildContext.fromConfigMap subPath', options.subPath, 'expected no subPath: ConfigMap keys cannot contain "/", so the mounted ConfigMap has no sub-directories; for a context with directories use BuildContext.fromLocalDirectory() or fromPersistentVolumeClaim(claim, { subPath })');
    }
    const unknown = Object.keys(options).filter(key => key !== 'subPath');
    if (unknown.length > 0) {
      invalid('BuildContext.fromConfigMap options', unknown, 'expected no options: a ConfigMap context is the ConfigMap, mounted read-only');
    }
    return new ConfigMapContext(checked);
  }

  /**
   * A directory of the machine that runs the synthesis, packed into a deterministic `.tar.gz` (entries
   * sorted by name, mtime 0, uid/gid 0, mode 0755 or 0644: only the executable bit is kept) and stored as
   * `binaryData` in an immutable ConfigMap the construct adds to its chart. An init container unpacks it
   * into the pod's workspace. The same directory gives byte-identical YAML; a changed directory gives a
   * ConfigMap with a new name (a hash of the archive), so a re-applied Job never mounts stale files.
   *
   * `.dockerignore` is honoured with Docker's rules (`**`, `!` exceptions, last match wins); like Docker,
   * `Dockerfile` and `.dockerignore` are always packed. Symlinks are kept as symlinks when they point inside
   * the directory; absolute links and links that leave it are refused. Archives over `maxArchiveBytes`
   * (`LOCAL_DIRECTORY_MAX_BYTES`, 184 KiB, safe for plain `kubectl apply`; up to
   * `LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES` with server-side apply) are refused: use `fromUrl`, `fromGit` or
   * `fromPersistentVolumeClaim` for bigger contexts.
   *
   * The archive is compressed with Node's zlib (level 9). Its bytes, hence the ConfigMap's name, are stable
   * for a given Node.js version but may differ across Node.js (zlib) versions: synthesize with one Node.js
   * version (pin it in CI) when the YAML must stay byte-identical.
   *
   * @param path the directory, absolute or relative to the working directory of the synthesis
   * @param options extra exclude patterns and the size limit
   */
  public static fromLocalDirectory(path: string, options: LocalDirectoryBuildContextOptions = {}): BuildContext {
    const prop = 'BuildContext.fromLocalDirectory path';
    const exclude = options.exclude ?? [];
    exclude.forEach((pattern, i) => {
      if (typeof pattern !== 'string' || /[\r\n]/.test(pattern)) {
        invalid(`BuildContext.fromLocalDirectory exclude[${i}]`, pattern, 'expected a .dockerignore pattern on one line');
      }
    });
    const limit = checkInteger('BuildContext.fromLocalDirectory maxArchiveBytes', options.maxArchiveBytes ?? BuildContext.LOCAL_DIRECTORY_MAX_BYTES,
      1, BuildContext.LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES);
    const packed = packDirectory(prop, path, exclude);
    if (packed.archive.length > limit) {
      invalid(prop, path, `the packed context is ${kib(packed.archive.length)} (${packed.archive.length} bytes), over the maxArchiveBytes limit of ${limit} bytes; exclude files (.dockerignore, exclude), raise maxArchiveBytes up to ${BuildContext.LOCAL_DIRECTORY_SERVER_SIDE_MAX_BYTES} when the ConfigMap is applied server-side (kubectl apply --server-side, Argo CD ServerSideApply=true), or use BuildContext.fromUrl, fromGit or fromPersistentVolumeClaim`);
    }
    return new LocalDirectoryContext(path, packed);
  }

  /**
   * A directory on an existing PersistentVolumeClaim (filled by an earlier Job, a git-sync sidecar, a CSI
   * snapshot…), mounted read-only and read in place: nothing is copied. The claim must be mountable by this
   * pod (ReadOnlyMany, or ReadWriteOnce on the same node).
   *
   * @param claimName the claim's name
   * @param options the directory inside the volume
   */
  public static fromPersistentVolumeClaim(claimName: string, options: ClaimBuildContextOptions = {}): BuildContext {
    checkObjectName('BuildContext.fromPersistentVolumeClaim claimName', claimName);
    if (options.subPath !== undefined) {
      checkRelativePath('BuildContext.fromPersistentVolumeClaim subPath', options.subPath);
    }
    return new ClaimContext(claimName, options.subPath);
  }

  /**
   * A `.tar.gz` in an S3 bucket (or an S3-compatible store), fetched and unpacked by kaniko itself
   * (`--context=s3://…`). kaniko only: `OciConnectorBuildJob` and `UnifiedImageJob` refuse it.
   *
   * @param uri `s3://<bucket>/<key>`, e.g. `s3://acme-build-contexts/api/1.4.0.tar.gz`
   * @param options credentials, region and endpoint
   */
  public static fromS3(uri: string, options: S3BuildContextOptions = {}): BuildContext {
    const prop = 'BuildContext.fromS3';
    if (typeof uri !== 'string' || !S3_URI.test(uri)) {
      invalid(`${prop} uri`, uri, 'expected s3://<bucket>/<key of a .tar.gz>: a bucket of 3-63 lower-case letters, digits, "." and "-", then a key without white space, "$", "`" or "\\"');
    }
    const env: Env = [];
    const value = kplus.EnvValue.fromValue;
    if (options.region !== undefined) {
      if (!AWS_REGION.test(options.region)) {
        invalid(`${prop} region`, options.region, 'expected an AWS region such as "eu-west-1"');
      }
      env.push(['AWS_REGION', value(options.region)]);
    }
    if (options.endpoint !== undefined) {
      checkDownloadUrl(`${prop} endpoint`, options.endpoint, false);
      env.push(['S3_ENDPOINT', value(options.endpoint)], ['S3_FORCE_PATH_STYLE', value('true')]);
    }
    const file = credentialsFile(prop, options.credentialsSecret, options.credentialsKey, 'credentials', 'aws');
    if (file) {
      env.push(['AWS_SHARED_CREDENTIALS_FILE', value(file.path)]);
    }
    return new RemoteContext(BuildContextSource.S3, uri, env, file);
  }

  /**
   * A `.tar.gz` in a Google Cloud Storage bucket, fetched and unpacked by kaniko itself (`--context=gs://…`).
   * kaniko only: `OciConnectorBuildJob` and `UnifiedImageJob` refuse it.
   *
   * @param uri `gs://<bucket>/<object>`, e.g. `gs://acme-build-contexts/api/1.4.0.tar.gz`
   * @param options credentials
   */
  public static fromGcs(uri: string, options: GcsBuildContextOptions = {}): BuildContext {
    const prop = 'BuildContext.fromGcs';
    if (typeof uri !== 'string' || !GCS_URI.test(uri)) {
      invalid(`${prop} uri`, uri, 'expected gs://<bucket>/<object of a .tar.gz>: a bucket of lower-case letters, digits, ".", "_" and "-", then an object name without white space, "$", "`" or "\\"');
    }
    const file = credentialsFile(prop, options.credentialsSecret, options.credentialsKey, 'key.json', 'gcp');
    const env: Env = file ? [['GOOGLE_APPLICATION_CREDENTIALS', kplus.EnvValue.fromValue(file.path)]] : [];
    return new RemoteContext(BuildContextSource.GCS, uri, env, file);
  }

  /** Where the context comes from. */
  public abstract readonly source: BuildContextSource;

  /**
   * The context's address: URL of the archive or repository, the ConfigMap's or claim's name, the
   * bucket URI, or the local directory as given.
   */
  public abstract readonly location: string;

  /**
   * Adds what the context needs to the pod and tells the builder how to reach it.
   *
   * @internal
   */
  public abstract _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding;

  /**
   * The packed archive of a local directory context, checked to hold `dockerfile`.
   *
   * @internal
   */
  public _packed(_dockerfile: string): PackedDirectory | undefined {
    return undefined;
  }
}

class UrlContext extends BuildContext {
  public readonly source = BuildContextSource.URL;

  constructor(public readonly location: string, private readonly sha256: string | undefined, private readonly allowInsecureHttp: boolean) {
    super();
  }

  public _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding {
    const value = kplus.EnvValue.fromValue;
    const env: Env = [
      ['BUILD_CONTEXT_URL', value(this.location)],
      ...(this.sha256 ? [['BUILD_CONTEXT_SHA256', value(this.sha256)] as [string, kplus.EnvValue]] : []),
      ...(this.allowInsecureHttp ? [['ALLOW_INSECURE_HTTP', value('true')] as [string, kplus.EnvValue]] : []),
    ];
    const trust = pod.downloadTrust(this.location);
    return prepareInWorkspace(pod, options, [...env, ...trust.env], trust.mounts);
  }
}

class LocalDirectoryContext extends BuildContext {
  public readonly source = BuildContextSource.LOCAL_DIRECTORY;

  constructor(public readonly location: string, private readonly packed: PackedDirectory) {
    super();
  }

  public _packed(dockerfile: string): PackedDirectory {
    if (!this.packed.entries.includes(dockerfile)) {
      invalid('dockerfile', dockerfile, `expected a file of the local context ${JSON.stringify(this.location)}; it is missing or excluded by .dockerignore`);
    }
    return this.packed;
  }

  public _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding {
    this._packed(options.dockerfile);
    const volume = pod.contextArchiveVolume('context-archive', this.packed.sha256, { [ARCHIVE_KEY]: this.packed.archive.toString('base64') });
    return prepareInWorkspace(pod, options,
      [['BUILD_CONTEXT_ARCHIVE', kplus.EnvValue.fromValue(`/context-archive/${ARCHIVE_KEY}`)]],
      [{ path: '/context-archive', volume, readOnly: true }]);
  }
}

/**
 * A context the pod downloads or unpacks into the workspace emptyDir: an init container running the shared
 * `prepare_context` script, or (selfPrepared) the builder's own script with the same variables.
 */
function prepareInWorkspace(pod: ImageJobPod, options: ContextBindOptions, sourceEnv: Env, sourceMounts: Mount[]): ContextBinding {
  const workspace = pod.emptyDir('workspace', options.workspaceSizeLimit);
  const value = kplus.EnvValue.fromValue;
  const env: Env = [...sourceEnv, ['DOCKERFILE_PATH', value(options.dockerfile)], ['CONTEXT_DIR', value(WORKSPACE_CONTEXT)]];
  const mounts: Mount[] = [...sourceMounts, { path: '/workspace', volume: workspace }];
  if (options.selfPrepared) {
    return { directory: WORKSPACE_CONTEXT, env, mounts };
  }
  pod.addContainer({
    name: 'fetch-context',
    image: pod.images.downloadHelper,
    script: FETCH_CONTEXT_SCRIPT,
    env,
    mounts,
    profile: ContainerProfile.RESTRICTED,
    resources: HELPER_RESOURCES,
  }, true);
  return { directory: WORKSPACE_CONTEXT, env: [], mounts: [{ path: '/workspace', volume: workspace }] };
}

interface GitToken {
  readonly secret: string;
  readonly key: string;
  readonly username?: string;
}

class GitContext extends BuildContext {
  public readonly source = BuildContextSource.GIT;

  constructor(
    public readonly location: string,
    private readonly ref: string | undefined,
    private readonly subPath: string | undefined,
    private readonly token: GitToken | undefined,
  ) {
    super();
  }

  public _bind(pod: ImageJobPod): ContextBinding {
    const env: Env = [];
    if (this.token) {
      // kaniko reads these (pkg/buildcontext/git.go); GIT_TOKEN wins over GIT_USERNAME/GIT_PASSWORD there
      const token = kplus.EnvValue.fromSecretValue({ secret: pod.secret(this.token.secret), key: this.token.key });
      if (this.token.username !== undefined) {
        env.push(['GIT_USERNAME', kplus.EnvValue.fromValue(this.token.username)], ['GIT_PASSWORD', token]);
      } else {
        env.push(['GIT_TOKEN', token]);
      }
    }
    const git = { url: this.location, ref: this.ref, subPath: this.subPath, private: this.token !== undefined, token: this.token };
    return { git, env, mounts: [] };
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
    // at /workspace, where the OCI Connector documentation's BuildKit Job mounts it
    const volume = pod.configMapVolume('context', this.location);
    return mounted('/workspace', options, [{ path: '/workspace', volume, readOnly: true }]);
  }
}

class ClaimContext extends BuildContext {
  public readonly source = BuildContextSource.PERSISTENT_VOLUME_CLAIM;

  constructor(public readonly location: string, private readonly subPath: string | undefined) {
    super();
  }

  public _bind(pod: ImageJobPod, options: ContextBindOptions): ContextBinding {
    const volume = pod.claimVolume('context', this.location);
    const directory = this.subPath ? `${MOUNTED_CONTEXT}/${this.subPath}` : MOUNTED_CONTEXT;
    return mounted(directory, options, [{ path: MOUNTED_CONTEXT, volume, readOnly: true }]);
  }
}

/** A context read in place from a read-only mount. */
function mounted(directory: string, options: ContextBindOptions, mounts: Mount[]): ContextBinding {
  const value = kplus.EnvValue.fromValue;
  const env: Env = options.selfPrepared ? [['DOCKERFILE_PATH', value(options.dockerfile)], ['CONTEXT_DIR', value(directory)]] : [];
  return { directory, env, mounts };
}

interface CredentialsFile {
  readonly secret: string;
  readonly key: string;
  readonly volumeName: string;
  readonly directory: string;
  readonly path: string;
}

class RemoteContext extends BuildContext {
  constructor(
    public readonly source: BuildContextSource,
    public readonly location: string,
    private readonly env: Env,
    private readonly file: CredentialsFile | undefined,
  ) {
    super();
  }

  public _bind(pod: ImageJobPod): ContextBinding {
    const mounts: Mount[] = this.file
      ? [{ path: this.file.directory, volume: pod.secretFileVolume(this.file.volumeName, this.file.secret, this.file.key, this.file.path.split('/').pop()!), readOnly: true }]
      : [];
    return { remote: this.location, env: this.env, mounts };
  }
}

function credentialsFile(
  prop: string, secret: string | undefined, key: string | undefined, defaultKey: string, kind: string,
): CredentialsFile | undefined {
  if (secret === undefined) {
    if (key !== undefined) {
      invalid(`${prop} credentialsKey`, key, 'expected credentialsSecret as well');
    }
    return undefined;
  }
  checkObjectName(`${prop} credentialsSecret`, secret);
  const checkedKey = checkSecretKey(`${prop} credentialsKey`, key ?? defaultKey);
  const directory = `/var/run/secrets/${kind}-context`;
  return { secret, key: checkedKey, volumeName: `${kind}-context-credentials`, directory, path: `${directory}/${defaultKey}` };
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}
