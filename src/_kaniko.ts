import { checkEnvName, checkLabelKey, checkNoNul, checkRegistryHost, checkTarget, invalid, sortedEntries } from './_validate';

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
};


/** The build inputs every kaniko-based construct shares. */
export interface KanikoFlagInputs {
  readonly buildArgs?: { [key: string]: string };
  readonly target?: string;
  readonly labels?: { [key: string]: string };
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
 * `more` (e.g. cache flags), insecure registries, the defaults `extraArgs` does not override,
 * `--ignore-path=/product_uuid` (kind clusters), then `extraArgs`.
 */
export function kanikoFlags(inputs: KanikoFlagInputs, more: string[] = []): KanikoFlags {
  const insecureRegistries = (inputs.insecureRegistries ?? []).map((host, i) => checkRegistryHost(`insecureRegistries[${i}]`, host));
  const extraArgs = inputs.extraArgs ?? [];
  const overridden = checkExtraArgs(extraArgs);
  return {
    insecureRegistries,
    flags: [
      ...sortedEntries('buildArgs', inputs.buildArgs, checkEnvName).map(([k, v]) => `--build-arg=${k}=${v}`),
      ...(inputs.target !== undefined ? [`--target=${checkTarget('target', inputs.target)}`] : []),
      ...sortedEntries('labels', inputs.labels, checkLabelKey).map(([k, v]) => `--label=${k}=${v}`),
      ...more,
      ...insecureRegistries.map(host => `--insecure-registry=${host}`),
      ...KANIKO_DEFAULT_FLAGS.filter(([flag]) => !overridden.has(flag)).map(([flag, v]) => `${flag}=${v}`),
      '--ignore-path=/product_uuid',
      ...extraArgs,
    ],
  };
}

/** Refuses managed flags and returns the default flags the user overrides. */
function checkExtraArgs(extraArgs: string[]): Set<string> {
  const overridden = new Set<string>();
  const defaults = new Set(KANIKO_DEFAULT_FLAGS.map(([flag]) => flag));
  extraArgs.forEach((arg, i) => {
    if (typeof arg !== 'string' || arg.length === 0) {
      invalid(`extraArgs[${i}]`, arg, 'expected a non-empty string such as "--compressed-caching=false"');
    }
    checkNoNul(`extraArgs[${i}]`, arg);
    if (!arg.startsWith('-')) {
      return; // the value of the previous flag
    }
    const flag = arg.split('=')[0];
    const owner = KANIKO_MANAGED_FLAGS[flag];
    if (owner) {
      invalid(`extraArgs[${i}]`, arg, `expected a flag this construct does not manage; ${flag} is set from ${owner}`);
    }
    if (defaults.has(flag)) {
      if (overridden.has(flag)) {
        invalid(`extraArgs[${i}]`, arg, `expected ${flag} at most once`);
      }
      overridden.add(flag);
    }
  });
  return overridden;
}
