import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DOCKER_CONFIG_FILE } from './_credentials';
import { ContainerProfile, ImageJobPod, Mount } from './_pod';
import { PROMOTE_SCRIPT } from './_scripts';
import { ImageReference } from './image-reference';

/** Default resources of a skopeo container: it streams blobs, so memory stays small. */
export const SKOPEO_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(128), limit: Size.gibibytes(1) },
  ephemeralStorage: { request: Size.gibibytes(1) },
};

/** Everything the promote script needs. */
export interface PromoterSpec {
  readonly name: string;
  /** Where the source comes from: environment naming it (SOURCE_IMAGE, or the intermediate names plus SOURCE_DIGEST_FILE). */
  readonly sourceEnv: [string, kplus.EnvValue][];
  readonly destinations: ImageReference[];
  readonly sourceAuth?: kplus.Volume;
  readonly destinationAuth?: kplus.Volume;
  readonly copyAllPlatforms: boolean;
  readonly preserveDigests: boolean;
  readonly retryTimes: number;
  readonly sourceTlsVerify: boolean;
  readonly destinationTlsVerify: boolean;
  readonly resources: kplus.ContainerResources;
  readonly extraMounts?: Mount[];
}

/**
 * Adds the skopeo container that copies one image by digest to every destination and verifies each
 * (`PROMOTE_SCRIPT`). The first destination travels in seed 000's HARBOR_* variables.
 */
export function addPromoter(pod: ImageJobPod, spec: PromoterSpec): kplus.Container {
  const [first, ...others] = spec.destinations;
  const value = kplus.EnvValue.fromValue;
  const env: [string, kplus.EnvValue][] = [
    ...spec.sourceEnv,
    ...harborEnv(first),
    ...(others.length > 0 ? [['ADDITIONAL_DESTINATIONS', value(others.map(String).join(' '))] as [string, kplus.EnvValue]] : []),
    ['COPY_ALL_PLATFORMS', value(String(spec.copyAllPlatforms))],
    ['PRESERVE_DIGESTS', value(String(spec.preserveDigests))],
    ['RETRY_TIMES', value(String(spec.retryTimes))],
    ['SOURCE_TLS_VERIFY', value(String(spec.sourceTlsVerify))],
    ['DEST_TLS_VERIFY', value(String(spec.destinationTlsVerify))],
  ];
  const mounts: Mount[] = [{ path: '/tmp', volume: pod.emptyDir('tmp', Size.gibibytes(1)) }];
  if (spec.sourceAuth) {
    env.push(['SOURCE_AUTH_FILE', value(`/auth/source/${DOCKER_CONFIG_FILE}`)]);
    mounts.push({ path: '/auth/source', volume: spec.sourceAuth, readOnly: true });
  }
  if (spec.destinationAuth) {
    env.push(['DEST_AUTH_FILE', value(`/auth/destination/${DOCKER_CONFIG_FILE}`)]);
    mounts.push({ path: '/auth/destination', volume: spec.destinationAuth, readOnly: true });
  }
  // skopeo keeps its blob-info cache under HOME and stages blobs under TMPDIR: both on the writable emptyDir.
  env.push(['HOME', value('/tmp')], ['TMPDIR', value('/tmp')]);
  return pod.addContainer({
    name: spec.name,
    image: pod.images.skopeo,
    script: PROMOTE_SCRIPT,
    env,
    mounts: [...mounts, ...(spec.extraMounts ?? [])],
    profile: ContainerProfile.RESTRICTED,
    resources: spec.resources,
  }, false);
}

/** Seed 000's destination variables: Harbor's project is the first path component of the repository. */
function harborEnv(ref: ImageReference): [string, kplus.EnvValue][] {
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
