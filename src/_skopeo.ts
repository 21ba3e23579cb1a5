import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DOCKER_CONFIG_FILE } from './_credentials';
import { ContainerProfile, ImageJobPod, Mount } from './_pod';
import { ImageReference } from './image-reference';

/** Environment in the order it appears. */
export type Env = [string, kplus.EnvValue][];

/** Default resources of a skopeo container: it streams blobs, so memory stays small. */
export const SKOPEO_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(128), limit: Size.gibibytes(1) },
  ephemeralStorage: { request: Size.gibibytes(1) },
};

/** How skopeo copies and where it finds credentials. */
export interface SkopeoSettings {
  readonly copyAllPlatforms: boolean;
  readonly preserveDigests: boolean;
  readonly retryTimes: number;
  readonly sourceTlsVerify: boolean;
  readonly destinationTlsVerify: boolean;
  /** Volume holding the source's config.json. */
  readonly sourceAuth?: kplus.Volume;
  /** Volume holding the destinations' config.json. */
  readonly destinationAuth?: kplus.Volume;
}

/**
 * The variables of the shared skopeo script pieces: seed 000's HARBOR_* for the first destination, then
 * ADDITIONAL_DESTINATIONS, the copy settings and the auth files; plus the mounts the auth files need.
 */
export function skopeoEnv(destinations: ImageReference[], settings: SkopeoSettings): { env: Env; mounts: Mount[] } {
  const value = kplus.EnvValue.fromValue;
  const [first, ...others] = destinations;
  const env: Env = [
    ...harborEnv(first),
    ...(others.length > 0 ? [['ADDITIONAL_DESTINATIONS', value(others.map(String).join(' '))] as [string, kplus.EnvValue]] : []),
    ['COPY_ALL_PLATFORMS', value(String(settings.copyAllPlatforms))],
    ['PRESERVE_DIGESTS', value(String(settings.preserveDigests))],
    ['RETRY_TIMES', value(String(settings.retryTimes))],
    ['SOURCE_TLS_VERIFY', value(String(settings.sourceTlsVerify))],
    ['DEST_TLS_VERIFY', value(String(settings.destinationTlsVerify))],
  ];
  const mounts: Mount[] = [];
  if (settings.sourceAuth) {
    env.push(['SOURCE_AUTH_FILE', value(`/auth/source/${DOCKER_CONFIG_FILE}`)]);
    mounts.push({ path: '/auth/source', volume: settings.sourceAuth, readOnly: true });
  }
  if (settings.destinationAuth) {
    env.push(['DEST_AUTH_FILE', value(`/auth/destination/${DOCKER_CONFIG_FILE}`)]);
    mounts.push({ path: '/auth/destination', volume: settings.destinationAuth, readOnly: true });
  }
  return { env, mounts };
}

/** A skopeo container running one of the constant scripts. */
export interface SkopeoContainerSpec {
  readonly name: string;
  readonly script: string;
  /** Variables naming the source (or archive), before the shared ones. */
  readonly sourceEnv: Env;
  /** The registry skopeo reads from, when it reads from one. */
  readonly sourceRegistry?: string;
  readonly destinations: ImageReference[];
  readonly settings: SkopeoSettings;
  readonly resources: kplus.ContainerResources;
  /** Size of the writable temp directory; skopeo unpacks OCI archives there. */
  readonly tmpSizeLimit: Size;
  readonly extraMounts?: Mount[];
}

/** Adds a restricted skopeo main container with HOME and TMPDIR on an emptyDir (its root filesystem is read-only). */
export function addSkopeoContainer(pod: ImageJobPod, spec: SkopeoContainerSpec): kplus.Container {
  const shared = skopeoEnv(spec.destinations, spec.settings);
  return pod.addContainer({
    name: spec.name,
    image: pod.images.skopeo,
    script: spec.script,
    env: [...spec.sourceEnv, ...shared.env, ...tmpEnv()],
    mounts: [...tmpMounts(pod.emptyDir('tmp', spec.tmpSizeLimit)), ...shared.mounts, ...(spec.extraMounts ?? [])],
    profile: ContainerProfile.RESTRICTED,
    resources: spec.resources,
    registries: [...new Set([...(spec.sourceRegistry ? [spec.sourceRegistry] : []), ...spec.destinations.map(d => d.registry)])],
  }, false);
}

/**
 * The writable temp directories of a skopeo container with a read-only root: /tmp, and /var/tmp, where
 * containers/image unpacks an OCI archive whatever TMPDIR says (its big-files directory is fixed at build time).
 */
export function tmpMounts(volume: kplus.Volume): Mount[] {
  return [{ path: '/tmp', volume }, { path: '/var/tmp', volume }];
}

/** skopeo keeps its blob-info cache under HOME and stages blobs under TMPDIR: both on the writable /tmp. */
export function tmpEnv(): Env {
  return [['HOME', kplus.EnvValue.fromValue('/tmp')], ['TMPDIR', kplus.EnvValue.fromValue('/tmp')]];
}

/** Seed 000's destination variables: Harbor's project is the first path component of the repository. */
function harborEnv(ref: ImageReference): Env {
  const components = ref.repository.split('/');
  const project = components.length > 1 ? components[0] : '';
  const imageName = components.length > 1 ? components.slice(1).join('/') : components[0];
  return [
    ['HARBOR_REGISTRY', kplus.EnvValue.fromValue(ref.registry)],
    ['HARBOR_PROJECT', kplus.EnvValue.fromValue(project)],
    ['HARBOR_IMAGE_NAME', kplus.EnvValue.fromValue(imageName)],
    ['HARBOR_IMAGE_TAG', kplus.EnvValue.fromValue(ref.tag!)],
  ];
}
