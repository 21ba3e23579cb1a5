import * as kplus from 'cdk8s-plus-28';
import { refuseContextSource, DIRECTORY_SOURCES, singleLines } from './_build';
import { kplusResources } from './_kplus-props';
import { checkPlatforms } from './_platforms';
import { BUILDER_RESOURCES, ContainerProfile, escapeKubeletExpansion, ImageJobPod, Mount } from './_pod';
import { Env } from './_skopeo';
import { checkDnsLabel, checkEnvName, checkLabelKey, checkObjectName, checkSecretKey, checkTarget, invalid, sortedEntries } from './_validate';
import { BuildContext, BuildContextSource, ContextBinding, GitLocation } from './build-context';
import { BuildkitMode, BuildkitSecret } from './buildkit-options';
import { ToolResources } from './tool-resources';

/**
 * The one BuildKit build container, used by `BuildkitBuildJob` (ordinary registry credentials) and
 * `OciConnectorBuildJob` (the connector's proxy): `buildctl-daemonless.sh` with the context, inputs, secrets and
 * output each caller resolved.
 */

/** Where each mode's image keeps its state and its user's docker config, and the daemon flags it needs. */
export interface BuildkitLayout {
  readonly profile: ContainerProfile;
  readonly state: string;
  readonly dockerConfig: string;
  readonly flags: string[];
}

const LAYOUTS: { [mode: string]: BuildkitLayout } = {
  [BuildkitMode.PRIVILEGED]: {
    profile: ContainerProfile.PRIVILEGED_BUILDER,
    state: '/var/lib/buildkit',
    dockerConfig: '/root/.docker',
    flags: [],
  },
  [BuildkitMode.ROOTLESS]: {
    profile: ContainerProfile.ROOTLESS_BUILDER,
    state: '/home/user/.local/share/buildkit',
    dockerConfig: '/home/user/.docker',
    flags: ['--oci-worker-no-process-sandbox'],
  },
};

/** The layout of a mode (checked by the caller with `checkOneOf`). */
export function buildkitLayout(mode: BuildkitMode): BuildkitLayout {
  return LAYOUTS[mode];
}

/** The Dockerfile inputs BuildKit's frontend takes as `--opt`. */
export interface BuildkitInputs {
  readonly target?: string;
  readonly buildArgs?: { [key: string]: string };
  readonly labels?: { [key: string]: string };
  readonly platforms?: string[];
}

/** What the BuildKit container is given by its construct. */
export interface BuildkitContainerSpec {
  /** The construct's class name, for errors. */
  readonly construct: string;
  /** The container's name. */
  readonly name: string;
  readonly mode: BuildkitMode;
  readonly context: BuildContext;
  readonly binding: ContextBinding;
  readonly dockerfile: string;
  readonly inputs: BuildkitInputs;
  readonly secrets: CheckedSecret[];
  /** Mounted at /results: BuildKit's metadata file, and the digest file for a promoter. */
  readonly results: kplus.Volume;
  /** BuildKit's state directory. */
  readonly state: kplus.Volume;
  /** The docker config and BuildKit configuration mounts, after the state. */
  readonly configMounts: Mount[];
  /** Daemon flags after the mode's own. */
  readonly daemonFlags: string[];
  /** The image names pushed, as kubelet gets them (escaped, or with `$(VAR)` references meant for kubelet). */
  readonly outputNames: string[];
  /** `,annotation.<key>=<value>` exporter attributes after `push=true` (escaped by the caller), or "". */
  readonly outputAnnotations: string;
  /** `--export-cache` / `--import-cache` flags. */
  readonly cacheArgs: string[];
  readonly script: string;
  /** Variables before BUILDKITD_FLAGS (kubelet expands `$(VAR)` only with variables defined earlier). */
  readonly envBefore: Env;
  /** Variables after METADATA_FILE. */
  readonly env: Env;
  /** True when a promoter follows: BuildKit then runs as an init container. */
  readonly init: boolean;
  readonly resources?: ToolResources;
}

/** Where a private repository's token is mounted for BuildKit. */
const GIT_TOKEN_DIR = '/run/git-auth-token';

/** Adds the BuildKit container (and its secret volumes) to the pod. */
export function addBuildkitContainer(pod: ImageJobPod, spec: BuildkitContainerSpec): void {
  const layout = buildkitLayout(spec.mode);
  const gitToken = spec.binding.git ? gitAuthToken(spec.construct, spec.binding.git) : undefined;
  refuseGitCa(pod, spec.construct, spec.binding.git);
  const mounts: Mount[] = [
    ...spec.binding.mounts,
    { path: '/results', volume: spec.results },
    { path: layout.state, volume: spec.state },
    ...spec.configMounts,
    ...spec.secrets.map(s => ({ path: `/run/build-secrets/${s.id}`, volume: pod.secretFileVolume(`secret-${s.id}`, s.secretName, s.key, s.id), readOnly: true })),
    // user secret ids are DNS labels, so neither this path nor this volume can meet theirs
    ...(gitToken ? [{ path: GIT_TOKEN_DIR, volume: pod.secretFileVolume('git-auth-token', gitToken.secret, gitToken.key, 'token'), readOnly: true }] : []),
  ];
  const names = spec.outputNames.join(',');
  // every argument is escaped for kubelet, except the output names (escaped by the caller)
  const args = [
    ...[
      // $0 of the script; the flags follow as "$@"
      'buildctl-build',
      '--progress=plain',
      '--frontend=dockerfile.v0',
      ...buildkitContextArgs(spec.construct, spec.binding, spec.dockerfile, spec.context),
      ...buildkitInputArgs(spec.inputs),
      ...spec.secrets.map(s => `--secret=id=${s.id},src=/run/build-secrets/${s.id}/${s.id}`),
      ...(gitToken ? [`--secret=id=GIT_AUTH_TOKEN.${gitToken.host},src=${GIT_TOKEN_DIR}/token`] : []),
    ].map(escapeKubeletExpansion),
    `--output=type=image,${spec.outputNames.length > 1 ? `"name=${names}"` : `name=${names}`},push=true${spec.outputAnnotations}`,
    ...spec.cacheArgs,
  ];
  const value = kplus.EnvValue.fromValue;
  const daemonFlags = [...layout.flags, ...spec.daemonFlags];
  pod.addContainer({
    name: spec.name,
    image: spec.mode === BuildkitMode.ROOTLESS ? pod.images.buildkitRootless : pod.images.buildkit,
    script: spec.script,
    args,
    env: [
      ...spec.envBefore,
      ...(daemonFlags.length > 0 ? [['BUILDKITD_FLAGS', value(daemonFlags.join(' '))] as [string, kplus.EnvValue]] : []),
      ['BUILDCTL_CONNECT_RETRIES_MAX', value('30')],
      ['DOCKER_CONFIG', value(layout.dockerConfig)],
      ['METADATA_FILE', value('/results/metadata.json')],
      ...spec.env,
    ],
    mounts,
    profile: layout.profile,
    resources: kplusResources(spec.resources, BUILDER_RESOURCES),
  }, spec.init);
  if (spec.mode === BuildkitMode.ROOTLESS) {
    pod.unconfineAppArmor(spec.name);
  }
}

/** `--opt` flags for the Dockerfile inputs: target, build args, labels, platforms; keys sorted. */
export function buildkitInputArgs(inputs: BuildkitInputs): string[] {
  return [
    ...(inputs.target !== undefined ? [`--opt=target=${checkTarget('target', inputs.target)}`] : []),
    ...singleLines('buildArgs', sortedEntries('buildArgs', inputs.buildArgs, checkEnvName)).map(([k, v]) => `--opt=build-arg:${k}=${v}`),
    ...singleLines('labels', sortedEntries('labels', inputs.labels, checkLabelKey)).map(([k, v]) => `--opt=label:${k}=${v}`),
    ...(inputs.platforms && inputs.platforms.length > 0 ? [`--opt=platform=${checkPlatforms(inputs.platforms).join(',')}`] : []),
  ];
}

/** BuildKit's flags for a context: local directories for a prepared directory, the frontend's own clone for git. */
function buildkitContextArgs(construct: string, binding: ContextBinding, dockerfile: string, context: BuildContext): string[] {
  const slash = dockerfile.lastIndexOf('/');
  if (binding.directory) {
    const dockerfileDir = slash >= 0 ? `${binding.directory}/${dockerfile.slice(0, slash)}` : binding.directory;
    return [`--opt=filename=${dockerfile.slice(slash + 1)}`, `--local=context=${binding.directory}`, `--local=dockerfile=${dockerfileDir}`];
  }
  if (binding.git) {
    const { url, ref, subPath } = binding.git;
    if (!url.endsWith('.git')) {
      invalid('context', url, `expected a git URL ending in ".git" with ${construct}: BuildKit only clones such URLs as repositories`);
    }
    const fragment = ref || subPath ? `#${ref ?? ''}${subPath ? `:${subPath}` : ''}` : '';
    return [`--opt=filename=${dockerfile}`, `--opt=context=${url}${fragment}`];
  }
  return refuseContextSource(construct, context, BUILDKIT_SOURCES);
}

/** The context sources BuildKit reads: a directory in the pod, or a git repository it clones itself. */
export const BUILDKIT_SOURCES = [...DIRECTORY_SOURCES, BuildContextSource.GIT];

/**
 * BuildKit cannot trust a private CA for its git clone: it runs git with a fixed environment and neither system nor
 * user git config (util/gitutil), so only the trust store of its image decides. A bundle listing the git host is
 * therefore refused rather than silently unused.
 */
function refuseGitCa(pod: ImageJobPod, construct: string, git: GitLocation | undefined): void {
  const index = git ? pod.hostCaIndex(git.url) : -1;
  if (index >= 0) {
    invalid(`certificateAuthorities[${index}].registries`, new URL(git!.url).host,
      `expected no git host with ${construct}: BuildKit runs git with a fixed environment and no git config, so only its image's trust store (/etc/ssl/certs) can trust that CA; add it to the BuildKit image or build with KanikoBuildJob`);
  }
}

/** The Secret key of a private git context, and the host BuildKit looks its `GIT_AUTH_TOKEN.<host>` secret up by. */
function gitAuthToken(construct: string, git: GitLocation): { secret: string; key: string; host: string } | undefined {
  const token = git.token;
  if (!token) {
    return undefined;
  }
  if (token.username !== undefined) {
    invalid('context', git.url, `expected BuildContext.fromGit without username ("${token.username}") with ${construct}: BuildKit sends the token alone (build secret GIT_AUTH_TOKEN.<host>), with no user name; use KanikoBuildJob for hosts that check it`);
  }
  return { secret: token.secret, key: token.key, host: new URL(git.url).host };
}

/** A build secret with its key resolved. */
export interface CheckedSecret {
  readonly id: string;
  readonly secretName: string;
  readonly key: string;
}

/** Fails unless every secret has a DNS-label id of its own, a Secret name and a valid key. */
export function checkSecrets(secrets: BuildkitSecret[]): CheckedSecret[] {
  const seen = new Set<string>();
  return secrets.map((secret, i) => {
    // the id also names the volume ("secret-<id>"), which must stay a 63-character DNS label
    if (typeof secret.id !== 'string' || secret.id.length > 56) {
      invalid(`secrets[${i}].id`, secret.id, 'expected at most 56 lower-case letters, digits and "-"');
    }
    checkDnsLabel(`secrets[${i}].id`, secret.id);
    if (seen.has(secret.id)) {
      invalid(`secrets[${i}].id`, secret.id, 'expected each id once; this one is listed twice');
    }
    seen.add(secret.id);
    checkObjectName(`secrets[${i}].secretName`, secret.secretName);
    const key = checkSecretKey(`secrets[${i}].key`, secret.key ?? secret.id);
    return { id: secret.id, secretName: secret.secretName, key };
  });
}
