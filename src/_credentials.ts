import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod } from './_pod';
import { registryKey } from './_registry';
import { COMPOSE_AUTH_SCRIPT } from './_scripts';
import { invalid } from './_validate';
import { CredentialsSource, RegistryCredentials } from './registry-credentials';

/** The file name every tool reads inside the credentials directory. */
export const DOCKER_CONFIG_FILE = 'config.json';

/** A registry a tool contacts with the same `config.json` although the credentials were not given for it. */
export interface OtherRegistry {
  /** The prop that names it, for the error message (`cache.repository`). */
  readonly prop: string;
  /** Its `host[:port]`. */
  readonly registry: string;
}

/** One user name and password, and the only hosts it is written for. */
interface Grant {
  readonly credentials: RegistryCredentials;
  readonly hosts: string[];
}

/**
 * Makes `credentials` available as a docker `config.json` inside a volume and returns that volume
 * (mount it as a directory), or undefined for anonymous access (no credentials given means anonymous).
 *
 * A docker-config Secret is projected as the file itself: it holds its own registries only. Username/password
 * Secrets are composed by an init container `compose-<role>-auth` into a memory-backed emptyDir, each only under
 * its own hosts: its `registries`, or else `registries` given here (those it is used for) plus its
 * `additionalRegistries`. `others` are registries the tool also contacts with the same file (a cache): one
 * outside an implicit credential's hosts is refused at synth time, so reaching it anonymously is always the
 * user's explicit choice (`registries`), never a guess.
 */
export function provideCredentials(
  pod: ImageJobPod, given: RegistryCredentials | undefined, role: string, registries: string[], others: OtherRegistry[] = [],
): kplus.Volume | undefined {
  const credentials = given ?? RegistryCredentials.anonymous();
  const volumeName = `${role}-auth`;
  switch (credentials.source) {
    case CredentialsSource.DOCKER_CONFIG_SECRET:
      return pod.secretFileVolume(volumeName, credentials.secretName!, credentials.dockerConfigKey!, DOCKER_CONFIG_FILE);
    case CredentialsSource.USERNAME_PASSWORD_SECRET:
    case CredentialsSource.PER_REGISTRY: {
      const parts = credentials.source === CredentialsSource.PER_REGISTRY ? credentials.combined : [credentials];
      const grants = parts.map(part => grantFor(part, registries, others));
      const volume = pod.emptyDir(volumeName, Size.mebibytes(1), true);
      const env: [string, kplus.EnvValue][] = [['AUTH_FILE', kplus.EnvValue.fromValue(`/auth/${DOCKER_CONFIG_FILE}`)]];
      grants.forEach((grant, i) => {
        const suffix = i === 0 ? '' : `_${i}`;
        const secret = pod.secret(grant.credentials.secretName!);
        env.push(
          [`AUTH_REGISTRIES${suffix}`, kplus.EnvValue.fromValue(authKeys(grant.hosts).join(' '))],
          [`HARBOR_USERNAME${suffix}`, kplus.EnvValue.fromSecretValue({ secret, key: grant.credentials.usernameKey! })],
          [`HARBOR_PASSWORD${suffix}`, kplus.EnvValue.fromSecretValue({ secret, key: grant.credentials.passwordKey! })],
        );
      });
      if (grants.length > 1) {
        env.push(['AUTH_MORE_CREDENTIALS', kplus.EnvValue.fromValue(String(grants.length - 1))]);
      }
      pod.addContainer({
        name: `compose-${role}-auth`,
        image: pod.images.downloadHelper,
        script: COMPOSE_AUTH_SCRIPT,
        env,
        mounts: [{ path: '/auth', volume }],
        profile: ContainerProfile.RESTRICTED,
        resources: HELPER_RESOURCES,
      }, true);
      return volume;
    }
    case CredentialsSource.ANONYMOUS:
    default:
      return undefined;
  }
}

/**
 * The hosts one username/password credential is written for. Implicit credentials (no `registries`) are for
 * the registries the Job uses them for, and refuse any other registry the tool contacts with the same file.
 */
function grantFor(credentials: RegistryCredentials, registries: string[], others: OtherRegistry[]): Grant {
  if (credentials.registries) {
    return { credentials, hosts: credentials.registries };
  }
  const hosts = [...new Set([...registries, ...credentials.additionalRegistries])];
  const keys = hosts.map(registryKey);
  for (const other of others) {
    if (!keys.includes(registryKey(other.registry))) {
      invalid(other.prop, other.registry,
        `expected a registry the credentials (Secret "${credentials.secretName}") were given for ("${hosts.join('", "')}"): `
        + `they are never sent to another registry; list their registries (fromUsernamePassword(name, { registries })) to reach ${other.registry} anonymously, or combine() a credential for it`);
    }
  }
  return { credentials, hosts };
}

/**
 * The `auths` keys for some registries, sorted and unique. Docker Hub is written under both the key
 * skopeo looks up (`docker.io`) and the legacy one kaniko's go-containerregistry looks up.
 */
function authKeys(registries: string[]): string[] {
  const keys = new Set<string>();
  for (const registry of registries) {
    keys.add(registry);
    if (registry === 'docker.io') {
      keys.add('https://index.docker.io/v1/');
    }
  }
  return [...keys].sort();
}
