import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DOCKER_CONFIG_FILE } from './_credentials';
import { ImageJobPod, Mount } from './_pod';
import { Env } from './_skopeo';

/** Where buildah keeps layers and the configuration files `buildah_configure` writes (container-scripts/lib/buildah.sh). */
export const BUILDAH_STORAGE_ROOT = '/var/lib/containers';

/** Where buildah reads the registry credentials (a mounted or composed docker config). */
const AUTH_DIR = '/buildah/auth';

/** What a buildah container needs for `buildah_configure` and `buildah_manifest`, in the order the YAML lists it. */
export interface BuildahWorkspace {
  /** STORAGE_DRIVER, STORAGE_ROOT and the paths of the storage and registries configuration. */
  readonly storageEnv: Env;
  /** INSECURE_REGISTRIES and REGISTRY_AUTH_FILE, where there are any. */
  readonly registryEnv: Env;
  /** The storage emptyDir, and the credentials read-only. */
  readonly mounts: Mount[];
}

/**
 * The one description of a buildah container's storage and registry access, shared by `BuildahBuildJob` and the
 * assembly of a kaniko fan-out: `storageDriver` in an emptyDir of `storageSizeLimit`, plain http for
 * `insecureRegistries`, and `buildAuth` (when given) as the credentials file.
 */
export function buildahWorkspace(pod: ImageJobPod, storageDriver: string, storageSizeLimit: Size, insecureRegistries: string[],
  buildAuth: kplus.Volume | undefined): BuildahWorkspace {
  const value = kplus.EnvValue.fromValue;
  const storageEnv: Env = [
    ['STORAGE_DRIVER', value(storageDriver)],
    ['STORAGE_ROOT', value(BUILDAH_STORAGE_ROOT)],
    ['CONTAINERS_STORAGE_CONF', value(`${BUILDAH_STORAGE_ROOT}/storage.conf`)],
    ['CONTAINERS_REGISTRIES_CONF', value(`${BUILDAH_STORAGE_ROOT}/registries.conf`)],
  ];
  const registryEnv: Env = [
    ...(insecureRegistries.length > 0 ? [['INSECURE_REGISTRIES', value(insecureRegistries.join(' '))] as [string, kplus.EnvValue]] : []),
    ...(buildAuth ? [['REGISTRY_AUTH_FILE', value(`${AUTH_DIR}/${DOCKER_CONFIG_FILE}`)] as [string, kplus.EnvValue]] : []),
  ];
  const mounts: Mount[] = [
    { path: BUILDAH_STORAGE_ROOT, volume: pod.emptyDir('buildah-storage', storageSizeLimit) },
    ...(buildAuth ? [{ path: AUTH_DIR, volume: buildAuth, readOnly: true }] : []),
  ];
  return { storageEnv, registryEnv, mounts };
}
