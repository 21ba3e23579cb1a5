import { ApiObject, JsonPatch, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DIGEST_FILE, finishBuildPod, firstDestinationEnv, provideBuildCredentials, RESULTS_DIR } from './_build';
import { buildahWorkspace } from './_buildah';
import { explicitNameLimit } from './_job-name';
import { addKanikoJob, KanikoJobSpec } from './_kaniko';
import { ContainerProfile, HELPER_RESOURCES, ImageJobPod, Mount } from './_pod';
import { canonicalRegistry } from './_registry';
import { KANIKO_ASSEMBLE_SCRIPT, WAIT_FOR_PLATFORM_BUILDS_SCRIPT } from './_scripts';
import { Env, SKOPEO_RESOURCES } from './_skopeo';
import { checkTerminationMessage } from './_termination-message';
import { invalid } from './_validate';
import { BuildJobOptions } from './build-job-options';
import { PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';

/**
 * A kaniko build for several platforms with plain Jobs and no controller: kaniko builds one architecture per run, so
 * each platform gets its own kaniko Job (on a node of that architecture, `--custom-platform`, pushing
 * `<first destination's tag>-<arch>[-<variant>]`), and an assembly Job waits for them through the Kubernetes API,
 * adds each per-platform digest to one image index with buildah, and pushes the index to every destination.
 */

/** The node labels a per-platform Job selects (well-known labels every kubelet sets). */
const ARCH_LABEL = 'kubernetes.io/arch';
const OS_LABEL = 'kubernetes.io/os';

/** Where the assembly's wait step finds the projected service-account token and the API server's CA. */
const API_ACCESS_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The lifetime asked for the projected token; the kubelet rotates it before it expires. */
const TOKEN_EXPIRATION_SECONDS = 3600;

/** The per-platform digests, written by the wait step and read by the assembly. */
const PLATFORM_DIGESTS_FILE = `${RESULTS_DIR}/platform-digests`;

/** The longest tag a registry accepts. */
const MAX_TAG = 128;

/** What a fan-out builds, besides the props: what one kaniko Job builds, for every platform. */
export interface KanikoFanOutSpec extends Omit<KanikoJobSpec, 'extraFlags' | 'reportTag'> {
  /** Checked `os/arch[/variant]` platforms, at least one; `kaniko` was validated with `platformsManaged`. */
  readonly platforms: string[];
}

/** The Jobs of a fan-out. */
export interface KanikoFanOut {
  /** The assembly Job (construct id `Resource`): the one to watch. */
  readonly job: kplus.Job;
  /** One kaniko Job per platform, in the order of the platforms. */
  readonly platformJobs: kplus.Job[];
  /** What each per-platform Job pushes, in the order of the platforms. */
  readonly platformReferences: ImageReference[];
}

/** One platform of a fan-out. */
interface Platform {
  readonly name: string;
  readonly arch: string;
  /** `<arch>[-<variant>]`, appended to the first destination's tag. */
  readonly tagSuffix: string;
  /** `tagSuffix` as a DNS label (`_` becomes `-`): the per-platform Job's name suffix and construct id. */
  readonly jobSuffix: string;
  readonly reference: ImageReference;
}

/** Adds a fan-out to `scope`: the per-platform kaniko Jobs, the assembly Job and its RBAC objects. */
export function addKanikoFanOut(scope: Construct, props: BuildJobOptions, spec: KanikoFanOutSpec): KanikoFanOut {
  checkFanOutOptions(props);
  const platforms = platformsOf(props, spec);

  const platformJobs = platforms.map(platform => addKanikoJob(new Construct(scope, platform.jobSuffix), {
    ...props,
    name: props.name?._withSuffix(platform.jobSuffix),
    nodeSelector: { ...props.nodeSelector, [ARCH_LABEL]: platform.arch, [OS_LABEL]: 'linux' },
    promotion: undefined,
    kargoNotification: undefined,
  }, {
    ...spec,
    buildDestinations: [platform.reference],
    promotionDestinations: [],
    extraFlags: [`--custom-platform=${platform.name}`],
    reportTag: true,
  }).job);
  const jobNames = (): string[] => platformJobs.map(job => ApiObject.of(job).name);

  const serviceAccount = addAssemblyIdentity(scope, jobNames);
  const job = addAssembly(scope, { ...props, serviceAccountName: serviceAccount }, spec, platforms, jobNames);
  return { job, platformJobs, platformReferences: platforms.map(p => p.reference) };
}

/** Options a fan-out cannot honour, refused in one line each. */
function checkFanOutOptions(props: BuildJobOptions): void {
  if (props.argoCd !== undefined) {
    invalid('argoCd', props.argoCd.annotations, 'expected no argoCd with platforms: Argo CD would run each of the fan-out\'s Jobs as its own hook or resource, '
      + 'while the assembly needs its Role before it starts and every per-platform Job alongside it; apply the fan-out with kubectl, or build with BuildkitBuildJob or BuildahBuildJob platforms');
  }
  for (const label of [ARCH_LABEL, OS_LABEL]) {
    if (props.nodeSelector?.[label] !== undefined) {
      invalid(`nodeSelector.${label}`, props.nodeSelector[label], 'expected no architecture or OS selector with platforms: each per-platform Job selects its own platform\'s nodes');
    }
  }
}

/** The platforms with their names, checked: Linux only, distinct Job names, tags that fit and collide with no destination. */
function platformsOf(props: BuildJobOptions, spec: KanikoFanOutSpec): Platform[] {
  const first = spec.buildDestinations[0];
  const taken = new Map<string, string>();
  for (const [prop, refs] of [['destinations', spec.buildDestinations], ['promotion.destinations', spec.promotionDestinations]] as const) {
    refs.forEach((ref, i) => taken.set(tagKey(ref), `${prop}[${i}]`));
  }
  const suffixes = new Map<string, number>();
  return spec.platforms.map((name, i) => {
    const [os, arch, variant] = name.split('/');
    if (os !== 'linux') {
      invalid(`platforms[${i}]`, name, 'expected a linux/<arch>[/<variant>] platform: kaniko builds Linux images only');
    }
    const tagSuffix = variant === undefined ? arch : `${arch}-${variant}`;
    const jobSuffix = tagSuffix.replace(/_/g, '-');
    const other = suffixes.get(jobSuffix);
    if (other !== undefined) {
      invalid(`platforms[${i}]`, name, `expected platforms whose Job names differ: it and platforms[${other}] ("${spec.platforms[other]}") both name their Job "<name>-${jobSuffix}"`);
    }
    suffixes.set(jobSuffix, i);
    checkJobNameRoom(props, i, name, jobSuffix);
    const tag = `${first.tag}-${tagSuffix}`;
    if (tag.length > MAX_TAG) {
      invalid(`platforms[${i}]`, name, `expected a per-platform tag of at most ${MAX_TAG} characters; "${tag}" (the first destination's tag + "-${tagSuffix}") has ${tag.length}: shorten destinations[0]'s tag`);
    }
    const reference = first.withTag(tag);
    const owner = taken.get(tagKey(reference));
    if (owner !== undefined) {
      invalid(`platforms[${i}]`, name, `expected a per-platform tag that no destination uses; ${reference} is also ${owner}, and the index would overwrite the per-platform image or the reverse`);
    }
    taken.set(tagKey(reference), `the tag of platforms[${i}]`);
    return { name, arch, tagSuffix, jobSuffix, reference };
  });
}

/**
 * A reference as kaniko writes it in its termination line: go-containerregistry names Docker Hub `index.docker.io`
 * (`docker.io/library/app:1` is reported as `index.docker.io/library/app:1`); every other registry as given.
 */
function kanikoReported(ref: ImageReference): string {
  return ref.registry === 'docker.io' ? `index.docker.io/${ref.repository}:${ref.tag}` : String(ref);
}

function tagKey(ref: ImageReference): string {
  return `${canonicalRegistry(ref.registry)}/${ref.repository}:${ref.tag}`;
}

/** An explicit Job name must leave room for `-<suffix>` (and the content hash): refused here with the platform named. */
function checkJobNameRoom(props: BuildJobOptions, i: number, platform: string, suffix: string): void {
  const naming = props.name;
  if (naming?._name === undefined) {
    return; // a name derived from the construct path is trimmed to fit
  }
  const max = explicitNameLimit(naming);
  const name = `${naming._name}-${suffix}`;
  if (name.length > max) {
    invalid('name', naming._name, `expected a name short enough for the per-platform Jobs: platforms[${i}] ("${platform}") names its Job "${name}", `
      + `${name.length} characters, over ${max}${naming._strategy === 'contentHashed' ? ' (63 with the "-<hash>" suffix)' : ''}`);
  }
}

/**
 * The assembly's ServiceAccount (no automounted token), a Role that may `get` exactly the per-platform Jobs and
 * `list` pods in the namespace, and the RoleBinding; returns the ServiceAccount's name.
 */
function addAssemblyIdentity(scope: Construct, jobNames: () => string[]): string {
  const serviceAccount = new ApiObject(scope, 'AssemblyServiceAccount', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    automountServiceAccountToken: false,
  });
  const role = new ApiObject(scope, 'AssemblyRole', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    rules: [
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'], resourceNames: Lazy.any({ produce: jobNames }) },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ],
  });
  new ApiObject(scope, 'AssemblyRoleBinding', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name }],
  });
  return serviceAccount.name;
}

/**
 * The assembly Job (construct id `Resource` of `scope`): [compose-*-auth] → `wait-for-platforms` (curl, the only
 * container with the API token) → `assemble` (buildah manifest), then with `promotion` the promoter.
 */
function addAssembly(scope: Construct, props: BuildJobOptions, spec: KanikoFanOutSpec, platforms: Platform[], jobNames: () => string[]): kplus.Job {
  const pod = new ImageJobPod(scope, props, 'kaniko-assemble', PodSecurityLevel.BASELINE);
  const [first, ...others] = spec.buildDestinations;
  checkTerminationMessage('platforms', spec.platforms, [
    ...spec.buildDestinations.map(String),
    ...platforms.map(p => `${p.name} ${first.name}`),
  ], '"<destination>@sha256:<64 hex>" per destination, then "<platform> <first destination\'s repository>@sha256:<64 hex>" per platform');
  const { buildAuth, promotionAuth } = provideBuildCredentials(pod, props, spec.buildDestinations, spec.promotionDestinations);
  const results = pod.emptyDir('results', Size.mebibytes(1));
  const value = kplus.EnvValue.fromValue;

  // the references are constant, the Job names are read at synthesis (they carry the content hash of each Job)
  const builds = Lazy.any({
    produce: () => jobNames().map((name, i) => `${platforms[i].name} ${name} ${kanikoReported(platforms[i].reference)} ${platforms[i].reference.name}`).join('\n'),
  });
  pod.addContainer({
    name: 'wait-for-platforms',
    image: pod.images.downloadHelper,
    script: WAIT_FOR_PLATFORM_BUILDS_SCRIPT,
    env: [
      ['PLATFORM_BUILDS', value(builds)],
      ['POD_NAMESPACE', kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE)],
      ['API_TOKEN_FILE', value(`${API_ACCESS_DIR}/token`)],
      ['API_CA_FILE', value(`${API_ACCESS_DIR}/ca.crt`)],
      ['PLATFORM_DIGESTS_FILE', value(PLATFORM_DIGESTS_FILE)],
    ],
    mounts: [{ path: RESULTS_DIR, volume: results }, { path: '/tmp', volume: pod.emptyDir('wait-tmp', Size.mebibytes(16), true) }],
    profile: ContainerProfile.RESTRICTED,
    resources: HELPER_RESOURCES,
  }, true);
  mountApiAccess(pod);

  const { firstEnv } = firstDestinationEnv(first, props.promotion !== undefined);
  const insecureRegistries = spec.kaniko.insecureRegistries;
  // manifests only, but a cross-registry push may stage blobs in TMPDIR
  const workspace = buildahWorkspace(pod, 'vfs', Size.gibibytes(4), insecureRegistries, buildAuth);
  const env: Env = [
    ['PLATFORM_DIGESTS_FILE', value(PLATFORM_DIGESTS_FILE)],
    ...firstEnv,
    ...(others.length > 0 ? [['ADDITIONAL_DESTINATIONS', value(others.map(String).join(' '))] as [string, kplus.EnvValue]] : []),
    ['DIGEST_FILE', value(DIGEST_FILE)],
    ...workspace.storageEnv,
    // buildah re-executes itself in a user namespace when root lacks SYS_ADMIN, which RuntimeDefault seccomp refuses
    // (unshare(CLONE_NEWUSER): Operation not permitted). Its manifest commands need neither: this variable is how
    // containers/storage marks a process as already past that step, so buildah runs on as the container's root.
    ['_CONTAINERS_ROOTLESS_UID', value('1')],
    ...workspace.registryEnv,
  ];
  const mounts: Mount[] = [{ path: RESULTS_DIR, volume: results }, ...workspace.mounts];
  pod.addContainer({
    name: 'assemble',
    image: pod.images.buildah,
    script: KANIKO_ASSEMBLE_SCRIPT,
    env,
    mounts,
    // buildah's manifest commands mount nothing: root and the runtime's default capabilities, as kaniko
    profile: ContainerProfile.ROOT_BUILDER,
    resources: SKOPEO_RESOURCES,
    registries: [...new Set(spec.buildDestinations.map(d => d.registry))],
  }, props.promotion !== undefined);

  finishBuildPod(pod, props, { first, buildAuth, promotionAuth, promotionDestinations: spec.promotionDestinations, results },
    !insecureRegistries.includes(first.registry), 'assemble');
  return pod.job;
}

/**
 * Mounts the service-account token and the cluster's CA (`kube-root-ca.crt`) into `wait-for-platforms` only: the
 * pod keeps `automountServiceAccountToken: false`, so no other container gets them. cdk8s-plus-28 has no projected
 * volume, hence the patches.
 */
function mountApiAccess(pod: ImageJobPod): void {
  const index = pod.job.initContainers.findIndex(c => c.name === pod.containerName('wait-for-platforms'));
  ApiObject.of(pod.job).addJsonPatch(
    JsonPatch.add('/spec/template/spec/volumes/-', {
      name: 'kube-api-access',
      projected: {
        defaultMode: 0o440,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
      },
    }),
    JsonPatch.add(`/spec/template/spec/initContainers/${index}/volumeMounts/-`, { name: 'kube-api-access', mountPath: API_ACCESS_DIR, readOnly: true }),
  );
}
