import * as kplus from 'cdk8s-plus-28';
import { BuildInputs, buildInputFlags, checkExtraArgs } from './_build';
import { OciAnnotationInputs, ociAnnotationFlags } from './_oci-annotations';
import { ImageJobPod, Mount } from './_pod';
import { Env } from './_skopeo';
import { KANIKO_EXECUTOR_FLAGS } from './_tool-flags';
import { checkRegistryHost, invalid } from './_validate';
import { GitLocation } from './build-context';

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
  const overridden = checkExtraArgs(extraArgs, KANIKO_EXECUTOR_FLAGS, KANIKO_MANAGED_FLAGS, KANIKO_DEFAULT_FLAGS.map(([flag]) => flag), '--compressed-caching=false');
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
