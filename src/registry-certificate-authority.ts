import { checkRegistryHosts } from './_registry';
import { checkObjectName, checkSecretKey, invalid } from './_validate';

/** Options for a `RegistryCertificateAuthority`. */
export interface RegistryCertificateAuthorityOptions {
  /**
   * The hosts (`host[:port]`) this CA bundle is trusted for: registries, such as a private base image's registry
   * the Job cannot know, a context or archive download host, or the git host of `BuildContext.fromGit`. A host may
   * appear in one bundle only.
   *
   * @default - every registry the Job itself names (destinations, source, cache) that no other bundle lists
   */
  readonly registries?: string[];
}

/** Where a CA bundle is stored. */
export enum CertificateAuthoritySource {
  /** A key of a ConfigMap. */
  CONFIG_MAP = 'config-map',
  /** A key of a Secret. */
  SECRET = 'secret',
}

/**
 * A PEM bundle of private certificate authorities the tools trust for registries, download hosts and git hosts,
 * in addition to their image's system trust store. TLS verification stays on: this only adds trust. The bundle
 * is mounted read-only into the containers that talk to those hosts (never copied into the image being built):
 * as `/etc/containers/certs.d/<host>/ca.crt` for skopeo and buildah, as `--registry-certificate <host>=<file>`
 * for kaniko, as `ca = [...]` in BuildkitBuildJob's `buildkitd.toml`, as `CURL_CA_BUNDLE` for a download, and
 * in kaniko's `SSL_CERT_DIR` for the clone of a git context.
 */
export class RegistryCertificateAuthority {
  /**
   * A CA bundle in a ConfigMap, e.g. one created with `kubectl create configmap corp-ca --from-file=ca.crt`.
   *
   * @param configMapName the ConfigMap in the Job's namespace
   * @param key the key holding the PEM bundle, a plain file name
   * @param options the registries it is for
   */
  public static fromConfigMap(configMapName: string, key: string = 'ca.crt', options: RegistryCertificateAuthorityOptions = {}): RegistryCertificateAuthority {
    const prop = 'RegistryCertificateAuthority.fromConfigMap';
    checkObjectName(`${prop} configMapName`, configMapName);
    return new RegistryCertificateAuthority(CertificateAuthoritySource.CONFIG_MAP, configMapName, checkBundleKey(`${prop} key`, key),
      checkCaRegistries(`${prop} registries`, options.registries));
  }

  /**
   * A CA bundle in a Secret, e.g. the `ca.crt` key of a cert-manager Certificate's Secret.
   *
   * @param secretName the Secret in the Job's namespace
   * @param key the key holding the PEM bundle, a plain file name
   * @param options the registries it is for
   */
  public static fromSecret(secretName: string, key: string = 'ca.crt', options: RegistryCertificateAuthorityOptions = {}): RegistryCertificateAuthority {
    const prop = 'RegistryCertificateAuthority.fromSecret';
    checkObjectName(`${prop} secretName`, secretName);
    return new RegistryCertificateAuthority(CertificateAuthoritySource.SECRET, secretName, checkBundleKey(`${prop} key`, key),
      checkCaRegistries(`${prop} registries`, options.registries));
  }

  /** Whether the bundle is in a ConfigMap or a Secret. */
  public readonly source: CertificateAuthoritySource;

  /** The ConfigMap's or Secret's name. */
  public readonly name: string;

  /** The key holding the PEM bundle. */
  public readonly key: string;

  /**
   * The registries the bundle is for, canonical.
   *
   * @default - every registry the Job names that no other bundle lists
   */
  public readonly registries?: string[];

  private constructor(source: CertificateAuthoritySource, name: string, key: string, registries?: string[]) {
    this.source = source;
    this.name = name;
    this.key = key;
    this.registries = registries;
  }
}

/** A Secret/ConfigMap key that is a plain file name (kubelet writes it as a file). */
function checkBundleKey(prop: string, key: string): string {
  checkSecretKey(prop, key);
  if (key === '.' || key === '..') {
    invalid(prop, key, 'expected a relative file name such as "ca.crt"');
  }
  return key;
}

function checkCaRegistries(prop: string, registries: string[] | undefined): string[] | undefined {
  return registries === undefined ? undefined : checkRegistryHosts(prop, registries, '["harbor.example.com"], or no registries for every registry the Job names');
}
