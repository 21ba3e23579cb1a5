import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod } from './_pod';
import { COMPOSE_AUTH_SCRIPT } from './_scripts';
import { CredentialsSource, RegistryCredentials } from './registry-credentials';

/** The file name every tool reads inside the credentials directory. */
export const DOCKER_CONFIG_FILE = 'config.json';

/**
 * Makes `credentials` available as a docker `config.json` inside a volume and returns that volume
 * (mount it as a directory), or undefined for anonymous access (no credentials given means anonymous).
 *
 * A docker-config Secret is projected as the file itself. A username/password Secret is composed by an
 * init container `compose-<role>-auth` into a memory-backed emptyDir, with an entry for each of `registries`
 * and of the credentials' `additionalRegistries`.
 */
export function provideCredentials(
  pod: ImageJobPod, given: RegistryCredentials | undefined, role: string, registries: string[],
): kplus.Volume | undefined {
  const credentials = given ?? RegistryCredentials.anonymous();
  const volumeName = `${role}-auth`;
  switch (credentials.source) {
    case CredentialsSource.DOCKER_CONFIG_SECRET:
      return pod.secretFileVolume(volumeName, credentials.secretName!, credentials.dockerConfigKey!, DOCKER_CONFIG_FILE);
    case CredentialsSource.USERNAME_PASSWORD_SECRET: {
      const volume = pod.emptyDir(volumeName, Size.mebibytes(1), true);
      const secret = pod.secret(credentials.secretName!);
      pod.addContainer({
        name: `compose-${role}-auth`,
        image: pod.images.downloadHelper,
        script: COMPOSE_AUTH_SCRIPT,
        env: [
          ['AUTH_FILE', kplus.EnvValue.fromValue(`/auth/${DOCKER_CONFIG_FILE}`)],
          ['AUTH_REGISTRIES', kplus.EnvValue.fromValue(authKeys([...registries, ...credentials.additionalRegistries]).join(' '))],
          ['HARBOR_USERNAME', kplus.EnvValue.fromSecretValue({ secret, key: credentials.usernameKey! })],
          ['HARBOR_PASSWORD', kplus.EnvValue.fromSecretValue({ secret, key: credentials.passwordKey! })],
        ],
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
