import { checkRegistryHost, checkRegistryHosts, registryKey } from './_registry';
import { checkObjectName, checkSecretKey, invalid } from './_validate';

/** Options for `RegistryCredentials.fromUsernamePassword()`. */
export interface UsernamePasswordOptions {
  /**
   * The key of the Secret that holds the user name.
   *
   * @default "username"
   */
  readonly usernameKey?: string;

  /**
   * The key of the Secret that holds the password or token.
   *
   * @default "password"
   */
  readonly passwordKey?: string;

  /**
   * More registries the same user name and password are written for, as `host[:port]`, such as the registry
   * of a private base image (`FROM private.corp.io/base:1`). The composed `config.json` only has entries for
   * the registries the Job pushes to or reads from itself, plus these.
   *
   * @default - none: only the registries the Job pushes to or reads from
   */
  readonly additionalRegistries?: string[];

  /**
   * The only registries these credentials are for, as `host[:port]`: the composed `config.json` has an entry
   * for each of them and for no other registry. A registry the Job uses that is not listed (a cache, a public
   * base image's registry) is reached anonymously. Required to `combine()` credentials.
   *
   * @default - the registries the Job pushes to (or, for a source, reads from) with these credentials, plus
   * `additionalRegistries`; any other registry the tool contacts with them (a cache repository elsewhere) is
   * refused at synth time
   */
  readonly registries?: string[];
}

/** How a `RegistryCredentials` value reaches the tools. */
export enum CredentialsSource {
  /** No credentials: anonymous pulls and pushes. */
  ANONYMOUS = 'anonymous',
  /** A Secret holding a complete docker `config.json`, mounted as a file. */
  DOCKER_CONFIG_SECRET = 'docker-config-secret',
  /** A Secret holding a user name and a password, composed into a `config.json` by an init step. */
  USERNAME_PASSWORD_SECRET = 'username-password-secret',
  /** Several username/password Secrets, each composed into the `config.json` for its own registries only. */
  PER_REGISTRY = 'per-registry',
}


/**
 * Credentials for a container registry, always by reference to a Kubernetes Secret.
 *
 * The tools always receive a docker `config.json` file, never a password on the command line or in the
 * YAML: a docker-config Secret is mounted read-only, and a username/password Secret is turned into a
 * `config.json` (mode 0640, readable by the pod's group only) on a memory-backed emptyDir by a small init container.
 */
export class RegistryCredentials {
  /**
   * A `kubernetes.io/dockerconfigjson` Secret (or an Opaque one) holding a complete docker `config.json`.
   *
   * Create one with `kubectl create secret docker-registry NAME --docker-server=… --docker-username=… --docker-password=…`.
   * Its `auths` keys must match the registries exactly (`host:port`).
   *
   * @param secretName name of the Secret in the Job's namespace
   * @param key the key holding the JSON document; `.dockercfg`-format keys are not supported
   */
  public static fromDockerConfigSecret(secretName: string, key: string = '.dockerconfigjson'): RegistryCredentials {
    checkObjectName('RegistryCredentials.fromDockerConfigSecret secretName', secretName);
    checkSecretKey('RegistryCredentials.fromDockerConfigSecret key', key);
    return new RegistryCredentials(CredentialsSource.DOCKER_CONFIG_SECRET, secretName, key);
  }

  /**
   * A Secret holding a user name and a password or token, such as the classic Job YAMLs' `harbor-credentials`
   * (`username` / `password` keys).
   *
   * An init container reads both keys through `secretKeyRef` (as `HARBOR_USERNAME` / `HARBOR_PASSWORD`) and
   * writes a `config.json` with an entry for each registry the credentials are used for (the destinations or
   * the source of the Job) and for each of `additionalRegistries` (name a private base image's registry there,
   * or its pull fails), or, with `registries`, for exactly those. A cache on a registry outside them is
   * refused at synth time: the credentials are never written for a registry they were not given for.
   *
   * @param secretName name of the Secret in the Job's namespace
   * @param options the Secret's keys and any additional registries
   */
  public static fromUsernamePassword(secretName: string, options: UsernamePasswordOptions = {}): RegistryCredentials {
    checkObjectName('RegistryCredentials.fromUsernamePassword secretName', secretName);
    const usernameKey = checkSecretKey('RegistryCredentials.fromUsernamePassword usernameKey', options.usernameKey ?? 'username');
    const passwordKey = checkSecretKey('RegistryCredentials.fromUsernamePassword passwordKey', options.passwordKey ?? 'password');
    if (usernameKey === passwordKey) {
      invalid('RegistryCredentials.fromUsernamePassword passwordKey', passwordKey, 'expected a key other than usernameKey');
    }
    const additional = options.additionalRegistries ?? [];
    if (!Array.isArray(additional)) {
      invalid('RegistryCredentials.fromUsernamePassword additionalRegistries', additional, 'expected a list of registry hosts such as ["private.corp.io"]');
    }
    const additionalRegistries = additional.map((host, i) => checkRegistryHost(`RegistryCredentials.fromUsernamePassword additionalRegistries[${i}]`, host));
    const registries = options.registries === undefined ? undefined : checkRegistryHosts('RegistryCredentials.fromUsernamePassword registries', options.registries, '["harbor.example.com"]');
    if (registries && additionalRegistries.length > 0) {
      invalid('RegistryCredentials.fromUsernamePassword additionalRegistries', additional, 'expected no additionalRegistries next to registries: list every registry in registries');
    }
    return new RegistryCredentials(CredentialsSource.USERNAME_PASSWORD_SECRET, secretName, undefined, usernameKey, passwordKey, additionalRegistries,
      registries);
  }

  /**
   * Several credentials, each only for its own registries: one `config.json` is composed with each user
   * name and password written only under the hosts of its own `registries`, so no registry ever receives
   * another registry's credentials. A registry the Job uses that none of them lists is reached anonymously.
   *
   * @example RegistryCredentials.combine([
   *   RegistryCredentials.fromUsernamePassword('harbor-robot', { registries: ['harbor.example.com'] }),
   *   RegistryCredentials.fromUsernamePassword('cache-robot', { registries: ['cache.internal:5000'] }),
   * ])
   * @param credentials `fromUsernamePassword()` credentials, each with `registries`; a registry may appear in only one
   */
  public static combine(credentials: RegistryCredentials[]): RegistryCredentials {
    if (!Array.isArray(credentials) || credentials.length === 0) {
      invalid('RegistryCredentials.combine credentials', credentials, 'expected a non-empty list of fromUsernamePassword() credentials, each with registries');
    }
    const owner = new Map<string, number>();
    credentials.forEach((part, i) => {
      if (!(part instanceof RegistryCredentials) || part.source !== CredentialsSource.USERNAME_PASSWORD_SECRET || !part.registries) {
        invalid(`RegistryCredentials.combine credentials[${i}]`, part?.secretName ?? part?.source ?? part,
          'expected RegistryCredentials.fromUsernamePassword(secretName, { registries: [...] }); a docker-config Secret already holds one entry per registry and cannot be merged');
      }
      for (const host of part.registries) {
        const first = owner.get(registryKey(host));
        if (first !== undefined) {
          invalid(`RegistryCredentials.combine credentials[${i}].registries`, host, `expected each registry in one credential only; it is also in credentials[${first}] (Secret "${credentials[first].secretName}")`);
        }
        owner.set(registryKey(host), i);
      }
    });
    return new RegistryCredentials(CredentialsSource.PER_REGISTRY, undefined, undefined, undefined, undefined, [], undefined, [...credentials]);
  }

  /** No credentials: the registry allows anonymous access. */
  public static anonymous(): RegistryCredentials {
    return new RegistryCredentials(CredentialsSource.ANONYMOUS);
  }

  /** How the credentials reach the tools. */
  public readonly source: CredentialsSource;

  /**
   * The Secret's name.
   *
   * @default - no Secret (anonymous)
   */
  public readonly secretName?: string;

  /**
   * The Secret key holding a docker `config.json` (docker-config Secrets only).
   *
   * @default - not a docker-config Secret
   */
  public readonly dockerConfigKey?: string;

  /**
   * The Secret key holding the user name (username/password Secrets only).
   *
   * @default - not a username/password Secret
   */
  public readonly usernameKey?: string;

  /**
   * The Secret key holding the password (username/password Secrets only).
   *
   * @default - not a username/password Secret
   */
  public readonly passwordKey?: string;

  /**
   * Registries the composed `config.json` also has entries for, canonical (`docker.io` for Docker Hub);
   * empty unless given to `fromUsernamePassword()`.
   */
  public readonly additionalRegistries: string[];

  /**
   * The only registries these credentials are for (`fromUsernamePassword()`'s `registries`), canonical.
   *
   * @default - the registries the Job uses them for, plus `additionalRegistries`
   */
  public readonly registries?: string[];

  /** The credentials `combine()` joined, each for its own registries; empty otherwise. */
  public readonly combined: RegistryCredentials[];

  private constructor(source: CredentialsSource, secretName?: string, dockerConfigKey?: string, usernameKey?: string, passwordKey?: string,
    additionalRegistries: string[] = [], registries?: string[], combined: RegistryCredentials[] = []) {
    this.source = source;
    this.additionalRegistries = additionalRegistries;
    this.registries = registries;
    this.combined = combined;
    this.secretName = secretName;
    this.dockerConfigKey = dockerConfigKey;
    this.usernameKey = usernameKey;
    this.passwordKey = passwordKey;
  }
}
