import { Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DIRECTORY_SOURCES, refuseContextSource } from './_build';
import { BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { parseDestinations } from './_refs';
import { BUILDKIT_BUILD_SCRIPT } from './_scripts';
import { checkDnsLabel, checkEnvName, checkObjectName, checkOneOf, checkRelativePath, checkSecretKey, checkTarget, invalid, sortedEntries } from './_validate';
import { BuildContext, BuildContextSource, ContextBinding } from './build-context';
import { IImageJob, ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { OciConnector, ProxyAddressing, VolumeAttributeStyle } from './oci-connector';

/** How BuildKit runs. Both need a namespace whose Pod Security level is `privileged`. */
export enum BuildkitMode {
  /**
   * `moby/buildkit` as root in a privileged container: the connector documentation's Job (seed 004), the
   * most compatible choice.
   */
  PRIVILEGED = 'privileged',

  /**
   * `moby/buildkit:*-rootless` as uid 1000 with `--oci-worker-no-process-sandbox`, Unconfined seccomp and
   * AppArmor and privilege escalation (rootlesskit's setuid `newuidmap`): not a privileged container, but
   * still outside Pod Security `baseline`. Not yet tested through the connector proxy on a cluster.
   */
  ROOTLESS = 'rootless',
}

/** Where BuildKit keeps its layer cache between builds. */
export enum CacheMode {
  /** Cache metadata embedded in the pushed image (`--export-cache type=inline`), as in seed 004. */
  INLINE = 'inline',

  /**
   * A separate cache image (`cacheRef`), exported with `mode=max` and imported before the build, both
   * through the connector proxy.
   */
  REGISTRY = 'registry',

  /** No cache export or import. */
  NONE = 'none',
}

/** A build secret: one key of a Secret, mounted as a file and handed to BuildKit with `--secret`. */
export interface BuildkitSecret {
  /** The id the Dockerfile uses (`RUN --mount=type=secret,id=<id>`): lower-case letters, digits and "-". */
  readonly id: string;

  /** The Secret's name, in the Job's namespace. */
  readonly secretName: string;

  /**
   * The key inside the Secret.
   *
   * @default - the id
   */
  readonly key?: string;
}

/** Props of `OciConnectorBuildJob`. */
export interface OciConnectorBuildJobProps extends ImageJobOptions {
  /** The connector whose proxy pushes the image, e.g. `OciConnector.fromName('harbor')`. */
  readonly connector: OciConnector;

  /**
   * The build context: `BuildContext.fromConfigMap()` (seed 004), `fromLocalDirectory()`, `fromUrl()`,
   * `fromPersistentVolumeClaim()`, or `fromGit()` for a public repository with a URL ending in `.git`
   * (BuildKit clones it itself). S3 and GCS contexts are kaniko-only.
   */
  readonly context: BuildContext;

  /**
   * The Dockerfile's path relative to the context root.
   *
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;

  /**
   * Where the image should land, written as real registry references with a tag
   * (`harbor.example.com/team/app:1.0`). The construct rewrites each to the connector's proxy and pushes
   * there; the proxy forwards to the registry with the connector's credentials.
   */
  readonly destinations: string[];

  /**
   * Build arguments (`--opt build-arg:KEY=VALUE`). Values are visible in the Job YAML: use `secrets` for
   * anything secret.
   *
   * @default - none
   */
  readonly buildArgs?: { [key: string]: string };

  /**
   * The Dockerfile stage to build (`--opt target=`).
   *
   * @default - the last stage
   */
  readonly target?: string;

  /**
   * Target platforms as `os/arch[/variant]` (`--opt platform=`), e.g. `['linux/amd64', 'linux/arm64']`.
   * Platforms other than the node's need QEMU (binfmt) registered on the node.
   *
   * @default - the node's platform
   */
  readonly platforms?: string[];

  /**
   * Where BuildKit keeps its layer cache.
   *
   * @default CacheMode.INLINE
   */
  readonly cache?: CacheMode;

  /**
   * The cache image for `CacheMode.REGISTRY`, written as a real registry reference
   * (`harbor.example.com/team/app:buildcache`) and rewritten to the proxy like the destinations.
   *
   * @default - none; required with CacheMode.REGISTRY, refused otherwise
   */
  readonly cacheRef?: string;

  /**
   * Build secrets, each mounted from a Secret as a file (mode 0440) and passed as
   * `--secret id=<id>,src=<file>`: never in the YAML, args or image.
   *
   * @default - none
   */
  readonly secrets?: BuildkitSecret[];

  /**
   * How BuildKit runs.
   *
   * @default BuildkitMode.PRIVILEGED
   */
  readonly mode?: BuildkitMode;

  /**
   * Create a Role and RoleBinding that let `serviceAccount` `get` the Connector and use its
   * `connectors/proxy` subresource (needed when the cluster enables `enable-connector-proxy-permissions`).
   * Requires `serviceAccount`.
   *
   * @default false
   */
  readonly createRbac?: boolean;

  /**
   * Size limit of the emptyDir holding a downloaded context (`BuildContext.fromUrl`).
   *
   * @default Size.gibibytes(2)
   */
  readonly contextSizeLimit?: Size;

  /**
   * Size limit of the emptyDir holding BuildKit's state (base images, layers, cache) during the build.
   *
   * @default Size.gibibytes(20)
   */
  readonly stateSizeLimit?: Size;
}

/** The CSI driver of the connectors operator. */
const CSI_DRIVER = 'connectors-csi';

/** The connector configuration that renders `buildkitd.toml` (plain http for the proxy). */
const BUILDKITD_CONFIGURATION = 'buildkitd';

/** Where each mode's image keeps its state and its user's docker config. */
const MODE_LAYOUT: { [mode: string]: { profile: ContainerProfile; state: string; dockerConfig: string; flags: string } } = {
  [BuildkitMode.PRIVILEGED]: {
    profile: ContainerProfile.PRIVILEGED_BUILDER,
    state: '/var/lib/buildkit',
    dockerConfig: '/root/.docker',
    flags: '--config /etc/buildkit/buildkitd.toml',
  },
  [BuildkitMode.ROOTLESS]: {
    profile: ContainerProfile.ROOTLESS_BUILDER,
    state: '/home/user/.local/share/buildkit',
    dockerConfig: '/home/user/.docker',
    flags: '--oci-worker-no-process-sandbox --config /etc/buildkit/buildkitd.toml',
  },
};

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

/**
 * Builds an image with BuildKit and pushes it through an Alauda OCI Connector's proxy, so that the pod
 * never holds registry credentials: seed 004's Job (`buildctl-daemonless.sh` with the connector's CSI
 * volumes), with typed inputs.
 *
 * Pod: [fetch-context] → `buildkit`. The connector's `connectors-csi` driver mounts, read-only, a docker
 * `config.json` that authenticates to the proxy and a `buildkitd.toml` that lets BuildKit speak plain http
 * to it. Destinations are written as real registry references and pushed as proxy references. The
 * termination message lists `<reference>@<digest>` for every destination, then for every proxy reference.
 * BuildKit needs a `privileged` namespace in both modes (`podSecurityLevel`).
 */
export class OciConnectorBuildJob extends Construct implements IImageJob {
  /** The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover. */
  public readonly job: kplus.Job;

  /** The destinations as written (on the upstream registry), in push order. */
  public readonly imageReferences: ImageReference[];

  /** The references BuildKit pushes to, on the connector's proxy, in the order of `imageReferences`. */
  public readonly proxyReferences: ImageReference[];

  /** Both modes need Unconfined seccomp/AppArmor or a privileged container: `privileged`. */
  public readonly podSecurityLevel = PodSecurityLevel.PRIVILEGED;

  /** How BuildKit runs. */
  public readonly mode: BuildkitMode;

  /**
   * The Role letting the service account use the connector.
   *
   * @default - none, unless `createRbac` is true
   */
  public readonly role?: kplus.Role;

  /**
   * @param scope the chart or construct to add the Job to
   * @param id the construct id; it is part of the generated Job name, so keep it stable
   * @param props what to build, which connector pushes it, and where it should land
   */
  constructor(scope: Construct, id: string, props: OciConnectorBuildJobProps) {
    super(scope, id);
    if (!(props.connector instanceof OciConnector)) {
      invalid('connector', props.connector, 'expected an OciConnector such as OciConnector.fromName("harbor")');
    }
    if (!props.context) {
      invalid('context', props.context, 'expected a BuildContext such as BuildContext.fromConfigMap("dockerfile")');
    }
    this.mode = checkOneOf('mode', props.mode ?? BuildkitMode.PRIVILEGED, BuildkitMode);
    if (props.createRbac && !props.serviceAccount) {
      invalid('createRbac', true, 'expected a serviceAccount to bind the Role to; binding the namespace\'s default service account would hand the connector to every pod');
    }
    const layout = MODE_LAYOUT[this.mode];
    const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    const proxy = new ConnectorProxy(props.connector, Chart.of(this).namespace);
    this.imageReferences = parseDestinations('destinations', props.destinations);
    this.proxyReferences = this.imageReferences.map((ref, i) => proxy.rewrite(`destinations[${i}]`, ref));
    const cacheArgs = this.cacheArgs(props, proxy);
    const optionArgs = [
      ...(props.target !== undefined ? [`--opt=target=${checkTarget('target', props.target)}`] : []),
      ...sortedEntries('buildArgs', props.buildArgs, checkEnvName).map(([k, v]) => `--opt=build-arg:${k}=${v}`),
      ...(props.platforms && props.platforms.length > 0 ? [`--opt=platform=${props.platforms.map((p, i) => checkPlatform(`platforms[${i}]`, p)).join(',')}`] : []),
    ];
    const secrets = checkSecrets(props.secrets ?? []);

    const pod = new ImageJobPod(this, props, 'oci-connector-build', this.podSecurityLevel);
    this.job = pod.job;
    const tokenExpiration = proxy.tokenExpiration(this.job.activeDeadline!.toSeconds());
    const binding = props.context._bind(pod, { workspaceSizeLimit: props.contextSizeLimit ?? Size.gibibytes(2), dockerfile });
    const results = pod.emptyDir('results', Size.mebibytes(1));
    const state = pod.emptyDir('buildkit-state', props.stateSizeLimit ?? Size.gibibytes(20));
    const registryConfig = pod.csiVolume('registry-config', CSI_DRIVER, proxy.volumeAttributes(props.connector.registryConfigName, tokenExpiration));
    const buildkitdConfig = pod.csiVolume('buildkitd-config', CSI_DRIVER, proxy.volumeAttributes(BUILDKITD_CONFIGURATION, tokenExpiration));
    const mounts: Mount[] = [
      ...binding.mounts,
      { path: '/results', volume: results },
      { path: layout.state, volume: state },
      { path: layout.dockerConfig, volume: registryConfig, readOnly: true },
      { path: '/etc/buildkit', volume: buildkitdConfig, readOnly: true },
      ...secrets.map(s => ({ path: `/run/build-secrets/${s.id}`, volume: pod.secretFileVolume(`secret-${s.id}`, s.secretName, s.key, s.id), readOnly: true })),
    ];
    const names = this.proxyReferences.map(String).join(',');
    const args = [
      // $0 of the script; the flags follow as "$@"
      'buildctl-build',
      '--progress=plain',
      '--frontend=dockerfile.v0',
      ...buildkitContextArgs(binding, dockerfile, props.context),
      ...optionArgs,
      ...secrets.map(s => `--secret=id=${s.id},src=/run/build-secrets/${s.id}/${s.id}`),
      `--output=type=image,${this.proxyReferences.length > 1 ? `"name=${names}"` : `name=${names}`},push=true`,
      ...cacheArgs,
    ];
    const value = kplus.EnvValue.fromValue;
    pod.addContainer({
      name: 'buildkit',
      image: this.mode === BuildkitMode.ROOTLESS ? pod.images.buildkitRootless : pod.images.buildkit,
      script: BUILDKIT_BUILD_SCRIPT,
      args: args.map(escapeKubeletExpansion),
      env: [
        ['BUILDKITD_FLAGS', value(layout.flags)],
        ['BUILDCTL_CONNECT_RETRIES_MAX', value('30')],
        ['DOCKER_CONFIG', value(layout.dockerConfig)],
        ['METADATA_FILE', value('/results/metadata.json')],
        ['DESTINATIONS', value(this.imageReferences.map(String).join(' '))],
        ['PROXY_DESTINATIONS', value(this.proxyReferences.map(String).join(' '))],
      ],
      mounts,
      profile: layout.profile,
      resources: props.resources ?? BUILDER_RESOURCES,
    }, false);
    if (this.mode === BuildkitMode.ROOTLESS) {
      pod.unconfineAppArmor('buildkit');
    }
    pod.setDefaultContainer('buildkit');

    if (props.createRbac) {
      this.role = proxy.grant(this, props.serviceAccount!);
    }
  }

  private cacheArgs(props: OciConnectorBuildJobProps, proxy: ConnectorProxy): string[] {
    const cache = checkOneOf('cache', props.cache ?? CacheMode.INLINE, CacheMode);
    if (cache !== CacheMode.REGISTRY) {
      if (props.cacheRef !== undefined) {
        invalid('cacheRef', props.cacheRef, 'expected no cacheRef unless cache is CacheMode.REGISTRY');
      }
      return cache === CacheMode.INLINE ? ['--export-cache=type=inline'] : [];
    }
    if (!props.cacheRef) {
      invalid('cacheRef', props.cacheRef, 'expected a cache image reference such as "harbor.example.com/team/app:buildcache" with cache: CacheMode.REGISTRY');
    }
    const ref = ImageReference._parseFor('cacheRef', props.cacheRef);
    if (ref.digest) {
      invalid('cacheRef', props.cacheRef, 'expected a reference without "@sha256:"; BuildKit writes the cache under a tag');
    }
    const proxied = proxy.rewrite('cacheRef', ref);
    return [`--export-cache=type=registry,ref=${proxied},mode=max,ignore-error=true`, `--import-cache=type=registry,ref=${proxied}`];
  }
}

/** BuildKit's flags for a context: local directories for a prepared directory, the frontend's own clone for git. */
function buildkitContextArgs(binding: ContextBinding, dockerfile: string, context: BuildContext): string[] {
  const slash = dockerfile.lastIndexOf('/');
  if (binding.directory) {
    const dockerfileDir = slash >= 0 ? `${binding.directory}/${dockerfile.slice(0, slash)}` : binding.directory;
    return [`--opt=filename=${dockerfile.slice(slash + 1)}`, `--local=context=${binding.directory}`, `--local=dockerfile=${dockerfileDir}`];
  }
  if (binding.git) {
    const { url, ref, subPath } = binding.git;
    if (binding.git.private) {
      invalid('context', url, 'expected a public repository with OciConnectorBuildJob: BuildKit\'s git source takes no token here; use KanikoBuildJob, or fromLocalDirectory, fromUrl or fromPersistentVolumeClaim');
    }
    if (!url.endsWith('.git')) {
      invalid('context', url, 'expected a git URL ending in ".git" with OciConnectorBuildJob: BuildKit only clones such URLs as repositories');
    }
    const fragment = ref || subPath ? `#${ref ?? ''}${subPath ? `:${subPath}` : ''}` : '';
    return [`--opt=filename=${dockerfile}`, `--opt=context=${url}${fragment}`];
  }
  return refuseContextSource('OciConnectorBuildJob', context, [...DIRECTORY_SOURCES, BuildContextSource.GIT]);
}

function checkPlatform(prop: string, platform: string): string {
  if (!PLATFORM.test(platform)) {
    invalid(prop, platform, 'expected os/arch[/variant] such as "linux/amd64" or "linux/arm/v7"');
  }
  return platform;
}

interface CheckedSecret {
  readonly id: string;
  readonly secretName: string;
  readonly key: string;
}

function checkSecrets(secrets: BuildkitSecret[]): CheckedSecret[] {
  const seen = new Set<string>();
  return secrets.map((secret, i) => {
    // the id also names the volume ("secret-<id>"), which must stay a 63-character DNS label
    if (typeof secret.id !== 'string' || secret.id.length > 56) {
      invalid(`secrets[${i}].id`, secret.id, 'expected at most 56 lower-case letters, digits and "-"');
    }
    checkDnsLabel(`secrets[${i}].id`, secret.id);
    if (seen.has(secret.id)) {
      invalid(`secrets[${i}].id`, secret.id, 'expected each id once; this one is listed twice');
    }
    seen.add(secret.id);
    checkObjectName(`secrets[${i}].secretName`, secret.secretName);
    const key = checkSecretKey(`secrets[${i}].key`, secret.key ?? secret.id);
    return { id: secret.id, secretName: secret.secretName, key };
  });
}

/** A connector resolved in a chart: its namespace, proxy address, CSI attributes and RBAC. */
class ConnectorProxy {
  constructor(private readonly connector: OciConnector, private readonly chartNamespace: string | undefined) {}

  /** The reference as pushed through the proxy: same repository and tag, proxy prefix instead of registry. */
  public rewrite(prop: string, ref: ImageReference): ImageReference {
    const registry = this.connector.registry;
    if (registry !== undefined && ref.registry !== registry) {
      invalid(prop, ref.toString(), `expected a reference on the connector's registry "${registry}"; the proxy only injects credentials for it`);
    }
    return ImageReference._parseFor(prop, `${this.prefix()}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}`);
  }

  /** `token.expiration` in minutes: as given, or 10 minutes past the deadline. */
  public tokenExpiration(activeDeadlineSeconds: number): string {
    const given = this.connector.tokenExpiration;
    if (given === undefined) {
      return `${Math.ceil(activeDeadlineSeconds / 60) + 10}m`;
    }
    if (given.toSeconds() <= activeDeadlineSeconds) {
      invalid('connector tokenExpiration', `${given.toMinutes()}m`,
        `expected more than the Job's activeDeadline (${activeDeadlineSeconds}s); the mounted credentials would expire mid-build`);
    }
    return `${given.toMinutes()}m`;
  }

  /** The CSI volume attributes for one connector configuration. */
  public volumeAttributes(configuration: string, tokenExpiration: string): [string, string][] {
    const { name, namespace, volumeAttributeStyle: style } = this.connector;
    return [
      ...(style !== VolumeAttributeStyle.LEGACY ? [['connectors', namespace ? `${namespace}/${name}` : name]] : []),
      ...(style !== VolumeAttributeStyle.CURRENT ? [['connector.name', name]] : []),
      ...(style !== VolumeAttributeStyle.CURRENT && namespace ? [['connector.namespace', namespace]] : []),
      ['configuration.names', configuration],
      ['token.expiration', tokenExpiration],
    ] as [string, string][];
  }

  /**
   * A Role in the connector's namespace granting the connector and its proxy, bound to `serviceAccount` in
   * the pod's namespace (cdk8s-plus would name the `default` namespace for an imported service account).
   */
  public grant(scope: Construct, serviceAccount: kplus.IServiceAccount): kplus.Role {
    const { name, namespace } = this.connector;
    if (namespace && !this.chartNamespace) {
      invalid('createRbac', true, `expected the chart's namespace: the Role lives in the connector's namespace "${namespace}" and must name the pod's`);
    }
    const metadata = namespace ? { namespace } : undefined;
    const role = new kplus.Role(scope, 'ConnectorRole', { metadata });
    const apiGroup = 'connectors.alauda.io';
    role.allow(['get'], { apiGroup, resourceType: 'connectors', resourceName: name });
    role.allow(['*'], { apiGroup, resourceType: 'connectors/proxy', resourceName: name });
    // without a namespace, a RoleBinding's ServiceAccount subject is looked up in the binding's own namespace
    new kplus.RoleBinding(scope, 'ConnectorRoleBinding', { metadata, role })
      .addSubjects(new ServiceAccountSubject(scope, 'ConnectorSubject', serviceAccount.name, this.chartNamespace));
    return role;
  }

  private prefix(): string {
    const { name, proxyHost, addressing } = this.connector;
    const host = proxyHost ?? `c-${name}.${this.namespace()}.svc.cluster.local`;
    return addressing === ProxyAddressing.PATH_PREFIX ? `${host}/namespaces/${this.namespace()}/connectors/${name}` : host;
  }

  private namespace(): string {
    const namespace = this.connector.namespace ?? this.chartNamespace;
    if (!namespace) {
      invalid('connector', this.connector.name, 'expected a namespace for the proxy address: set OciConnector.fromName(name, { namespace }) or the chart\'s namespace');
    }
    return namespace;
  }
}

/** A service account as a RoleBinding subject, in the namespace the pod runs in. */
class ServiceAccountSubject extends Construct implements kplus.ISubject {
  constructor(scope: Construct, id: string, private readonly serviceAccountName: string, private readonly namespace: string | undefined) {
    super(scope, id);
  }

  public toSubjectConfiguration(): kplus.SubjectConfiguration {
    return { apiGroup: '', kind: 'ServiceAccount', name: this.serviceAccountName, namespace: this.namespace };
  }
}
