import { Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { withCommit } from './_build';
import { addBuildkitContainer, buildkitLayout, checkSecrets } from './_buildkit';
import { buildkitAnnotationAttributes } from './_oci-annotations';
import { escapeKubeletExpansion, expandedEnvValue, ImageJobPod } from './_pod';
import { parseDestinations } from './_refs';
import { registryKey } from './_registry';
import { BUILDKIT_BUILD_SCRIPT } from './_scripts';
import { checkTerminationMessage } from './_termination-message';
import { checkOneOf, checkRelativePath, invalid } from './_validate';
import { BuildContext, BuildContextSource } from './build-context';
import { BuildkitMode, BuildkitSecret, CacheMode } from './buildkit-options';
import { ImageAnnotationOptions } from './image-annotation-options';
import { IImageJob, ImageJobOptions, PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';
import { OciConnector, ProxyAddressing, VolumeAttributeStyle } from './oci-connector';

/** Props of `OciConnectorBuildJob`. */
export interface OciConnectorBuildJobProps extends ImageJobOptions, ImageAnnotationOptions {
  /** The connector whose proxy pushes the image, e.g. `OciConnector.fromName('harbor')`. */
  readonly connector: OciConnector;

  /**
   * The build context: `BuildContext.fromConfigMap()` (as the OCI Connector documentation does), `fromLocalDirectory()`, `fromUrl()`,
   * `fromPersistentVolumeClaim()`, or `fromGit()` for a repository with a URL ending in `.git` (BuildKit
   * clones it itself; a private one's `tokenSecret` key is mounted as a file and passed as the build secret
   * `GIT_AUTH_TOKEN.<host>`, without `username`). S3 and GCS contexts are kaniko-only.
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
   * there; the proxy forwards to the registry with the connector's credentials. A connector proxies one
   * registry (its `spec.address`), so every destination (and `cacheRef`) must be on the registry of the
   * first (host names compared case-insensitively, Docker Hub's aliases alike). Every destination and proxy
   * reference is one line of the termination message, which must fit the kubelet's 4096 bytes.
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
   * Target platforms as `os/arch[/variant]` (`--opt platform=`), e.g. `['linux/amd64', 'linux/arm64']`,
   * each once. Platforms other than the node's need QEMU (binfmt) registered on the node.
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
   * Create a Role and RoleBinding that let the `serviceAccountName` account `get` the Connector (and, with
   * `grantConnectorProxy`, use its proxy). Requires `serviceAccountName`.
   *
   * @default false
   */
  readonly createRbac?: boolean;

  /**
   * Also grant the `connectors/proxy` subresource (all verbs) in the Role `createRbac` creates: needed only
   * when the cluster gates the proxy with the feature flag `enable-connector-proxy-permissions`. Requires
   * `createRbac`.
   *
   * @default false - the Role grants `get` on the Connector only
   */
  readonly grantConnectorProxy?: boolean;

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

/**
 * Builds an image with BuildKit and pushes it through an Alauda OCI Connector's proxy, so that the pod
 * never holds registry credentials: the OCI Connector documentation's BuildKit Job (`buildctl-daemonless.sh` with the connector's CSI
 * volumes), with typed inputs.
 *
 * Pod: [fetch-context] → `buildkit`. The connector's `connectors-csi` driver mounts, read-only, a docker
 * `config.json` that authenticates to the proxy and a `buildkitd.toml` that lets BuildKit speak plain http
 * to it. Destinations are written as real registry references and pushed as proxy references. The
 * termination message lists `<reference>@<digest>` for every destination, then for every proxy reference.
 * BuildKit needs a `privileged` namespace in both modes (`podSecurityLevel`).
 */
export class OciConnectorBuildJob extends Construct implements IImageJob {
  /**
   * The underlying Job (construct id `Resource`): the escape hatch for anything the props do not cover.
   *
   * A cdk8s-plus-28 `Job` whatever cdk8s-plus version your app uses; `ApiObject.of(x.job).addJsonPatch(…)`
   * patches it from any version.
   */
  public readonly job: kplus.Job;

  /** The destinations as written (on the upstream registry), in push order. */
  public readonly imageReferences: ImageReference[];

  /**
   * The references BuildKit pushes to, on the connector's proxy, in the order of `imageReferences`. When
   * neither the connector nor the chart names a namespace, the namespace parts read `$(POD_NAMESPACE)`,
   * which kubelet expands to the pod's namespace in the args and in `PROXY_DESTINATIONS`.
   */
  public readonly proxyReferences: string[];

  /** Both modes need Unconfined seccomp/AppArmor or a privileged container: `privileged`. */
  public readonly podSecurityLevel = PodSecurityLevel.PRIVILEGED;

  /** How BuildKit runs. */
  public readonly mode: BuildkitMode;

  /**
   * The Role letting the service account use the connector (a cdk8s-plus-28 `Role`).
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
    if (props.createRbac && !props.serviceAccountName) {
      invalid('createRbac', true, 'expected a serviceAccountName to bind the Role to; binding the namespace\'s default service account would hand the connector to every pod');
    }
    if (props.grantConnectorProxy && !props.createRbac) {
      invalid('grantConnectorProxy', true, 'expected createRbac: true; the grant is a rule of the Role createRbac creates');
    }
    const dockerfile = checkRelativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    const proxy = new ConnectorProxy(props.connector, Chart.of(this).namespace);
    this.imageReferences = parseDestinations('destinations', props.destinations);
    const upstream = this.imageReferences[0].registry;
    const proxied = this.imageReferences.map((ref, i) => proxy.rewrite(`destinations[${i}]`, ref, upstream));
    const seen = new Map<string, number>();
    proxied.forEach((ref, i) => {
      if (seen.has(ref.worstCase)) {
        invalid(`destinations[${i}]`, props.destinations[i], `expected a destination of its own on the proxy; it maps to "${ref.worstCase}" like destinations[${seen.get(ref.worstCase)}]`);
      }
      seen.set(ref.worstCase, i);
    });
    checkConnectorTerminationMessage(props.destinations, this.imageReferences, proxied);
    this.proxyReferences = proxied.map(ref => ref.text);
    const cacheArgs = this.cacheArgs(props, proxy, upstream);
    const secrets = checkSecrets(props.secrets ?? []);

    checkDownloadOnlyAuthorities(props);
    const pod = new ImageJobPod(this, props, 'oci-connector-build', this.podSecurityLevel);
    this.job = pod.job;
    const tokenExpiration = proxy.tokenExpiration(this.job.activeDeadline!.toSeconds());
    const binding = props.context._bind(pod, { workspaceSizeLimit: props.contextSizeLimit ?? Size.gibibytes(2), dockerfile });
    const results = pod.emptyDir('results', Size.mebibytes(1));
    const state = pod.emptyDir('buildkit-state', props.stateSizeLimit ?? Size.gibibytes(20));
    const registryConfig = pod.csiVolume('registry-config', CSI_DRIVER, proxy.volumeAttributes(props.connector.registryConfigName, tokenExpiration));
    const buildkitdConfig = pod.csiVolume('buildkitd-config', CSI_DRIVER, proxy.volumeAttributes(BUILDKITD_CONFIGURATION, tokenExpiration));
    const value = kplus.EnvValue.fromValue;
    addBuildkitContainer(pod, {
      construct: 'OciConnectorBuildJob',
      name: 'buildkit',
      mode: this.mode,
      context: props.context,
      binding,
      dockerfile,
      inputs: { ...props, buildArgs: withCommit(props.buildArgs, props.commitSha) },
      secrets,
      results,
      state,
      configMounts: [
        { path: buildkitLayout(this.mode).dockerConfig, volume: registryConfig, readOnly: true },
        { path: '/etc/buildkit', volume: buildkitdConfig, readOnly: true },
      ],
      daemonFlags: ['--config /etc/buildkit/buildkitd.toml'],
      outputNames: this.proxyReferences,
      // the annotations Kargo reads; escaped for kubelet like the other arguments (a URL may hold "$(")
      outputAnnotations: escapeKubeletExpansion(buildkitAnnotationAttributes(props)),
      cacheArgs,
      script: BUILDKIT_BUILD_SCRIPT,
      // first: kubelet expands $(POD_NAMESPACE) only in the variables defined after it
      envBefore: proxy.fromPod ? [['POD_NAMESPACE', kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE)]] : [],
      env: [
        ['DESTINATIONS', value(this.imageReferences.map(String).join(' '))],
        ['PROXY_DESTINATIONS', expandedEnvValue(this.proxyReferences.join(' '))],
      ],
      init: false,
      resources: props.resources,
    });
    pod.setDefaultContainer('buildkit');

    if (props.createRbac) {
      this.role = proxy.grant(this, props.serviceAccountName!, props.grantConnectorProxy ?? false);
    }
  }

  private cacheArgs(props: OciConnectorBuildJobProps, proxy: ConnectorProxy, upstream: string): string[] {
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
    const proxied = proxy.rewrite('cacheRef', ref, upstream).text;
    return [`--export-cache=type=registry,ref=${proxied},mode=max,ignore-error=true`, `--import-cache=type=registry,ref=${proxied}`];
  }
}

/**
 * The script writes `<reference>@<digest>` for every destination, then every proxy reference; kubelet keeps
 * 4096 bytes of it, so a longer list would lose lines at run time.
 */
function checkConnectorTerminationMessage(destinations: string[], refs: ImageReference[], proxied: ProxiedReference[]): void {
  checkTerminationMessage('destinations', destinations, [...refs.map(String), ...proxied.map(ref => ref.worstCase)],
    '"<reference>@sha256:<64 hex>" per destination and per proxy reference');
}

/** A reference on the proxy. */
interface ProxiedReference {
  /** As kubelet gets it: escaped, with `$(POD_NAMESPACE)` when the namespace comes from the pod. */
  readonly text: string;
  /** With the longest namespace (63 characters) in place of `$(POD_NAMESPACE)`: for length checks and comparison. */
  readonly worstCase: string;
}

/** Stands in for the pod's namespace in length checks: a namespace is a DNS label, at most 63 characters. */
const LONGEST_NAMESPACE = 'n'.repeat(63);

/** A connector resolved in a chart: its namespace, proxy address, CSI attributes and RBAC. */
class ConnectorProxy {
  /** True when the proxy address needs the pod's namespace, which only kubelet knows (`$(POD_NAMESPACE)`). */
  public readonly fromPod: boolean;

  constructor(private readonly connector: OciConnector, private readonly chartNamespace: string | undefined) {
    const needsNamespace = connector.addressing === ProxyAddressing.PATH_PREFIX || connector.proxyHost === undefined;
    this.fromPod = needsNamespace && (connector.namespace ?? chartNamespace) === undefined;
  }

  /**
   * The reference as pushed through the proxy: same repository and tag, proxy prefix instead of registry. The
   * reference must be on `upstream` (the first destination's registry) and, when given, the connector's registry.
   */
  public rewrite(prop: string, ref: ImageReference, upstream: string): ProxiedReference {
    const registry = this.connector.registry;
    if (registry !== undefined && registryKey(ref.registry) !== registryKey(registry)) {
      invalid(prop, ref.toString(), `expected a reference on the connector's registry "${registry}"; the proxy only injects credentials for it`);
    }
    if (registryKey(ref.registry) !== registryKey(upstream)) {
      invalid(prop, ref.toString(), `expected a reference on the registry of destinations[0] ("${upstream}"); a connector proxies one registry (its spec.address)`);
    }
    const path = `/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}`;
    const worstCase = ImageReference._parseFor(prop, `${this.prefix(this.namespace() ?? LONGEST_NAMESPACE)}${path}`).toString();
    const text = this.fromPod
      ? `${escapeKubeletExpansion(this.prefix('\0')).replace(/\0/g, '$(POD_NAMESPACE)')}${escapeKubeletExpansion(path)}`
      : escapeKubeletExpansion(worstCase);
    return { text, worstCase };
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
   * A Role in the connector's namespace granting the connector and its proxy, bound to the `serviceAccountName` account in
   * the pod's namespace (cdk8s-plus would name the `default` namespace for an imported service account).
   */
  public grant(scope: Construct, serviceAccountName: string, connectorProxy: boolean): kplus.Role {
    const { name, namespace } = this.connector;
    if (namespace && !this.chartNamespace) {
      invalid('createRbac', true, `expected the chart's namespace: the Role lives in the connector's namespace "${namespace}" and must name the pod's`);
    }
    const metadata = namespace ? { namespace } : undefined;
    const role = new kplus.Role(scope, 'ConnectorRole', { metadata });
    const apiGroup = 'connectors.alauda.io';
    role.allow(['get'], { apiGroup, resourceType: 'connectors', resourceName: name });
    if (connectorProxy) {
      role.allow(['*'], { apiGroup, resourceType: 'connectors/proxy', resourceName: name });
    }
    // without a namespace, a RoleBinding's ServiceAccount subject is looked up in the binding's own namespace
    new kplus.RoleBinding(scope, 'ConnectorRoleBinding', { metadata, role })
      .addSubjects(new ServiceAccountSubject(scope, 'ConnectorSubject', serviceAccountName, this.chartNamespace));
    return role;
  }

  private prefix(namespace: string): string {
    const { name, proxyHost, addressing } = this.connector;
    const host = proxyHost ?? `c-${name}.${namespace}.svc.cluster.local`;
    return addressing === ProxyAddressing.PATH_PREFIX ? `${host}/namespaces/${namespace}/connectors/${name}` : host;
  }

  /** The connector's namespace, else the chart's; undefined when only the pod knows it. */
  private namespace(): string | undefined {
    return this.connector.namespace ?? this.chartNamespace;
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

/**
 * BuildKit reads its registry CAs from the connector's `buildkitd.toml` (published by connectors-csi), which this
 * construct does not write: a CA bundle here may only serve the context download (`BuildContext.fromUrl`).
 */
function checkDownloadOnlyAuthorities(props: OciConnectorBuildJobProps): void {
  const location = props.context?.source === BuildContextSource.URL ? props.context.location : undefined;
  const downloadHost = location ? new URL(location).host : undefined;
  (props.certificateAuthorities ?? []).forEach((authority, i) => {
    const registries = authority?.registries;
    if (!registries || registries.some(host => host !== downloadHost)) {
      invalid(`certificateAuthorities[${i}]`, authority?.name ?? authority,
        'expected a bundle whose registries list only the context download host: BuildKit here trusts the registry CAs of the connector\'s buildkitd.toml');
    }
  });
}
