/**
 * How a construct names its Job (`ImageJobOptions.name`).
 *
 * A Job's pod template is immutable: `kubectl apply` and Argo CD refuse to change it under the same name
 * (`spec.template: Invalid value: …: field is immutable`). Pick the strategy by how the Job is delivered:
 *
 * - `JobName.contentHashed()` (the default): the name ends with a hash of what the pod runs, so a changed
 *   build is a new Job that applies cleanly next to the old one, and an unchanged build keeps its name and
 *   byte-identical YAML. For `kubectl apply`, plain Argo CD sync, and Argo CD hooks.
 * - `JobName.stable()`: the name cdk8s derives from the construct path, the same whatever the pod runs. For
 *   Argo CD with the sync option `Replace=true` or `Force=true,Replace=true` (see `ArgoCdOptions`), or a hook
 *   with `BeforeHookCreation`, which delete and recreate the Job on every change.
 * - `JobName.exact(name)`: exactly `name`. For names something else refers to (a dashboard, a `kubectl wait`
 *   in a script); a changed pod then needs the Job deleted first, as with `stable()`.
 */
export class JobName {
  /**
   * `<base>-<hash>`: the hash is the first 8 hex digits of the SHA-256 of the Job's final rendered spec: the
   * pod template (images, commands, args, env, scripts, volumes, labels and annotations of the pod) and every
   * other immutable field (`completions`, `completionMode`, `podFailurePolicy`, …). The fields Kubernetes lets
   * an update change (`activeDeadlineSeconds`, `backoffLimit`, `ttlSecondsAfterFinished`, `parallelism`,
   * `suspend`) and the Job's own metadata are not hashed: `kubectl apply` changes them in place.
   *
   * The hash is computed when the chart is synthesized, after every change made through `job` or
   * `ApiObject.of(job).addJsonPatch(...)`, so those changes give a new name too; `job.name` reads the
   * hashed name (read it once the construct is fully configured).
   *
   * @param base the name before the hash: at most 54 characters (lower-case letters, digits, "-" and ".";
   * an Indexed Job allows no "." and fewer characters, see `KanikoBuildBatch`)
   * @default - base: the construct path (`<chart>-<id>`, trimmed from the left to fit), and the path is
   * hashed too, so two constructs whose pods are identical still get different names
   */
  public static contentHashed(base?: string): JobName {
    return new JobName('contentHashed', base);
  }

  /**
   * The name cdk8s derives from the construct path (`<chart>-<id>-<hash of the path>`), whatever the pod
   * runs: the Job names of this library before content hashing.
   */
  public static stable(): JobName {
    return new JobName('stable', undefined);
  }

  /**
   * Exactly `name`, at most 63 characters.
   *
   * @param name the Job's `metadata.name`, e.g. `build-api-1-4-0`
   */
  public static exact(name: string): JobName {
    return new JobName('exact', name);
  }

  /** @internal */
  public readonly _strategy: 'contentHashed' | 'stable' | 'exact';

  /** @internal */
  public readonly _name: string | undefined;

  private constructor(strategy: 'contentHashed' | 'stable' | 'exact', name: string | undefined) {
    this._strategy = strategy;
    this._name = name;
  }

  /**
   * The naming of one of several Jobs a construct makes from these options (`KanikoBuildBatch` with one Job
   * per context): an explicit name or base gets `-<suffix>`.
   *
   * @internal
   */
  public _withSuffix(suffix: string): JobName {
    return new JobName(this._strategy, this._name === undefined ? undefined : `${this._name}-${suffix}`);
  }
}
