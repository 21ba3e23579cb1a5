/**
 * The command-line flags of the tools the Jobs run, as shared vocabulary: constructs refuse `extraArgs` that are
 * not flags of their tool (a typo would otherwise fail only in the pod), and the e2e tier's tool stand-ins parse
 * their arguments with the same lists. Each list names where it was taken from.
 */

/**
 * How a flag takes its value: `bool` (an optional `=value`), `repeatable` (may be given more than once), or one
 * value (`string`, `int`, `duration`; a repeat silently overrides the earlier one).
 */
export type FlagKind = 'bool' | 'repeatable' | 'string' | 'int' | 'duration';

/** One flag of a tool. */
export interface ToolFlag {
  /** The long name, without the leading `--`. */
  readonly name: string;
  /** The one-letter form, without the leading `-`. */
  readonly shorthand?: string;
  /** How it takes its value, where the tool's parser was read. */
  readonly kind?: FlagKind;
}

/** A flag whose kind was read from the tool's parser (what a stand-in needs to parse like the tool). */
export interface ParsedFlag extends ToolFlag {
  readonly kind: FlagKind;
}

/** The flags of one tool command and where they come from. */
export interface ToolFlags<F extends ToolFlag = ToolFlag> {
  /** The tool command, for error messages. */
  readonly tool: string;
  /** Where the list was taken from. */
  readonly source: string;
  /** How it was taken. */
  readonly note: string;
  readonly flags: F[];
  /** Flags the tool still accepts but deprecates. */
  readonly deprecated: F[];
}

/** kaniko's executor (the osscontainertools fork the default image comes from). */
export const KANIKO_EXECUTOR_FLAGS: ToolFlags<ParsedFlag> = {
  tool: 'the kaniko executor',
  source: 'https://github.com/osscontainertools/kaniko/blob/303acbda7b41e8124a838c4c7b4866b1fec07d95/cmd/executor/cmd/root.go',
  note: "Flags of the executor's root command (init, addKanikoOptionsFlags). kind: bool flags take an optional =value; repeatable flags (pflag Var with a slice or map value) may be given more than once; the others take one value and a repeat silently overrides the earlier one.",
  flags: [
    { name: 'verbosity', shorthand: 'v', kind: 'string' },
    { name: 'log-format', kind: 'string' },
    { name: 'log-timestamp', kind: 'bool' },
    { name: 'force', kind: 'bool' },
    { name: 'dockerfile', shorthand: 'f', kind: 'string' },
    { name: 'context', shorthand: 'c', kind: 'string' },
    { name: 'context-sub-path', kind: 'string' },
    { name: 'bucket', shorthand: 'b', kind: 'string' },
    { name: 'destination', shorthand: 'd', kind: 'repeatable' },
    { name: 'snapshot-mode', kind: 'string' },
    { name: 'custom-platform', kind: 'string' },
    { name: 'build-arg', kind: 'repeatable' },
    { name: 'insecure', kind: 'bool' },
    { name: 'skip-tls-verify', kind: 'bool' },
    { name: 'insecure-pull', kind: 'bool' },
    { name: 'skip-tls-verify-pull', kind: 'bool' },
    { name: 'push-retry', kind: 'int' },
    { name: 'push-ignore-immutable-tag-errors', kind: 'bool' },
    { name: 'image-fs-extract-retry', kind: 'int' },
    { name: 'image-download-retry', kind: 'int' },
    { name: 'kaniko-dir', kind: 'string' },
    { name: 'tar-path', kind: 'string' },
    { name: 'single-snapshot', kind: 'bool' },
    { name: 'reproducible', kind: 'bool' },
    { name: 'target', kind: 'string' },
    { name: 'no-push', kind: 'bool' },
    { name: 'no-push-cache', kind: 'bool' },
    { name: 'cache-repo', kind: 'string' },
    { name: 'cache-dir', kind: 'string' },
    { name: 'digest-file', kind: 'string' },
    { name: 'image-name-with-digest-file', kind: 'string' },
    { name: 'image-name-tag-with-digest-file', kind: 'string' },
    { name: 'oci-layout-path', kind: 'string' },
    { name: 'compression', kind: 'string' },
    { name: 'compression-level', kind: 'int' },
    { name: 'cache', kind: 'bool' },
    { name: 'compressed-caching', kind: 'bool' },
    { name: 'pre-cleanup', kind: 'bool' },
    { name: 'cleanup', kind: 'bool' },
    { name: 'cache-ttl', kind: 'duration' },
    { name: 'insecure-registry', kind: 'repeatable' },
    { name: 'skip-tls-verify-registry', kind: 'repeatable' },
    { name: 'registry-certificate', kind: 'repeatable' },
    { name: 'registry-client-cert', kind: 'repeatable' },
    { name: 'registry-map', kind: 'repeatable' },
    { name: 'registry-mirror', kind: 'repeatable' },
    { name: 'skip-default-registry-fallback', kind: 'bool' },
    { name: 'ignore-var-run', kind: 'bool' },
    { name: 'label', kind: 'repeatable' },
    { name: 'skip-unused-stages', kind: 'bool' },
    { name: 'use-new-run', kind: 'bool' },
    { name: 'git', kind: 'string' },
    { name: 'cache-copy-layers', kind: 'bool' },
    { name: 'cache-run-layers', kind: 'bool' },
    { name: 'ignore-path', kind: 'repeatable' },
    { name: 'skip-push-permission-check', kind: 'bool' },
    { name: 'annotation', kind: 'repeatable' },
    { name: 'preserve-context', kind: 'bool' },
    { name: 'materialize', kind: 'bool' },
    { name: 'credential-helpers', kind: 'repeatable' },
  ],
  deprecated: [
    { name: 'whitelist-var-run', kind: 'bool' },
    { name: 'snapshotMode', kind: 'string' },
    { name: 'customPlatform', kind: 'string' },
    { name: 'tarPath', kind: 'string' },
    { name: 'force-build-metadata', kind: 'bool' },
  ],
};

/** `buildctl build`, which `buildctl-daemonless.sh build` passes its arguments to. */
export const BUILDCTL_BUILD_FLAGS: ToolFlags<ParsedFlag> & { readonly progressValues: string[] } = {
  tool: 'buildctl build',
  source: 'https://github.com/moby/buildkit/blob/master/cmd/buildctl/build.go',
  note: 'Flags of `buildctl build` (buildCommand.Flags, urfave/cli v1), copied from the file above in the revision that has --debug-json-cache-metrics, --oci-layout and --registry-auth-tlscontext (BuildKit v0.13 and later; the file was unchanged in these flags through v0.2x). buildctl-daemonless.sh passes its arguments to `buildctl` unchanged. kind: cli.BoolFlag is bool (no separate value), cli.StringSliceFlag is repeatable, cli.StringFlag takes one value and a repeat overrides the earlier one.',
  flags: [
    { name: 'output', shorthand: 'o', kind: 'repeatable' },
    { name: 'progress', kind: 'string' },
    { name: 'trace', kind: 'string' },
    { name: 'local', kind: 'repeatable' },
    { name: 'oci-layout', kind: 'repeatable' },
    { name: 'frontend', kind: 'string' },
    { name: 'opt', kind: 'repeatable' },
    { name: 'no-cache', kind: 'bool' },
    { name: 'export-cache', kind: 'repeatable' },
    { name: 'import-cache', kind: 'repeatable' },
    { name: 'secret', kind: 'repeatable' },
    { name: 'allow', kind: 'repeatable' },
    { name: 'ssh', kind: 'repeatable' },
    { name: 'metadata-file', kind: 'string' },
    { name: 'source-policy-file', kind: 'string' },
    { name: 'ref-file', kind: 'string' },
    { name: 'registry-auth-tlscontext', kind: 'repeatable' },
    { name: 'debug-json-cache-metrics', kind: 'string' },
  ],
  deprecated: [],
  progressValues: ['auto', 'plain', 'tty', 'rawjson'],
};

/** `buildah bud` (`buildah build`). */
export const BUILDAH_BUD_FLAGS: ToolFlags = {
  tool: 'buildah bud',
  source: 'https://github.com/containers/buildah/blob/00f9f8d1c0879445604d44598fd10053713717c9/docs/buildah-build.1.md',
  note: 'The OPTIONS of the buildah-build man page at the commit above, a superset of what `buildah bud --help` lists in buildah 1.28 ' +
    '(the e2e tier runs it). Kinds are not recorded: buildah runs for real in the e2e tier, no stand-in parses these.',
  flags: [
    { name: 'add-host' },
    { name: 'all-platforms' },
    { name: 'annotation' },
    { name: 'arch' },
    { name: 'authfile' },
    { name: 'build-arg' },
    { name: 'build-arg-file' },
    { name: 'build-context' },
    { name: 'cache-from' },
    { name: 'cache-to' },
    { name: 'cache-ttl' },
    { name: 'cap-add' },
    { name: 'cap-drop' },
    { name: 'cert-dir' },
    { name: 'cgroup-parent' },
    { name: 'cgroupns' },
    { name: 'compat-volumes' },
    { name: 'compress' },
    { name: 'cpp-flag' },
    { name: 'cpu-period' },
    { name: 'cpu-quota' },
    { name: 'cpu-shares', shorthand: 'c' },
    { name: 'cpuset-cpus' },
    { name: 'cpuset-mems' },
    { name: 'creds' },
    { name: 'cw' },
    { name: 'decryption-key' },
    { name: 'device' },
    { name: 'disable-compression', shorthand: 'D' },
    { name: 'disable-content-trust' },
    { name: 'dns' },
    { name: 'dns-option' },
    { name: 'dns-search' },
    { name: 'env' },
    { name: 'file', shorthand: 'f' },
    { name: 'force-rm' },
    { name: 'format' },
    { name: 'from' },
    { name: 'group-add' },
    { name: 'help', shorthand: 'h' },
    { name: 'hooks-dir' },
    { name: 'http-proxy' },
    { name: 'identity-label' },
    { name: 'ignorefile' },
    { name: 'iidfile' },
    { name: 'ipc' },
    { name: 'isolation' },
    { name: 'jobs' },
    { name: 'label' },
    { name: 'layer-label' },
    { name: 'layers' },
    { name: 'logfile' },
    { name: 'logsplit' },
    { name: 'manifest' },
    { name: 'memory', shorthand: 'm' },
    { name: 'memory-swap' },
    { name: 'net' },
    { name: 'network' },
    { name: 'no-cache' },
    { name: 'no-hostname' },
    { name: 'no-hosts' },
    { name: 'omit-history' },
    { name: 'os' },
    { name: 'os-feature' },
    { name: 'os-version' },
    { name: 'output', shorthand: 'o' },
    { name: 'pid' },
    { name: 'platform' },
    { name: 'pull' },
    { name: 'quiet', shorthand: 'q' },
    { name: 'retry' },
    { name: 'retry-delay' },
    { name: 'rm' },
    { name: 'runtime' },
    { name: 'runtime-flag' },
    { name: 'sbom' },
    { name: 'sbom-image-output' },
    { name: 'sbom-image-purl-output' },
    { name: 'sbom-merge-strategy' },
    { name: 'sbom-output' },
    { name: 'sbom-purl-output' },
    { name: 'sbom-scanner-command' },
    { name: 'sbom-scanner-image' },
    { name: 'secret' },
    { name: 'security-opt' },
    { name: 'shm-size' },
    { name: 'sign-by' },
    { name: 'skip-unused-stages' },
    { name: 'squash' },
    { name: 'ssh' },
    { name: 'stdin' },
    { name: 'tag', shorthand: 't' },
    { name: 'target' },
    { name: 'timestamp' },
    { name: 'tls-verify' },
    { name: 'ulimit' },
    { name: 'unsetenv' },
    { name: 'unsetlabel' },
    { name: 'userns' },
    { name: 'userns-gid-map' },
    { name: 'userns-gid-map-group' },
    { name: 'userns-uid-map' },
    { name: 'userns-uid-map-user' },
    { name: 'uts' },
    { name: 'variant' },
    { name: 'volume', shorthand: 'v' },
  ],
  deprecated: [],
};

/**
 * The names a flag of `flags` may be written with: `--name` and, where it has one, `-x`.
 */
export function flagSpellings(flags: ToolFlags): Set<string> {
  return new Set([...flags.flags, ...flags.deprecated].flatMap(f => [`--${f.name}`, ...(f.shorthand ? [`-${f.shorthand}`] : [])]));
}
