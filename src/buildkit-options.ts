/** How BuildKit runs. Both need a namespace whose Pod Security level is `privileged`. */
export enum BuildkitMode {
  /**
   * `moby/buildkit` as root in a privileged container: the OCI Connector documentation's BuildKit Job,
   * the most compatible choice.
   */
  PRIVILEGED = 'privileged',

  /**
   * `moby/buildkit:*-rootless` as uid 1000 with `--oci-worker-no-process-sandbox`, Unconfined seccomp and
   * AppArmor and privilege escalation (rootlesskit's setuid `newuidmap`): not a privileged container, but
   * still outside Pod Security `baseline`. Not yet tested through the connector proxy on a cluster.
   */
  ROOTLESS = 'rootless',
}

/** Where BuildKit keeps its layer cache between builds. */
export enum CacheMode {
  /** Cache metadata embedded in the pushed image (`--export-cache type=inline`), as in the OCI Connector documentation's BuildKit Job. */
  INLINE = 'inline',

  /**
   * A separate cache image, exported with `mode=max` (every stage's layers) and imported before the build.
   */
  REGISTRY = 'registry',

  /** No cache export or import. */
  NONE = 'none',
}

/** A build secret: one key of a Secret, mounted as a file and handed to BuildKit with `--secret`. */
export interface BuildkitSecret {
  /** The id the Dockerfile uses (`RUN --mount=type=secret,id=<id>`): lower-case letters, digits and "-". */
  readonly id: string;

  /** The Secret's name, in the Job's namespace. */
  readonly secretName: string;

  /**
   * The key inside the Secret.
   *
   * @default - the id
   */
  readonly key?: string;
}
