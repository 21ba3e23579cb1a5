import { Duration } from 'cdk8s';
import { checkDnsLabel, checkOneOf, checkRegistryHost, checkWholeSeconds, invalid } from './_validate';

/**
 * How image references are written for the connector's proxy.
 *
 * @see https://docs.alauda.io/alauda-devops-connectors/
 */
export enum ProxyAddressing {
  /**
   * `<proxyHost>/namespaces/<namespace>/connectors/<name>/<repository>:<tag>`: the reverse-proxy form the
   * current connector documentation uses.
   */
  PATH_PREFIX = 'path-prefix',

  /** `<proxyHost>/<repository>:<tag>`: the form of the OCI Connector documentation's BuildKit Job. */
  HOST_ONLY = 'host-only',
}

/** The name of the connector configuration that renders the docker `config.json` for the proxy. */
export enum RegistryConfigName {
  /** `registry-config`: connectors operator v1.8 and later. */
  REGISTRY_CONFIG = 'registry-config',

  /** `docker-config`: operators before v1.8 (deprecated in v1.8, still served). */
  DOCKER_CONFIG = 'docker-config',
}

/** Which CSI volume attributes name the connector. */
export enum VolumeAttributeStyle {
  /** Only `connectors` (`<name>` or `<namespace>/<name>`), the attribute the v1.10+ documentation requires. */
  CURRENT = 'connectors',

  /** Only the deprecated `connector.name` (and `connector.namespace`), which older operators read. */
  LEGACY = 'connector.name',

  /** Both, so the same YAML works with old and new operators. */
  BOTH = 'both',
}

/** Options for `OciConnector.fromName()`. */
export interface OciConnectorOptions {
  /**
   * The Connector's namespace.
   *
   * @default - the pod's namespace: the chart's when it has one, otherwise `OciConnectorBuildJob` reads it from
   * the downward API (`$(POD_NAMESPACE)` in the proxy references) and omits the CSI attribute
   * `connector.namespace`, which `connectors-csi` defaults to the pod's namespace
   */
  readonly namespace?: string;

  /**
   * The proxy's host (and port): what the Connector's `status.proxy.httpAddress.url` says. A URL such as
   * `http://c-harbor.default.svc.cluster.local` is accepted; only its host and port are kept.
   *
   * @default - `c-<name>.<namespace>.svc.cluster.local`
   */
  readonly proxyHost?: string;

  /**
   * How references are rewritten for the proxy.
   *
   * @default ProxyAddressing.PATH_PREFIX
   */
  readonly addressing?: ProxyAddressing;

  /**
   * The upstream registry the Connector's `spec.address` points at, as a host (`harbor.example.com`) or that
   * URL. When set, every destination must be on this registry, and the construct refuses any other. Hosts
   * compare case-insensitively, and `docker.io`, `index.docker.io` and `registry-1.docker.io` alike.
   *
   * @default - destinations are checked against each other only: all on the registry of the first
   */
  readonly registry?: string;

  /**
   * The connector configuration that provides the docker `config.json`.
   *
   * @default RegistryConfigName.REGISTRY_CONFIG
   */
  readonly registryConfigName?: RegistryConfigName;

  /**
   * How long the mounted configuration's token stays valid (CSI attribute `token.expiration`), in whole
   * minutes. It must exceed the Job's `activeDeadline`, or a long build would lose its credentials
   * mid-push.
   *
   * @default - the Job's activeDeadline plus 10 minutes (the driver's own default, 30 minutes, is too short
   * for long builds)
   */
  readonly tokenExpiration?: Duration;

  /**
   * Which CSI volume attributes name the connector.
   *
   * @default VolumeAttributeStyle.BOTH
   */
  readonly volumeAttributeStyle?: VolumeAttributeStyle;
}

/**
 * An Alauda OCI Connector: a namespaced `Connector` custom resource (`connectors.alauda.io/v1alpha1`) that
 * holds registry credentials. Pods never see them: they mount the `connectors-csi` volumes the connector
 * renders (a docker `config.json` for the proxy and a `buildkitd.toml` that marks the proxy as plain http)
 * and push to the connector's in-cluster proxy, which injects the credentials on the way to the registry.
 *
 * @see https://docs.alauda.io/alauda-devops-connectors/
 */
export class OciConnector {
  /**
   * A Connector by name.
   *
   * @param name the Connector's `metadata.name`, e.g. `harbor`
   * @param options namespace, proxy address and mounting options
   */
  public static fromName(name: string, options: OciConnectorOptions = {}): OciConnector {
    return new OciConnector(name, options);
  }

  /** The Connector's name. */
  public readonly name: string;

  /**
   * The Connector's namespace, when given.
   *
   * @default - the chart's (pod's) namespace
   */
  public readonly namespace?: string;

  /**
   * The proxy host (and port), when given.
   *
   * @default - `c-<name>.<namespace>.svc.cluster.local`
   */
  public readonly proxyHost?: string;

  /** How references are rewritten for the proxy. */
  public readonly addressing: ProxyAddressing;

  /**
   * The upstream registry host (and port), when given.
   *
   * @default - destinations are checked against each other only
   */
  public readonly registry?: string;

  /** The connector configuration that provides the docker `config.json`. */
  public readonly registryConfigName: RegistryConfigName;

  /**
   * The token lifetime, when given.
   *
   * @default - the Job's activeDeadline plus 10 minutes
   */
  public readonly tokenExpiration?: Duration;

  /** Which CSI volume attributes name the connector. */
  public readonly volumeAttributeStyle: VolumeAttributeStyle;

  private constructor(name: string, options: OciConnectorOptions) {
    this.name = checkDnsLabel('OciConnector.fromName name', name);
    this.namespace = options.namespace === undefined ? undefined : checkDnsLabel('OciConnector.fromName namespace', options.namespace);
    this.proxyHost = options.proxyHost === undefined ? undefined : hostOf('OciConnector.fromName proxyHost', options.proxyHost);
    this.registry = options.registry === undefined ? undefined : hostOf('OciConnector.fromName registry', options.registry);
    this.addressing = checkOneOf('OciConnector.fromName addressing', options.addressing ?? ProxyAddressing.PATH_PREFIX, ProxyAddressing);
    this.registryConfigName = checkOneOf('OciConnector.fromName registryConfigName', options.registryConfigName ?? RegistryConfigName.REGISTRY_CONFIG,
      RegistryConfigName);
    this.volumeAttributeStyle = checkOneOf('OciConnector.fromName volumeAttributeStyle', options.volumeAttributeStyle ?? VolumeAttributeStyle.BOTH,
      VolumeAttributeStyle);
    if (options.tokenExpiration !== undefined) {
      const seconds = checkWholeSeconds('OciConnector.fromName tokenExpiration', options.tokenExpiration, 60);
      if (seconds % 60 !== 0) {
        invalid('OciConnector.fromName tokenExpiration', `${seconds}s`, 'expected whole minutes, e.g. Duration.minutes(90)');
      }
    }
    this.tokenExpiration = options.tokenExpiration;
  }
}

/** A registry or proxy host with an optional port, given bare or as an http(s) URL. */
function hostOf(prop: string, value: string): string {
  if (typeof value === 'string' && /^https?:\/\//.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return invalid(prop, value, 'expected a host such as "harbor.example.com" or a URL such as "https://harbor.example.com"');
    }
    if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      invalid(prop, value, 'expected a URL with nothing after the host and port');
    }
    return url.host;
  }
  return checkRegistryHost(prop, value);
}
