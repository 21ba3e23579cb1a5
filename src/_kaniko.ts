import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BuildInputs, buildInputFlags, checkExtraArgs, DIGEST_FILE, finishBuildPod, prepareBuildPod, RESULTS_DIR } from './_build';
import { kplusResources } from './_kplus-props';
import { OciAnnotationInputs, ociAnnotationFlags } from './_oci-annotations';
import { BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { Env } from './_skopeo';
import { KANIKO_EXECUTOR_FLAGS } from './_tool-flags';
import { checkRegistryHost, invalid } from './_validate';
import { BuildContext, ContextBinding, GitLocation } from './build-context';
import { BuildJobOptions } from './build-job-options';
import { PodSecurityLevel } from './image-job';
import { ImageReference } from './image-reference';

/** kaniko defaults for builds in a Job: redo snapshots, retries, plain-text logs with timestamps. */
const KANIKO_DEFAULT_FLAGS: [string, string][] = [
  ['--snapshot-mode', 'redo'],
  ['--push-retry', '3'],
  ['--image-download-retry', '3'],
  ['--skip-unused-stages', 'true'],
  ['--log-format', 'text'],
  ['--log-timestamp', 'true'],
  ['--verbosity', 'info'],
];

/** Flags owned by props; `extraArgs` may not set them. */
const KANIKO_MANAGED_FLAGS: { [flag: string]: string } = {
  '--context': 'context',
  '-c': 'context',
  '--context-sub-path': 'context',
  '--git': 'context',
  '--dockerfile': 'dockerfile',
  '-f': 'dockerfile',
  '--destination': 'destinations',
  '-d': 'destinations',
  '--no-push': 'destinations',
  '--tar-path': 'destinations',
  '--digest-file': 'the digest contract',
  '--image-name-with-digest-file': 'the digest contract',
  '--image-name-tag-with-digest-file': 'the digest contract',
  '--build-arg': 'buildArgs',
  '--target': 'target',
  '--label': 'labels',
  '--cache': 'cache',
  '--cache-repo': 'cache',
  '--cache-ttl': 'cache',
  '--insecure-registry': 'insecureRegistries',
  '--registry-certificate': 'certificateAuthorities',
};

/** Flags a kaniko fan-out (`platforms`) owns. */
const KANIKO_PLATFORM_FLAGS: { [flag: string]: string } = {
  '--custom-platform': 'platforms',
};

/**
 * Where kaniko's CA bundles are mounted: kaniko reads no certs.d, it takes `--registry-certificate <host>=<file>`.
 * Mount points are on kaniko's ignore list, so the bundles never enter the image it builds.
 */
const KANIKO_CERTS_DIR = '/etc/kaniko/registry-certs';

/** kaniko's trust in the CA bundles for `registries`: its `--registry-certificate` flags and their read-only mounts. */
export function kanikoTrust(pod: ImageJobPod, registries: string[]): { flags: string[]; mounts: Mount[] } {
  const cas = pod.registryCas([...new Set(registries)], KANIKO_CERTS_DIR);
  return { flags: cas.map(ca => `--registry-certificate=${ca.host}=${ca.file}`), mounts: cas.map(ca => ca.mount) };
}


/** The directory the official and osscontainertools kaniko images keep their trust store in (their `SSL_CERT_DIR`). */
const KANIKO_IMAGE_CERTS_DIR = '/kaniko/ssl/certs';

/** Where the git host's CA bundle is mounted for kaniko's own clone. */
const KANIKO_GIT_CA_DIR = '/etc/kaniko/git-ca';

/**
 * kaniko's trust in the CA bundle that lists the host of its `git://` context, if any. kaniko clones with go-git
 * over Go's default HTTP client and has no per-host CA option for it; Go reads its trust store from `SSL_CERT_DIR`,
 * a colon list, so the bundle's directory joins the image's own. That trust is process-wide: the executor then
 * trusts the git host's CA for the registries it contacts too (an addition, never a replacement).
 */
export function kanikoGitTrust(pod: ImageJobPod, git: GitLocation | undefined): { env: Env; mounts: Mount[] } {
  const ca = git ? pod.hostCa(git.url, KANIKO_GIT_CA_DIR) : undefined;
  if (!ca) {
    return { env: [], mounts: [] };
  }
  return { env: [['SSL_CERT_DIR', kplus.EnvValue.fromValue(`${KANIKO_IMAGE_CERTS_DIR}:${KANIKO_GIT_CA_DIR}`)]], mounts: [ca.mount] };
}

/** The build inputs every kaniko-based construct shares. */
export interface KanikoFlagInputs extends BuildInputs, OciAnnotationInputs {
  readonly insecureRegistries?: string[];
  readonly extraArgs?: string[];
  /** True for a fan-out: `--custom-platform` is then set per platform, not by `extraArgs`. */
  readonly platformsManaged?: boolean;
}

/** Validated kaniko flags, in a fixed order (not yet escaped for kubelet expansion). */
export interface KanikoFlags {
  readonly flags: string[];
  readonly insecureRegistries: string[];
}

/**
 * kaniko's flags after the context, destinations and digest files: build args, target and labels (sorted),
 * the OCI annotations Kargo reads, `more` (e.g. cache flags), insecure registries, the defaults `extraArgs` does not override,
 * `--ignore-path=/product_uuid` (kind clusters), then `extraArgs`.
 */
export function kanikoFlags(inputs: KanikoFlagInputs, more: string[] = []): KanikoFlags {
  const insecureRegistries = (inputs.insecureRegistries ?? []).map((host, i) => checkRegistryHost(`insecureRegistries[${i}]`, host));
  const extraArgs = inputs.extraArgs ?? [];
  const managed = inputs.platformsManaged ? { ...KANIKO_MANAGED_FLAGS, ...KANIKO_PLATFORM_FLAGS } : KANIKO_MANAGED_FLAGS;
  const overridden = checkExtraArgs(extraArgs, KANIKO_EXECUTOR_FLAGS, managed, KANIKO_DEFAULT_FLAGS.map(([flag]) => flag), '--compressed-caching=false');
  const reproducible = extraArgs.findIndex(arg => arg === '--reproducible' || arg === '--reproducible=true');
  if (reproducible >= 0 && inputs.imageCreated === undefined) {
    invalid(`extraArgs[${reproducible}]`, extraArgs[reproducible],
      'expected imageCreated as well: --reproducible zeroes the image\'s creation time, and Kargo\'s NewestBuild then needs the org.opencontainers.image.created annotation');
  }
  return {
    insecureRegistries,
    flags: [
      ...buildInputFlags(inputs),
      ...ociAnnotationFlags(inputs),
      ...more,
      ...insecureRegistries.map(host => `--insecure-registry=${host}`),
      ...KANIKO_DEFAULT_FLAGS.filter(([flag]) => !overridden.has(flag)).map(([flag, v]) => `${flag}=${v}`),
      '--ignore-path=/product_uuid',
      ...extraArgs,
    ],
  };
}

/** What one kaniko Job builds, besides the props. */
export interface KanikoJobSpec {
  readonly context: BuildContext;
  readonly dockerfile: string;
  readonly buildDestinations: ImageReference[];
  readonly promotionDestinations: ImageReference[];
  readonly cacheRepository?: ImageReference;
  /** The validated flags (`kanikoFlags`), before the ones `extraFlags` adds. */
  readonly kaniko: KanikoFlags;
  /** Flags for this Job only, e.g. `--custom-platform=linux/arm64` (not yet escaped). */
  readonly extraFlags?: string[];
  /**
   * Report `<repository>:<tag>@sha256:…` (`--image-name-tag-with-digest-file`) rather than `<repository>@sha256:…`:
   * a fan-out's per-platform tag then names its platform in the line.
   * @default false
   */
  readonly reportTag?: boolean;
}

/**
 * Adds a kaniko build Job to `scope` (construct id `Resource`): [compose-*-auth] → [fetch-context] → kaniko (`build`),
 * then with `props.promotion` the skopeo promoter. Returns its pod.
 */
export function addKanikoJob(scope: Construct, props: BuildJobOptions, spec: KanikoJobSpec): ImageJobPod {
  const pod = new ImageJobPod(scope, props, 'kaniko-build', PodSecurityLevel.BASELINE);
  const { cacheRepository, kaniko } = spec;
  const build = prepareBuildPod(pod, props, spec);
  const { first, firstEnv, firstReference, others, buildAuth, binding, results } = build;

  const value = kplus.EnvValue.fromValue;
  const trust = kanikoTrust(pod, [...spec.buildDestinations.map(d => d.registry), ...(cacheRepository ? [cacheRepository.registry] : [])]);
  const gitTrust = kanikoGitTrust(pod, binding.git);
  const mounts: Mount[] = [...binding.mounts, { path: RESULTS_DIR, volume: results }, ...trust.mounts, ...gitTrust.mounts];
  if (buildAuth) {
    mounts.push({ path: '/kaniko/.docker', volume: buildAuth, readOnly: true });
  }
  const args = [
    ...kanikoContextArgs(binding),
    `--destination=${firstReference}`,
    ...others.map(d => `--destination=${d}`),
    `--digest-file=${DIGEST_FILE}`,
    `${spec.reportTag ? '--image-name-tag-with-digest-file' : '--image-name-with-digest-file'}=/dev/termination-log`,
    ...trust.flags.map(escapeKubeletExpansion),
    ...(spec.extraFlags ?? []).map(escapeKubeletExpansion),
    ...kaniko.flags.map(escapeKubeletExpansion),
  ];
  pod.addContainer({
    name: 'build',
    image: pod.images.kaniko,
    command: ['/kaniko/executor'],
    args,
    env: [
      ['DOCKERFILE_PATH', value(spec.dockerfile)],
      ...firstEnv,
      ['DOCKER_CONFIG', value('/kaniko/.docker')],
      ...binding.env,
      ...gitTrust.env,
    ],
    mounts,
    profile: ContainerProfile.ROOT_BUILDER,
    // kaniko's errors go to its log only
    messageFromLogsOnError: true,
    resources: kplusResources(props.resources, BUILDER_RESOURCES),
  }, props.promotion !== undefined);

  finishBuildPod(pod, props, build, !kaniko.insecureRegistries.includes(first.registry));
  return pod;
}

/** kaniko's flags for a context: a prepared or mounted directory, its own `git://` clone, or an `s3://` / `gs://` archive. */
function kanikoContextArgs(binding: ContextBinding): string[] {
  if (binding.git) {
    const { url, ref, subPath } = binding.git;
    return [
      `--context=git://${url.replace(/^https:\/\//, '')}${gitFragment(ref)}`,
      // a bare branch or tag name: kaniko looks it up among the remote's branches, then its tags
      ...(ref && !ref.startsWith('refs/') && !COMMIT.test(ref) ? [`--git=branch=${ref}`] : []),
      ...(subPath ? [`--context-sub-path=${subPath}`] : []),
      // a relative --dockerfile is resolved inside the cloned context
      '--dockerfile=$(DOCKERFILE_PATH)',
    ];
  }
  if (binding.remote) {
    // kaniko downloads and unpacks the archive itself; the Dockerfile path is relative to it
    return [`--context=${binding.remote}`, '--dockerfile=$(DOCKERFILE_PATH)'];
  }
  return [`--context=dir://${binding.directory}`, `--dockerfile=${binding.directory}/$(DOCKERFILE_PATH)`];
}

const COMMIT = /^[a-f0-9]{40}$/;

/** kaniko's `#ref` or `#ref#commit` suffix: a full ref as is, a commit checked out after cloning the default branch. */
function gitFragment(ref: string | undefined): string {
  if (ref === undefined) {
    return '';
  }
  if (ref.startsWith('refs/')) {
    return `#${ref}`;
  }
  return COMMIT.test(ref) ? `#HEAD#${ref}` : '';
}
